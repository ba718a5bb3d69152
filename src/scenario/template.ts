// Templates: `${…}` placeholders compiled once into a renderer, so no string is parsed per frame.
// The interface is the contract the engine renders through; compileTemplate() implements it.

import { randomUUID } from 'node:crypto';
import { VolleyError } from '../errors.js';

export interface RenderContext {
  /** Captures and `set` variables of this session. */
  vars: Map<string, string>;
  /** 1-based virtual-user number, unique across workers, processes and shards. */
  vu: number;
  /** 0-based iteration of the innermost running loop (0 outside loops). */
  iter: number;
  /** Returns the next value of the session's sequence counter (1, 2, 3…). */
  nextSeq: () => number;
  /** This session's CSV row, when the scenario has a data feeder. */
  data: Record<string, string> | undefined;
  env: NodeJS.ProcessEnv;
}

export type TemplateEscape = 'none' | 'json' | 'regex';

export interface Template {
  readonly source: string;
  /** True when there is no placeholder: staticValue is then the rendered text. */
  readonly isStatic: boolean;
  readonly staticValue: string;
  /** Every reference, as written inside ${…}: "vu", "iter", "env.TOKEN", "data.name", "sid". */
  readonly refs: readonly string[];
  render(ctx: RenderContext): string;
}

// ---------------------------------------------------------------------------------------------
// Implementation: a template is parsed once into literal parts and references; render() only
// concatenates. `$${` is a literal `${`.


enum RefKind {
  Vu,
  Iter,
  Seq,
  Uuid,
  Now,
  Env,
  Data,
  Var,
}

interface RefPart {
  kind: RefKind;
  /** Env variable, data column or session variable name. */
  name: string;
}

type Part = string | RefPart;

export type TemplateParseResult =
  | { ok: true; parts: Part[]; refs: string[]; /** offset of each ref's `${` */ refIndexes: number[] }
  | { ok: false; message: string; /** 0-based offset in the source */ index: number };

const VAR_RE = /^[A-Za-z_][A-Za-z0-9_-]*$/;
const ENV_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;
const BUILTINS: Record<string, RefKind> = {
  vu: RefKind.Vu,
  iter: RefKind.Iter,
  seq: RefKind.Seq,
  uuid: RefKind.Uuid,
  now: RefKind.Now,
};

/** The built-in references every session can use. */
export const BUILTIN_REFS: readonly string[] = Object.keys(BUILTINS);

/** What a reference names: a built-in, an env variable, a data column or a session variable. */
export function classifyRef(ref: string): { type: 'builtin' | 'env' | 'data' | 'var'; name: string } {
  if (ref in BUILTINS) return { type: 'builtin', name: ref };
  if (ref.startsWith('env.')) return { type: 'env', name: ref.slice(4) };
  if (ref.startsWith('data.')) return { type: 'data', name: ref.slice(5) };
  return { type: 'var', name: ref };
}

/** Splits a template source into parts, or says where and why it is malformed. */
export function parseTemplate(source: string): TemplateParseResult {
  const parts: Part[] = [];
  const refs: string[] = [];
  const refIndexes: number[] = [];
  let literal = '';
  let i = 0;
  while (i < source.length) {
    const dollar = source.indexOf('$', i);
    if (dollar < 0) {
      literal += source.slice(i);
      break;
    }
    literal += source.slice(i, dollar);
    if (source.startsWith('$${', dollar)) {
      literal += '${';
      i = dollar + 3;
      continue;
    }
    if (source[dollar + 1] !== '{') {
      literal += '$';
      i = dollar + 1;
      continue;
    }
    const close = source.indexOf('}', dollar + 2);
    if (close < 0) return { ok: false, message: 'unterminated "${": missing "}"', index: dollar };
    const ref = source.slice(dollar + 2, close).trim();
    const part = refPart(ref);
    if (typeof part === 'string') return { ok: false, message: part, index: dollar };
    if (literal) parts.push(literal);
    literal = '';
    parts.push(part);
    refs.push(ref);
    refIndexes.push(dollar);
    i = close + 1;
  }
  if (literal) parts.push(literal);
  return { ok: true, parts, refs, refIndexes };
}

function refPart(ref: string): RefPart | string {
  if (ref === '') return 'empty reference "${}"';
  const builtin = BUILTINS[ref];
  if (builtin !== undefined) return { kind: builtin, name: ref };
  if (ref.startsWith('env.')) {
    const name = ref.slice(4);
    return ENV_RE.test(name) ? { kind: RefKind.Env, name } : `invalid environment variable name in "\${${ref}}"`;
  }
  if (ref.startsWith('data.')) {
    const name = ref.slice(5);
    return name.length > 0 && !/["\\{$]/.test(name)
      ? { kind: RefKind.Data, name }
      : `invalid data column in "\${${ref}}"`;
  }
  if (VAR_RE.test(ref)) return { kind: RefKind.Var, name: ref };
  return `invalid reference "\${${ref}}": expected vu, iter, seq, uuid, now, env.NAME, data.COLUMN or a variable name`;
}

const REGEX_META_RE = /[.*+?^${}()|[\]\\/]/g;

function escapeValue(value: string, escape: TemplateEscape): string {
  switch (escape) {
    case 'none':
      return value;
    case 'json':
      return JSON.stringify(value).slice(1, -1);
    case 'regex':
      return value.replace(REGEX_META_RE, '\\$&');
  }
}

class CompiledTemplate implements Template {
  readonly source: string;
  readonly isStatic: boolean;
  readonly staticValue: string;
  readonly refs: readonly string[];
  private readonly parts: readonly Part[];
  private readonly escape: TemplateEscape;

  constructor(source: string, parts: Part[], refs: string[], escape: TemplateEscape) {
    this.source = source;
    this.parts = parts;
    this.refs = refs;
    this.escape = escape;
    this.isStatic = refs.length === 0;
    this.staticValue = this.isStatic ? parts.join('') : '';
  }

  render(ctx: RenderContext): string {
    if (this.isStatic) return this.staticValue;
    let out = '';
    const parts = this.parts;
    for (let i = 0; i < parts.length; i++) {
      const part = parts[i]!;
      if (typeof part === 'string') out += part;
      else out += escapeValue(resolveRef(part, ctx), this.escape);
    }
    return out;
  }
}

function resolveRef(part: RefPart, ctx: RenderContext): string {
  switch (part.kind) {
    case RefKind.Vu:
      return String(ctx.vu);
    case RefKind.Iter:
      return String(ctx.iter);
    case RefKind.Seq:
      return String(ctx.nextSeq());
    case RefKind.Uuid:
      return randomUUID();
    case RefKind.Now:
      // Epoch ms with a fraction, comparable across processes on the same clock (latencyFrom).
      return String(performance.timeOrigin + performance.now());
    case RefKind.Env:
      return ctx.env[part.name] ?? '';
    case RefKind.Data:
      return ctx.data?.[part.name] ?? '';
    case RefKind.Var:
      return ctx.vars.get(part.name) ?? '';
  }
}

/**
 * Compiles a template once. `escape` applies to substituted values only: 'json' for values
 * placed inside a JSON string, 'regex' for values placed inside a regular expression.
 * Throws VolleyError on malformed sources (the scenario loader validates them first).
 */
export function compileTemplate(source: string, escape: TemplateEscape = 'none'): Template {
  const parsed = parseTemplate(source);
  if (!parsed.ok) {
    throw new VolleyError('INVALID_SCENARIO', `template ${JSON.stringify(source)}: ${parsed.message}`);
  }
  return new CompiledTemplate(source, parsed.parts, parsed.refs, escape);
}
