// loadScenario: YAML text (+ --set overrides) -> a validated, typed Scenario, or every problem
// with its file:line:col. Never throws: the CLI prints the problems and exits 2.

import { createHash } from 'node:crypto';
import { basename, dirname, extname, resolve } from 'node:path';
import { isMap, isScalar } from 'yaml';
import type { Problem } from '../errors.js';
import { BuildContext } from './context.js';
import { buildAutoReply, buildConnect, buildData, buildLoad, buildLongPoll, buildSetup, buildSocketIo, defaultConnect, defaultLoad, defaultSocketIo } from './options.js';
import { Reader, type SetOrigin } from './reader.js';
import { applySets } from './sets.js';
import { parseSource, readSource } from './source.js';
import { buildSteps } from './steps.js';
import { buildThresholds } from './thresholds.js';
import { BUILTIN_TARGETS, TRANSPORT_NAMES, type Scenario, type TransportName } from './types.js';

export interface LoadScenarioOptions {
  /** Path as given, used in messages; "<inline>" allowed together with `source`. */
  file: string;
  /** YAML text; read from `file` when absent. */
  source?: string;
  /** --set key=value overrides: a dotted path into the document, the value parsed as YAML. */
  sets?: string[];
  /** For ${env.X} checks and env references in target; default process.env. */
  env?: NodeJS.ProcessEnv;
  /**
   * The scenario's transport (after --set/--transport) is the one that will run, so a step that
   * needs another one (emit, expect.event on ws) is a problem instead of a warning.
   */
  transportDecided?: boolean;
}

export type LoadScenarioResult =
  | { ok: true; scenario: Scenario; warnings: Problem[] }
  | { ok: false; problems: Problem[] };

export function loadScenario(opts: LoadScenarioOptions): LoadScenarioResult {
  try {
    return load(opts);
  } catch (err) {
    // A bug in the loader must still come out as a problem, not a stack trace.
    return { ok: false, problems: [{ file: opts.file, message: `internal error while loading the scenario: ${(err as Error).message}` }] };
  }
}

function load(opts: LoadScenarioOptions): LoadScenarioResult {
  const file = opts.file;
  let text: string;
  if (opts.source !== undefined) {
    const nul = opts.source.indexOf('\0');
    if (nul >= 0) return { ok: false, problems: [{ file, message: 'source looks binary (it contains a NUL character); a scenario is YAML text' }] };
    text = opts.source.charCodeAt(0) === 0xfeff ? opts.source.slice(1) : opts.source;
  } else {
    const read = readSource(file);
    if (!read.ok) return read;
    text = read.text;
  }
  const parsed = parseSource(file, text);
  if (parsed.fatal) return { ok: false, problems: parsed.problems };
  const origins = new WeakMap<object, SetOrigin>();
  const setProblems = applySets(parsed.doc, opts.sets ?? [], origins);
  const r = new Reader(file, text, parsed.lineCounter, parsed.doc, origins);
  const baseDir = file === '<inline>' ? process.cwd() : dirname(resolve(file));
  const c = new BuildContext(r, opts.env ?? process.env, baseDir);
  c.transportDecided = opts.transportDecided === true;
  const scenario = build(c, text, file);
  const problems = sortProblems([...parsed.problems, ...setProblems, ...r.problems], file);
  if (problems.length > 0 || !scenario) {
    if (problems.length === 0) problems.push({ file, message: 'scenario is invalid' });
    return { ok: false, problems };
  }
  return { ok: true, scenario, warnings: sortProblems(r.warnings, file) };
}

function sortProblems(problems: Problem[], file: string): Problem[] {
  const rank = (p: Problem): number => (p.file === file ? 0 : p.file === '--set' ? 1 : 2);
  return problems
    .map((p, i) => ({ p, i }))
    .sort(
      (a, b) =>
        rank(a.p) - rank(b.p) ||
        (a.p.pos?.line ?? 0) - (b.p.pos?.line ?? 0) ||
        (a.p.pos?.col ?? 0) - (b.p.pos?.col ?? 0) ||
        a.i - b.i,
    )
    .map(({ p }) => p);
}

function defaultName(file: string): string {
  if (file === '<inline>') return 'scenario';
  const b = basename(file);
  return b.slice(0, b.length - extname(b).length) || b;
}

