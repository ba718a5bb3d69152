// Builders for the scenario's settings: connect, longPoll, socketio, load, data, setup and
// autoReply. Defaults live here (DESIGN.md: connect timeout 5s, gracefulStop 5s,
// maxConnections 10000, no load = one session).

import { isIP } from 'node:net';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { relative, resolve } from 'node:path';
import { isMap, isScalar, isSeq } from 'yaml';
import type { BuildContext } from './context.js';
import { parseCsv } from './csv.js';
import { join } from './reader.js';
import { buildCaptures, buildJsonTemplate, buildMatcher, buildPayload, jsonTextTemplate } from './values.js';
import type { Template } from './template.js';
import type { AutoReplyRule, ConnectOptions, DataSpec, LoadSpec, SetupRequest, SocketIoOptions, Stage, TlsOptions } from './types.js';

export const DEFAULT_CONNECT_TIMEOUT_MS = 5000;
export const DEFAULT_GRACEFUL_STOP_MS = 5000;
export const DEFAULT_MAX_CONNECTIONS = 10_000;
export const DEFAULT_MAX_PAYLOAD_BYTES = 100 * 1024 * 1024;
const DEFAULT_SETUP_TIMEOUT_MS = 10_000;
const HTTP_METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS'];
const SIZE_UNITS: Record<string, number> = { B: 1, KB: 1000, MB: 1e6, GB: 1e9, KiB: 1024, MiB: 1024 ** 2, GiB: 1024 ** 3 };

export function defaultConnect(): ConnectOptions {
  return {
    headers: {},
    subprotocols: [],
    timeoutMs: DEFAULT_CONNECT_TIMEOUT_MS,
    perMessageDeflate: false,
    localAddresses: [],
    query: {},
    maxPayloadBytes: DEFAULT_MAX_PAYLOAD_BYTES,
  };
}

/** A map of name -> template (headers, query). */
function templateMap(c: BuildContext, node: unknown, path: string, scope: 'connect' | 'setup'): Record<string, Template> | undefined {
  const view = c.r.map(node, path, undefined);
  if (!view) return undefined;
  const out: Record<string, Template> = {};
  let ok = true;
  for (const [key, e] of view.entries) {
    const t = c.template(e.value, join(path, key), scope);
    if (t) out[key] = t;
    else ok = false;
  }
  return ok ? out : undefined;
}

function stringList(c: BuildContext, node: unknown, path: string): string[] | undefined {
  const n = c.r.deref(node);
  if (isScalar(n) && typeof n.value === 'string') return [n.value];
  const items = c.r.seq(node, path);
  if (!items) return undefined;
  const out: string[] = [];
  let ok = true;
  items.forEach((item, i) => {
    const s = c.r.string(item, join(path, i), { nonEmpty: true });
    if (s === undefined) ok = false;
    else out.push(s);
  });
  return ok ? out : undefined;
}

/** A template or a list of them (subprotocols); each item non-empty. */
function templateList(c: BuildContext, node: unknown, path: string): Template[] | undefined {
  const n = c.r.deref(node);
  if (isScalar(n) && typeof n.value === 'string') {
    const t = c.template(node, path, 'connect');
    return t ? [t] : undefined;
  }
  const items = c.r.seq(node, path);
  if (!items) return undefined;
  const out: Template[] = [];
  let ok = true;
  items.forEach((item, i) => {
    const t = c.r.string(item, join(path, i), { nonEmpty: true }) === undefined ? undefined : c.template(item, join(path, i), 'connect');
    if (t) out.push(t);
    else ok = false;
  });
  return ok ? out : undefined;
}

function parseSize(c: BuildContext, node: unknown, path: string): number | undefined {
  const v = c.r.scalar(node);
  if (typeof v === 'number' && Number.isInteger(v) && v > 0) return v;
  const m = typeof v === 'string' ? /^(\d+(?:\.\d+)?)\s*(B|KB|MB|GB|KiB|MiB|GiB)?$/.exec(v.trim()) : null;
  const bytes = m ? Math.floor(Number(m[1]) * SIZE_UNITS[m[2] ?? 'B']!) : 0;
  if (!(bytes > 0)) return c.r.problem(node, `${path}: expected a size in bytes or like 64KiB or 1MiB, got ${c.r.describe(node)}`);
  return bytes;
}

