// Reads the YAML AST with positions: every typed read either returns a value or records a
// problem at the node's line:col (or at `--set:N:1` for values that came from --set) and
// returns undefined, so the loader can keep going and report every problem at once.

import { isAlias, isMap, isNode, isPair, isScalar, isSeq } from 'yaml';
import type { Document, LineCounter, Node, Pair, YAMLMap } from 'yaml';
import type { Problem } from '../errors.js';
import { parseDuration } from './duration.js';
import { OBJECT_KEYS, type ObjectContext } from './keys.js';
import { didYouMean } from './suggest.js';
import type { SourcePos } from './types.js';

/** Where a --set value came from: its 0-based index among the --set arguments, and the text. */
export interface SetOrigin {
  index: number;
  arg: string;
}

export interface Located {
  file: string;
  pos: SourcePos;
  sourceLine?: string;
}

export interface Entry {
  key: string;
  keyNode: unknown;
  value: unknown;
}

/** A checked map: its entries by key, in source order. */
export interface MapView {
  node: YAMLMap;
  entries: Map<string, Entry>;
  /** How many keys were rejected (already reported). */
  rejected: number;
}

export class Reader {
  readonly problems: Problem[] = [];
  readonly warnings: Problem[] = [];
  private readonly lines: string[];

  constructor(
    readonly file: string,
    readonly source: string,
    private readonly lineCounter: LineCounter,
    private readonly doc: Document,
    private readonly setOrigins: WeakMap<object, SetOrigin>,
  ) {
    this.lines = source.split(/\r?\n/);
  }

  /** The document's top-level node. */
  get rootNode(): unknown {
    return this.doc.contents;
  }

  /** Position of a 0-based offset in the scenario source. */
  locateOffset(offset: number): Located {
    const { line, col } = this.lineCounter.linePos(Math.max(0, Math.min(offset, this.source.length)));
    return { file: this.file, pos: { line, col }, sourceLine: this.lines[line - 1] };
  }

  /** Position of a node: its --set origin, its source range, or undefined (synthesized). */
  locate(node: unknown): Located | undefined {
    if (node !== null && typeof node === 'object') {
      const origin = this.setOrigins.get(node);
      if (origin) return { file: '--set', pos: { line: origin.index + 1, col: 1 }, sourceLine: origin.arg };
      if (isNode(node) && node.range) return this.locateOffset(node.range[0]);
    }
    return undefined;
  }

  pos(node: unknown): SourcePos {
    return this.locate(node)?.pos ?? { line: 1, col: 1 };
  }

  problem(node: unknown, message: string): undefined {
    this.problems.push(this.toProblem(node, message));
    return undefined;
  }

  warn(node: unknown, message: string): void {
    this.warnings.push(this.toProblem(node, message));
  }

  private toProblem(node: unknown, message: string): Problem {
    const at = this.locate(node) ?? this.locate(this.doc.contents) ?? { file: this.file, pos: { line: 1, col: 1 } };
    const p: Problem = { file: at.file, pos: at.pos, message };
    if (at.sourceLine !== undefined) p.sourceLine = at.sourceLine;
    return p;
  }

  /** Follows aliases (`*anchor`) to the node they name. */
  deref(node: unknown): unknown {
    let cur = node;
    for (let hops = 0; isAlias(cur) && hops < 32; hops++) cur = cur.resolve(this.doc);
    return cur;
  }

  /** True for an absent value or an explicit null (`key:` / `key: null`). */
  isNull(node: unknown): boolean {
    const n = this.deref(node);
    return n === null || n === undefined || (isScalar(n) && n.value === null);
  }