function build(c: BuildContext, text: string, file: string): Scenario | undefined {
  const r = c.r;
  const contents = r.deref(r.rootNode);
  if (contents === null || (isScalar(contents) && contents.value === null)) {
    r.problems.push({ file, pos: { line: 1, col: 1 }, message: 'scenario is empty: it needs at least target and steps' });
    return undefined;
  }
  if (!isMap(contents)) {
    r.problem(contents, `a scenario is a map (target:, steps:, …), got ${r.describe(contents)}`);
    return undefined;
  }
  const view = r.map(contents, '', 'scenario');
  if (!view) return undefined;
  const get = (k: string) => view.entries.get(k);
  let ok = true;

  let name = defaultName(file);
  const n = get('name');
  if (n) {
    const s = r.string(n.value, 'name', { nonEmpty: true });
    if (s === undefined) ok = false;
    else name = s;
  }

  let transport: TransportName = 'ws';
  const t = get('transport');
  if (t) {
    const s = r.string(t.value, 'transport');
    if (s !== undefined && (TRANSPORT_NAMES as readonly string[]).includes(s)) transport = s as TransportName;
    else {
      if (s !== undefined) r.problem(t.value, `transport: expected one of ${TRANSPORT_NAMES.join(', ')}, got "${s}"`);
      ok = false;
    }
  }
  c.socketIo = transport.startsWith('socket.io');

  const target = buildTarget(c, get('target')?.value, contents, transport);
  if (target === undefined) ok = false;

  const section = <T>(key: string, fn: (c: BuildContext, node: unknown) => T | undefined, fallback: T): T => {
    const e = get(key);
    if (!e || r.isNull(e.value)) return fallback;
    const v = fn(c, e.value);
    if (v === undefined) {
      ok = false;
      return fallback;
    }
    return v;
  };

  const load = section('load', buildLoad, defaultLoad());
  const d = get('data');
  if (d && !r.isNull(d.value)) {
    c.data = buildData(c, d.value);
    if (c.data === null || c.data.rows.length === 0) ok = false;
  }
  // Setup runs first and its captures are visible everywhere after it, connect included.
  const setup = section('setup', buildSetup, []);
  const connect = section('connect', buildConnect, defaultConnect());
  const longPoll = section('longPoll', buildLongPoll, {});
  const socketio = section('socketio', buildSocketIo, defaultSocketIo());
  const autoReplyEntry = get('autoReply');

  const s = get('steps');
  let steps: Scenario['steps'] = [];
  if (!s || r.isNull(s.value)) {
    r.problem(s?.keyNode ?? contents, 'steps: a scenario needs steps (send, expect, think, loop, …)');
    ok = false;
  } else {
    const built = buildSteps(c, s.value, 'steps');
    if (built) steps = built;
    else ok = false;
  }
  // autoReply may use any variable (it answers at any time), so it is checked after the steps.
  const autoReply = autoReplyEntry && !r.isNull(autoReplyEntry.value) ? buildAutoReply(c, autoReplyEntry.value) : [];
  if (!autoReply) ok = false;
  c.finishVariables();
  const thresholds = section('thresholds', buildThresholds, []);

  if (!ok || target === undefined || !autoReply) return undefined;
  const scenario: Scenario = {
    name,
    file,
    sha256: createHash('sha256').update(text).digest('hex'),
    source: text,
    target,
    transport,
    connect,
    longPoll,
    socketio,
    load,
    autoReply,
    setup,
    steps,
    thresholds,
    variables: [...c.definedAt.keys()],
    recordedTrendKeys: c.recordedTrendKeys(),
  };
  if (c.data) scenario.data = c.data;
  return scenario;
}

/** target: a ws/wss/http/https URL or builtin:NAME; ${env.X} references resolve here, once. */
function buildTarget(c: BuildContext, node: unknown, root: unknown, transport: TransportName): string | undefined {
  const r = c.r;
  if (node === undefined || r.isNull(node)) {
    return r.problem(node ?? root, `target: required: a ws://, wss://, http:// or https:// URL, or builtin:${BUILTIN_TARGETS.join('|')}`);
  }
  const raw = r.string(node, 'target', { nonEmpty: true });
  if (raw === undefined) return undefined;
  // ${env.X} references resolve here, once (the same path as longPoll.url); then the value is checked.
  const value = c.renderEnvOnly(raw, node, 'target');
  if (value === undefined) return undefined;
  if (value.startsWith('builtin:')) {
    const b = value.slice(8);
    if (!(BUILTIN_TARGETS as readonly string[]).includes(b)) {
      return r.problem(node, `target: unknown builtin "${b}"; expected builtin:${BUILTIN_TARGETS.join('|')}`);
    }
    const sio = transport.startsWith('socket.io');
    if (b === 'socketio-chat' && !sio) c.transportMismatch(node, 'target: builtin:socketio-chat speaks Socket.IO; set transport: socket.io');
    if (b !== 'socketio-chat' && sio) c.transportMismatch(node, `target: builtin:${b} does not speak Socket.IO; use builtin:socketio-chat`);
    return value;
  }
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return r.problem(node, `target: "${value}" is not a valid URL (expected ws://host:port/path, wss://, http://, https:// or builtin:NAME)`);
  }
  if (!['ws:', 'wss:', 'http:', 'https:'].includes(url.protocol)) {
    return r.problem(node, `target: unsupported scheme "${url.protocol}" in "${value}"; expected ws, wss, http or https`);
  }
  if (url.hostname === '') return r.problem(node, `target: "${value}" has no host`);
  return value;
}