/** Reads a file path relative to the scenario's folder; records a problem when it is missing. */
function filePath(c: BuildContext, node: unknown, path: string): string | undefined {
  const s = c.r.string(node, path, { nonEmpty: true });
  if (s === undefined) return undefined;
  const abs = resolve(c.baseDir, s);
  if (!existsSync(abs) || !statSync(abs).isFile()) return c.r.problem(node, `${path}: file not found: ${s} (resolved to ${abs})`);
  return abs;
}

export function buildConnect(c: BuildContext, node: unknown): ConnectOptions | undefined {
  const out = defaultConnect();
  const view = c.r.map(node, 'connect', 'connect');
  if (!view) return undefined;
  let ok = true;
  const fail = (): void => {
    ok = false;
  };
  for (const [key, e] of view.entries) {
    const p = join('connect', key);
    switch (key) {
      case 'headers': {
        const h = templateMap(c, e.value, p, 'connect');
        if (h) out.headers = h;
        else fail();
        break;
      }
      case 'query': {
        const q = templateMap(c, e.value, p, 'connect');
        if (q) out.query = q;
        else fail();
        break;
      }
      case 'subprotocols': {
        // Templates, like headers: browsers pass tokens as a subprotocol (they cannot set
        // Authorization on a WebSocket), and imports write those as ${env.…}.
        const l = templateList(c, e.value, p);
        if (l) out.subprotocols = l;
        else fail();
        break;
      }
      case 'timeout': {
        const ms = c.r.duration(e.value, p);
        if (ms === undefined) fail();
        else out.timeoutMs = ms;
        break;
      }
      case 'perMessageDeflate': {
        const b = c.r.boolean(e.value, p);
        if (b === undefined) fail();
        else out.perMessageDeflate = b;
        break;
      }
      case 'localAddresses': {
        const l = stringList(c, e.value, p);
        if (!l) fail();
        else {
          const bad = l.find((a) => isIP(a) === 0);
          if (bad !== undefined) {
            c.r.problem(e.value, `${p}: "${bad}" is not an IP address`);
            fail();
          } else out.localAddresses = l;
        }
        break;
      }
      case 'maxPayload': {
        const n = parseSize(c, e.value, p);
        if (n === undefined) fail();
        else out.maxPayloadBytes = n;
        break;
      }
      case 'tls': {
        const t = buildTls(c, e.value, p);
        if (t) out.tls = t;
        else fail();
        break;
      }
    }
  }
  return ok ? out : undefined;
}

function buildTls(c: BuildContext, node: unknown, path: string): TlsOptions | undefined {
  const view = c.r.map(node, path, 'tls');
  if (!view) return undefined;
  const out: TlsOptions = { insecure: false };
  let ok = true;
  for (const [key, e] of view.entries) {
    const p = join(path, key);
    if (key === 'insecure') {
      const b = c.r.boolean(e.value, p);
      if (b === undefined) ok = false;
      else out.insecure = b;
    } else if (key === 'servername') {
      const s = c.r.string(e.value, p, { nonEmpty: true });
      if (s === undefined) ok = false;
      else out.servername = s;
    } else {
      const f = filePath(c, e.value, p);
      if (f === undefined) ok = false;
      else out[key as 'ca' | 'cert' | 'key'] = f;
    }
  }
  if (ok && (out.cert === undefined) !== (out.key === undefined)) {
    c.r.problem(view.node, `${path}: cert and key go together (a client certificate needs its key)`);
    ok = false;
  }
  return ok ? out : undefined;
}

/** An http(s) URL resolved once at load, as target is: ${env.X} references render first, then
 *  the rendered text is validated (problems point at the node). */