  describe(node: unknown): string {
    const n = this.deref(node);
    if (isMap(n)) return 'a map';
    if (isSeq(n)) return 'a list';
    if (isScalar(n)) {
      const v = n.value;
      if (v === null) return 'nothing';
      if (typeof v === 'string') return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v);
      return String(v);
    }
    return 'nothing';
  }

  /** A map whose keys are checked against `context` (unknown keys reported with a suggestion). */
  map(node: unknown, path: string, context: ObjectContext | undefined): MapView | undefined {
    const n = this.deref(node);
    if (!isMap(n)) return this.problem(node, `${label(path)}expected a map, got ${this.describe(n)}`);
    const allowed: readonly string[] | undefined = context ? OBJECT_KEYS[context] : undefined;
    const entries = new Map<string, Entry>();
    let rejected = 0;
    for (const item of n.items as Pair<unknown, unknown>[]) {
      if (!isPair(item)) continue;
      const keyNode = this.deref(item.key);
      const keyValue = isScalar(keyNode) ? keyNode.value : keyNode;
      if (typeof keyValue !== 'string' && typeof keyValue !== 'number') {
        this.problem(item.key ?? n, `${label(path)}keys must be plain names, got ${this.describe(keyNode)}`);
        rejected++;
        continue;
      }
      const key = String(keyValue);
      if (allowed && !allowed.includes(key)) {
        this.unknownKey(item.key, key, path, allowed);
        rejected++;
        continue;
      }
      // Duplicate keys are reported by the YAML parser; the first one wins here.
      if (!entries.has(key)) entries.set(key, { key, keyNode: item.key, value: item.value });
    }
    return { node: n, entries, rejected };
  }

  unknownKey(keyNode: unknown, key: string, path: string, allowed: readonly string[]): void {
    const suggestion = didYouMean(key, allowed, path === '');
    const where = path === '' ? 'at the top level' : `in ${path}`;
    const hint = suggestion ? `; did you mean "${suggestion}"?` : `; expected one of: ${allowed.join(', ')}`;
    this.problem(keyNode, `unknown key "${key}" ${where}${hint}`);
  }

  /** Items of a list (aliases followed). */
  seq(node: unknown, path: string): unknown[] | undefined {
    const n = this.deref(node);
    if (!isSeq(n)) return this.problem(node, `${label(path)}expected a list, got ${this.describe(n)}`);
    return n.items;
  }

  /** The plain value of a scalar, or undefined for collections. */
  scalar(node: unknown): string | number | boolean | null | undefined {
    const n = this.deref(node);
    if (n === null || n === undefined) return null;
    if (!isScalar(n)) return undefined;
    const v = n.value;
    if (v === null || typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return v;
    return String(v);
  }

  string(node: unknown, path: string, opts: { nonEmpty?: boolean } = {}): string | undefined {
    const v = this.scalar(node);
    if (typeof v !== 'string') return this.problem(node, `${label(path)}expected a string, got ${this.describe(node)}`);
    if (opts.nonEmpty && v.trim() === '') return this.problem(node, `${label(path)}must not be empty`);
    return v;
  }

  /** A string, or a number/boolean taken as its text (header values, query values, set values). */
  text(node: unknown, path: string): string | undefined {
    const v = this.scalar(node);
    if (typeof v === 'string') return v;
    if (typeof v === 'number' || typeof v === 'boolean') return String(v);
    return this.problem(node, `${label(path)}expected a string, got ${this.describe(node)}`);
  }

  boolean(node: unknown, path: string): boolean | undefined {
    const v = this.scalar(node);
    if (typeof v !== 'boolean') return this.problem(node, `${label(path)}expected true or false, got ${this.describe(node)}`);
    return v;
  }

  integer(node: unknown, path: string, min: number): number | undefined {
    const v = this.scalar(node);
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min) {
      const what = min === 1 ? 'a positive integer' : min === 0 ? 'a non-negative integer' : `an integer >= ${min}`;
      return this.problem(node, `${label(path)}expected ${what}, got ${this.describe(node)}`);
    }
    return v;
  }

  number(node: unknown, path: string, opts: { positive?: boolean; min?: number }): number | undefined {
    const v = this.scalar(node);
    if (typeof v !== 'number' || !Number.isFinite(v)) {
      return this.problem(node, `${label(path)}expected a number, got ${this.describe(node)}`);
    }
    if (opts.positive && v <= 0) return this.problem(node, `${label(path)}expected a positive number, got ${v}`);
    if (opts.min !== undefined && v < opts.min) return this.problem(node, `${label(path)}expected a number >= ${opts.min}, got ${v}`);
    return v;
  }

  /** A duration (`250ms`, `2s`, `1m`); `0` only when allowZero. */
  duration(node: unknown, path: string, opts: { allowZero?: boolean } = {}): number | undefined {
    const v = this.scalar(node);
    const ms = typeof v === 'string' ? parseDuration(v) : v === 0 ? 0 : undefined;
    if (ms === undefined) {
      return this.problem(node, `${label(path)}expected a duration like 250ms, 2s or 1m, got ${this.describe(node)}`);
    }
    if (ms === 0 && !opts.allowZero) return this.problem(node, `${label(path)}duration must be greater than 0`);
    return ms;
  }

  /** Offset of the node's first character in the source (undefined for --set values). */
  offsetOf(node: unknown): number | undefined {
    const n = this.deref(node);
    if (n !== null && typeof n === 'object' && this.setOrigins.has(n)) return undefined;
    return isNode(n) && n.range ? n.range[0] : undefined;
  }

  /** Problem at a column inside a scalar (e.g. the `${` of a bad template), when the source shows it verbatim. */
  problemInside(node: unknown, index: number, message: string): void {
    const n = this.deref(node);
    const start = this.offsetOf(n);
    if (start !== undefined && isScalar(n) && typeof n.value === 'string') {
      // Point inside the scalar only when its source text up to there equals its value
      // (no escapes or folded lines in between); otherwise point at the scalar.
      const shift = n.type === 'QUOTE_SINGLE' || n.type === 'QUOTE_DOUBLE' ? 1 : 0;
      if (this.source.slice(start + shift, start + shift + index) === n.value.slice(0, index)) {
        const at = this.locateOffset(start + shift + index);
        const p: Problem = { file: at.file, pos: at.pos, message };
        if (at.sourceLine !== undefined) p.sourceLine = at.sourceLine;
        this.problems.push(p);
        return;
      }
    }
    this.problem(node, message);
  }
}

/** `path: ` prefix for messages ("" at the top level). */
export function label(path: string): string {
  return path === '' ? '' : `${path}: `;
}

export function join(path: string, key: string | number): string {
  return path === '' ? String(key) : `${path}.${key}`;
}

export type { Node };
