// State shared while building one Scenario: the reader (positions, problems), the data columns
// and env that ${…} references are checked against, the variables defined so far in execution
// order, and what the steps record (so thresholds can be checked against metrics that exist).

import { isScalar } from 'yaml';
import { BUILTIN_REFS, classifyRef, parseTemplate, compileTemplate, type Template, type TemplateEscape } from './template.js';
import { label, type Reader } from './reader.js';
import { didYouMean } from './suggest.js';
import type { DataSpec } from './types.js';
import { metricKey } from '../metrics/names.js';

/**
 * Where a template is rendered, which decides the variables it can see:
 * - session: in a step, after the steps before it (captures and sets so far, plus setup's);
 * - connect: when the connection opens (setup captures only);
 * - setup: in a setup request (earlier setup captures; no per-session data);
 * - autoReply: any time during the session (any variable defined anywhere).
 */
export type RefScope = 'session' | 'connect' | 'setup' | 'autoReply';

interface PendingUse {
  name: string;
  path: string;
  node: unknown;
  index: number;
  scope: RefScope;
}

export interface RecordedMetrics {
  /** Step names recording each trend (latency, service_time, wait, ping). */
  named: Map<string, Set<string>>;
  /** Trends recorded by any step. */
  any: Set<string>;
}

export class BuildContext {
  /** Variables defined so far in execution order (setup captures, then step captures/sets). */
  readonly defined = new Set<string>();
  /** Every variable defined anywhere, with the node that first defines it. */
  readonly definedAt = new Map<string, unknown>();
  readonly setupVars = new Set<string>();
  private readonly pending: PendingUse[] = [];
  readonly metrics: RecordedMetrics = { named: new Map(), any: new Set() };
  /** undefined: no data section; null: a data section that could not be read (skip column checks). */
  data: DataSpec | null | undefined;
  loopDepth = 0;
  /** The scenario's transport is Socket.IO (emit and expect.event apply). */
  socketIo = false;
  /**
   * The transport is the one that will run (`volley run`, flags applied): a step or target
   * that needs another transport is a problem. `volley validate` cannot know the run's
   * --transport, so there it is a warning.
   */
  transportDecided = false;

  /** A step or target that needs another transport than the scenario's. */
  transportMismatch(node: unknown, message: string): void {
    if (this.transportDecided) this.r.problem(node, message);
    else this.r.warn(node, message);
  }

  constructor(
    readonly r: Reader,
    readonly env: NodeJS.ProcessEnv,
    readonly baseDir: string,
  ) {}

  define(name: string, node: unknown): void {
    this.defined.add(name);
    if (!this.definedAt.has(name)) this.definedAt.set(name, node);
  }

  /** What record() saw, as metric keys: each trend, and each with its step names as tags. */
  recordedTrendKeys(): string[] {
    const keys = [...this.metrics.any];
    for (const [trend, names] of this.metrics.named) for (const name of names) keys.push(metricKey(trend, { name }));
    return keys;
  }

  record(trend: string, stepName: string | undefined): void {
    this.metrics.any.add(trend);
    if (stepName === undefined) return;
    let names = this.metrics.named.get(trend);
    if (!names) this.metrics.named.set(trend, (names = new Set()));
    names.add(stepName);
  }

  /**
   * Compiles the template in `node` (a string, or a number/boolean as text) and checks each
   * reference; problems point at the `${` inside the scalar where the source allows.
   */
  template(node: unknown, path: string, scope: RefScope, escape: TemplateEscape = 'none'): Template | undefined {
    const text = this.r.text(node, path);
    if (text === undefined) return undefined;
    return this.templateFromText(text, node, path, scope, escape);
  }