function httpUrl(c: BuildContext, node: unknown, path: string): string | undefined {
  const raw = c.r.string(node, path, { nonEmpty: true });
  if (raw === undefined) return undefined;
  const s = c.renderEnvOnly(raw, node, path);
  if (s === undefined) return undefined;
  let u: URL;
  try {
    u = new URL(s);
  } catch {
    return c.r.problem(node, `${path}: "${s}" is not a valid URL`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return c.r.problem(node, `${path}: expected an http:// or https:// URL, got "${s}"`);
  return s;
}

export function buildLongPoll(c: BuildContext, node: unknown): { url?: string } | undefined {
  const view = c.r.map(node, 'longPoll', 'longPoll');
  if (!view) return undefined;
  const e = view.entries.get('url');
  if (!e) return {};
  const url = httpUrl(c, e.value, 'longPoll.url');
  return url === undefined ? undefined : { url };
}

export function defaultSocketIo(): SocketIoOptions {
  return { path: '/socket.io', namespace: '/', transports: ['websocket'], query: {} };
}

export function buildSocketIo(c: BuildContext, node: unknown): SocketIoOptions | undefined {
  const view = c.r.map(node, 'socketio', 'socketio');
  if (!view) return undefined;
  const out = defaultSocketIo();
  let ok = true;
  for (const [key, e] of view.entries) {
    const p = join('socketio', key);
    if (key === 'path' || key === 'namespace') {
      const s = c.r.string(e.value, p, { nonEmpty: true });
      if (s === undefined) ok = false;
      else if (!s.startsWith('/')) ok = c.r.problem(e.value, `${p}: must start with "/", got "${s}"`) ?? false;
      else out[key] = s;
    } else if (key === 'transports') {
      const l = stringList(c, e.value, p);
      if (!l) ok = false;
      else if (l.length === 0) ok = c.r.problem(e.value, `${p}: needs websocket, polling or both`) ?? false;
      else {
        const bad = l.find((t) => t !== 'websocket' && t !== 'polling');
        if (bad !== undefined) ok = c.r.problem(e.value, `${p}: unknown transport "${bad}"; expected websocket or polling`) ?? false;
        else out.transports = [...new Set(l)] as ('websocket' | 'polling')[];
      }
    } else if (key === 'auth') {
      const a = buildJsonTemplate(c, e.value, p, 'connect');
      if (a === undefined) ok = false;
      else out.auth = a;
    } else {
      const q = templateMap(c, e.value, p, 'connect');
      if (!q) ok = false;
      else out.query = q;
    }
  }
  return ok ? out : undefined;
}

export function defaultLoad(): LoadSpec {
  return { model: 'connections', connections: 1, iterations: 1, gracefulStopMs: DEFAULT_GRACEFUL_STOP_MS };
}

export function buildLoad(c: BuildContext, node: unknown): LoadSpec | undefined {
  const view = c.r.map(node, 'load', 'load');
  if (!view) return undefined;
  const get = (k: string) => view.entries.get(k);
  let ok = true;
  let model: 'connections' | 'arrival-rate';
  const m = get('model');
  if (m) {
    const s = c.r.string(m.value, 'load.model');
    if (s === undefined) return undefined;
    if (s !== 'connections' && s !== 'arrival-rate') {
      return c.r.problem(m.value, `load.model: expected connections or arrival-rate, got "${s}"`);
    }
    model = s;
  } else {
    model = get('rate') ? 'arrival-rate' : 'connections';
  }
  const notFor = (key: string, hint: string): void => {
    const e = get(key);
    if (e) {
      c.r.problem(e.keyNode, `load.${key}: does not apply to model ${model}${hint}`);
      ok = false;
    }
  };
  let gracefulStopMs = DEFAULT_GRACEFUL_STOP_MS;
  const g = get('gracefulStop');
  if (g) {
    const ms = c.r.duration(g.value, 'load.gracefulStop', { allowZero: true });
    if (ms === undefined) ok = false;
    else gracefulStopMs = ms;
  }
  let durationMs: number | undefined;
  const d = get('duration');
  if (d) {
    durationMs = c.r.duration(d.value, 'load.duration');
    if (durationMs === undefined) ok = false;
  }
  const st = get('stages');
  let stages: Stage[] | undefined;
  if (st) {
    stages = buildStages(c, st.value, model);
    if (!stages) ok = false;
    if (d) {
      c.r.problem(d.keyNode, 'load.duration: use either duration or stages (the stages set the run length)');
      ok = false;
    }
  }
  if (model === 'connections') {
    notFor('rate', '; use model: arrival-rate for a rate of new sessions');
    notFor('maxConnections', '; it caps model arrival-rate');
    let connections = 1;
    const cn = get('connections');
    if (cn) {
      const n = c.r.integer(cn.value, 'load.connections', 1);
      if (n === undefined) ok = false;
      else connections = n;
      if (st) {
        c.r.problem(cn.keyNode, 'load.connections: use either connections or stages (the stages set the connections)');
        ok = false;
      }
    }
    let iterations: number | undefined;
    const it = get('iterations');
    if (it) {
      iterations = c.r.integer(it.value, 'load.iterations', 1);
      if (iterations === undefined) ok = false;
    }
    if (!ok) return undefined;
    if (stages) {
      const load: LoadSpec = {
        model,
        connections: Math.max(1, ...stages.map((s) => s.target)),
        durationMs: stages.reduce((sum, s) => sum + s.durationMs, 0),
        stages,
        gracefulStopMs,
      };
      if (iterations !== undefined) load.iterations = iterations;
      return load;
    }
    const load: LoadSpec = { model, connections, gracefulStopMs };
    if (durationMs !== undefined) load.durationMs = durationMs;
    // Without a duration each connection slot runs a fixed number of sessions (default 1).
    if (iterations !== undefined || durationMs === undefined) load.iterations = iterations ?? 1;
    return load;
  }
  notFor('connections', '; use maxConnections to cap concurrent sessions');
  notFor('iterations', '');
  let maxConnections = DEFAULT_MAX_CONNECTIONS;
  const mc = get('maxConnections');
  if (mc) {
    const n = c.r.integer(mc.value, 'load.maxConnections', 1);
    if (n === undefined) ok = false;
    else maxConnections = n;
  }
  let rate: number | undefined;
  const r = get('rate');
  if (r) {
    rate = c.r.number(r.value, 'load.rate', { positive: true });
    if (rate === undefined) ok = false;
    if (st) {
      c.r.problem(r.keyNode, 'load.rate: use either rate or stages (the stages set the rate)');
      ok = false;
    }
  }
  if (!st && !r) {
    c.r.problem(view.node, 'load: model arrival-rate needs rate (sessions/s) and duration, or stages');
    ok = false;
  }
  if (!st && r && !d) {
    c.r.problem(view.node, 'load: model arrival-rate needs a duration');
    ok = false;
  }
  if (!ok) return undefined;
  if (stages) {
    return {
      model,
      rate: Math.max(...stages.map((s) => s.target)),
      durationMs: stages.reduce((sum, s) => sum + s.durationMs, 0),
      stages,
      maxConnections,
      gracefulStopMs,
    };
  }
  return { model, rate: rate!, durationMs: durationMs!, maxConnections, gracefulStopMs };
}

function buildStages(c: BuildContext, node: unknown, model: 'connections' | 'arrival-rate'): Stage[] | undefined {
  const items = c.r.seq(node, 'load.stages');
  if (!items) return undefined;
  if (items.length === 0) return c.r.problem(node, 'load.stages: needs at least one stage');
  const stages: Stage[] = [];
  let ok = true;
  items.forEach((item, i) => {
    const p = join('load.stages', i);
    const v = c.r.map(item, p, 'stage');
    if (!v) {
      ok = false;
      return;
    }
    const d = v.entries.get('duration');
    const t = v.entries.get('target');
    if (!d || !t) {
      c.r.problem(item, `${p}: a stage needs duration and target`);
      ok = false;
      return;
    }
    const durationMs = c.r.duration(d.value, join(p, 'duration'), { allowZero: true });
    const target = model === 'connections' ? c.r.integer(t.value, join(p, 'target'), 0) : c.r.number(t.value, join(p, 'target'), { min: 0 });
    if (durationMs === undefined || target === undefined) ok = false;
    else stages.push({ durationMs, target });
  });
  if (ok && stages.every((s) => s.durationMs === 0)) {
    c.r.problem(node, 'load.stages: the stages add up to no time');
    ok = false;
  }
  if (ok && stages.every((s) => s.target === 0)) {
    c.r.problem(node, `load.stages: every target is 0, so no session would start`);
    ok = false;
  }
  return ok ? stages : undefined;
}

/**
 * `data: {file, order}`: reads the CSV now, so columns can be checked and ragged rows reported
 * at the CSV's own file:line. Returns null when the data section exists but cannot be used.
 */
export function buildData(c: BuildContext, node: unknown): DataSpec | null {
  const view = c.r.map(node, 'data', 'data');
  if (!view) return null;
  let order: 'sequential' | 'random' = 'sequential';
  const o = view.entries.get('order');
  if (o) {
    const s = c.r.string(o.value, 'data.order');
    if (s === 'sequential' || s === 'random') order = s;
    else if (s !== undefined) c.r.problem(o.value, `data.order: expected sequential or random, got "${s}"`);
  }
  const f = view.entries.get('file');
  if (!f) {
    c.r.problem(view.node, 'data: needs file (a CSV with a header row)');
    return null;
  }
  const file = c.r.string(f.value, 'data.file', { nonEmpty: true });
  if (file === undefined) return null;
  const path = resolve(c.baseDir, file);
  let text: string;
  try {
    const bytes = readFileSync(path);
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const why = e.code === 'ENOENT' ? 'file not found' : e.code === 'EISDIR' ? 'is a directory' : e.code ? e.code : 'not UTF-8 text';
    c.r.problem(f.value, `data.file: cannot read ${file}: ${why} (resolved to ${path})`);
    return null;
  }
  // CSV problems name the file as a user can open it from here.
  const rel = relative(process.cwd(), path);
  const csvFile = rel === '' || rel.startsWith('..') ? path : rel;
  const csv = parseCsv(text);
  if (!csv.ok) {
    c.r.problems.push({ file: csvFile, pos: { line: csv.line, col: csv.col }, message: csv.message });
    return null;
  }
  const [header, ...rows] = csv.rows;
  if (!header) {
    c.r.problem(f.value, `data.file: ${file} is empty; it needs a header row and at least one data row`);
    return null;
  }
  const columns = header.fields.map((h) => h.trim());
  let ok = true;
  columns.forEach((col, i) => {
    if (col === '') {
      c.r.problems.push({ file: csvFile, pos: { line: header.line, col: 1 }, message: `header column ${i + 1} has no name` });
      ok = false;
    } else if (columns.indexOf(col) !== i) {
      c.r.problems.push({ file: csvFile, pos: { line: header.line, col: 1 }, message: `header column "${col}" appears twice` });
      ok = false;
    }
  });
  for (const row of rows) {
    if (row.fields.length !== columns.length) {
      c.r.problems.push({
        file: csvFile,
        pos: { line: row.line, col: 1 },
        message: `row has ${row.fields.length} field${row.fields.length === 1 ? '' : 's'}, the header has ${columns.length}`,
      });
      ok = false;
    }
  }
  if (rows.length === 0) {
    c.r.problem(f.value, `data.file: ${file} has a header but no data rows`);
    ok = false;
  }
  const spec: DataSpec = { file, path, order, columns, rows: rows.map((r) => r.fields) };
  // Column checks still help when some rows are bad; the caller sees the problems and fails.
  return ok ? spec : { ...spec, rows: [] };
}

export function buildSetup(c: BuildContext, node: unknown): SetupRequest[] | undefined {
  const items = c.r.seq(node, 'setup');
  if (!items) return undefined;
  const out: SetupRequest[] = [];
  let ok = true;
  items.forEach((item, i) => {
    const p = join('setup', i);
    const v = c.r.map(item, p, 'setup');
    if (!v) return void (ok = false);
    const reqEntry = v.entries.get('request');
    if (!reqEntry) {
      c.r.problem(item, `${p}: needs request: {method, url}`);
      return void (ok = false);
    }
    const rp = join(p, 'request');
    const rv = c.r.map(reqEntry.value, rp, 'request');
    if (!rv) return void (ok = false);
    const req: SetupRequest = { method: 'GET', url: undefined as unknown as Template, headers: {}, capture: {}, timeoutMs: DEFAULT_SETUP_TIMEOUT_MS };
    const m = rv.entries.get('method');
    if (m) {
      const s = c.r.string(m.value, join(rp, 'method'));
      if (s === undefined) ok = false;
      else if (!HTTP_METHODS.includes(s.toUpperCase())) ok = c.r.problem(m.value, `${join(rp, 'method')}: expected one of ${HTTP_METHODS.join(', ')}, got "${s}"`) ?? false;
      else req.method = s.toUpperCase();
    }
    const u = rv.entries.get('url');
    if (!u) ok = c.r.problem(rv.node, `${rp}: needs url`) ?? false;
    else {
      const t = c.template(u.value, join(rp, 'url'), 'setup');
      if (!t) ok = false;
      else if (!/^https?:\/\//.test(t.source) && !t.source.startsWith('${')) {
        ok = c.r.problem(u.value, `${join(rp, 'url')}: expected an http:// or https:// URL, got "${t.source}"`) ?? false;
      } else req.url = t;
    }
    const h = rv.entries.get('headers');
    if (h) {
      const hm = templateMap(c, h.value, join(rp, 'headers'), 'setup');
      if (!hm) ok = false;
      else req.headers = hm;
    }
    const b = rv.entries.get('body');
    if (b) {
      const bn = c.r.deref(b.value);
      if (isMap(bn) || isSeq(bn)) {
        const jt = buildJsonTemplate(c, bn, join(rp, 'body'), 'setup');
        if (jt === undefined) ok = false;
        else {
          // A map/list body is sent as JSON; the engine sets content-type unless headers do.
          req.body = jsonTextTemplate(jt).template;
        }
      } else {
        const t = c.template(b.value, join(rp, 'body'), 'setup');
        if (!t) ok = false;
        else req.body = t;
      }
    }
    const t = rv.entries.get('timeout');
    if (t) {
      const ms = c.r.duration(t.value, join(rp, 'timeout'));
      if (ms === undefined) ok = false;
      else req.timeoutMs = ms;
    }
    const cap = v.entries.get('capture');
    if (cap) {
      const built = buildCaptures(c, cap.value, join(p, 'capture'));
      if (!built) ok = false;
      else {
        req.capture = built.captures;
        for (const [name, keyNode] of built.names) {
          c.define(name, keyNode);
          c.setupVars.add(name);
        }
      }
    }
    out.push(req);
  });
  return ok ? out : undefined;
}

export function buildAutoReply(c: BuildContext, node: unknown): AutoReplyRule[] | undefined {
  const items = c.r.seq(node, 'autoReply');
  if (!items) return undefined;
  const out: AutoReplyRule[] = [];
  let ok = true;
  items.forEach((item, i) => {
    const p = join('autoReply', i);
    const v = c.r.map(item, p, 'autoReply');
    if (!v) return void (ok = false);
    const matcher = buildMatcher(c, v, p, 'autoReply');
    if (matcher?.kind === 'any') {
      c.r.problem(item, `${p}: needs a matcher (text, match, json or binary) so it answers only heartbeats`);
      return void (ok = false);
    }
    const s = v.entries.get('send');
    if (!s) {
      c.r.problem(item, `${p}: needs send (the reply)`);
      return void (ok = false);
    }
    const payload = buildPayload(c, s.value, join(p, 'send'), 'autoReply');
    if (!matcher || !payload) return void (ok = false);
    out.push({ matcher, payload });
  });
  return ok ? out : undefined;
}