  /**
   * A value resolved once, when the scenario loads (target, longPoll.url): only ${env.NAME}
   * references may appear in it; they are checked (set?) and rendered here. The caller
   * validates the rendered text and reports problems at `node`. Undefined after a problem.
   */
  renderEnvOnly(raw: string, node: unknown, path: string): string | undefined {
    const parsed = parseTemplate(raw);
    if (!parsed.ok) {
      this.r.problemInside(node, parsed.index, `${label(path)}${parsed.message}`);
      return undefined;
    }
    let ok = true;
    parsed.refs.forEach((ref, i) => {
      if (!ref.startsWith('env.')) {
        this.r.problemInside(node, parsed.refIndexes[i]!, `${label(path)}only \${env.NAME} references may be used in ${path}, got "\${${ref}}"`);
        ok = false;
      }
    });
    if (!ok) return undefined;
    const tpl = this.templateFromText(raw, node, path, 'connect', 'none');
    if (!tpl) return undefined;
    return tpl.render({ vars: new Map(), vu: 0, iter: 0, nextSeq: () => 0, data: undefined, env: this.env });
  }

  templateFromText(text: string, node: unknown, path: string, scope: RefScope, escape: TemplateEscape): Template | undefined {
    const parsed = parseTemplate(text);
    if (!parsed.ok) {
      this.r.problemInside(node, parsed.index, `${label(path)}${parsed.message}`);
      return undefined;
    }
    let ok = true;
    for (let i = 0; i < parsed.refs.length; i++) {
      if (!this.checkRef(parsed.refs[i]!, node, parsed.refIndexes[i]!, path, scope)) ok = false;
    }
    return ok ? compileTemplate(text, escape) : undefined;
  }

  private checkRef(ref: string, node: unknown, index: number, path: string, scope: RefScope): boolean {
    const { type, name } = classifyRef(ref);
    const at = (message: string): false => {
      this.r.problemInside(node, index, `${label(path)}${message}`);
      return false;
    };
    switch (type) {
      case 'builtin':
        return true;
      case 'env':
        if (this.env[name] === undefined) return at(`\${env.${name}}: environment variable ${name} is not set`);
        return true;
      case 'data': {
        if (scope === 'setup') return at(`\${data.${name}}: setup runs once before the load, without a data row`);
        if (this.data === undefined) return at(`\${data.${name}}: no data file is configured (add data: {file: rows.csv})`);
        if (this.data === null) return true;
        if (!this.data.columns.includes(name)) {
          const hint = didYouMean(name, this.data.columns);
          return at(
            `\${data.${name}}: ${this.data.file} has no column "${name}" (columns: ${this.data.columns.join(', ')})` +
              (hint ? `; did you mean "${hint}"?` : ''),
          );
        }
        return true;
      }
      case 'var': {
        const known = scope === 'connect' ? this.setupVars.has(name) : this.defined.has(name);
        if (!known) this.pending.push({ name, path, node, index, scope });
        return true;
      }
    }
  }

  /** Reports variables used before (or without) a definition; call after all steps are built. */
  finishVariables(): void {
    for (const use of this.pending) {
      const ref = `\${${use.name}}`;
      const definedNode = this.definedAt.get(use.name);
      if (use.scope === 'autoReply' && definedNode !== undefined) continue;
      let message: string;
      if (definedNode === undefined) {
        const hint = didYouMean(use.name, [...this.definedAt.keys(), ...BUILTIN_REFS]);
        message = `unknown variable ${ref}: no step captures or sets it` + (hint ? `; did you mean "${hint}"?` : '');
      } else if (use.scope === 'connect') {
        message = `${ref} is not available when connecting: only setup captures are (it is defined at ${this.where(definedNode)})`;
      } else {
        message = `${ref} is used before any step captures or sets it (it is defined at ${this.where(definedNode)})`;
      }
      this.r.problemInside(use.node, use.index, `${label(use.path)}${message}`);
    }
  }

  private where(node: unknown): string {
    const at = this.r.locate(node);
    if (!at) return 'a later step';
    return at.file === this.r.file ? `line ${at.pos.line}` : `${at.file}:${at.pos.line}`;
  }

  /** The string value of a scalar node or undefined (no problem recorded). */
  peekString(node: unknown): string | undefined {
    const n = this.r.deref(node);
    return isScalar(n) && typeof n.value === 'string' ? n.value : undefined;
  }
}
