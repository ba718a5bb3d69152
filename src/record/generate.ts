// Observed frames -> a commented scenario in the format of DESIGN.md "Scenario format".
//
// Per connection (flow), in recorded order:
// - received frames before the first send become lone `expect`s (a welcome, a session id);
// - each sent frame becomes a `send`. Of the frames received before the next send, the reply is
//   the one that echoes the send's correlation id (`id`, `ref`, `requestId`…), else the first;
//   it becomes the send's `expect` (a request/response pair: latency{name}). While that expect
//   waits it skips other frames, so frames recorded before the reply are listed as comments
//   (awaiting them first would turn a reordering into a timeout); frames after it become lone
//   `expect`s (wait{name});
// - gaps of 50 ms or more before a send become `think` (timing: keep).
// JSON frames are matched on their stable keys only (see volatile.ts). A volatile string the
// server sent and the client later sent back is captured (`capture: {sid: $.sessionId}`) and
// the send uses `${sid}`. Credentials (Authorization, Cookie, secret-looking headers, query
// parameters and JSON keys) become `${env.NAME}` and never appear in the output, not even in
// comments, which is why comments describe frames by index, time and size, never by content.

import { VolleyError } from '../errors.js';
import type { ObservedFlow, ObservedFrame } from './flows.js';
import {
  CORRELATION_KEYS,
  DISCRIMINATOR_KEYS,
  VOLATILE_TOKEN_PATTERNS,
  envNameFor,
  isSecretHeader,
  isSecretKey,
  isVolatile,
  looksLikeCredential,
} from './volatile.js';
import { YamlLines } from './yaml-out.js';

export interface GenerateOptions {
  timing: 'keep' | 'none';
  name?: string;
  /** How the recording was made, for the header comment: "volley import chat.har". */
  origin: string;
}

export interface GeneratedScenario {
  yaml: string;
  /** Environment variables the scenario reads (`${env.NAME}`): the user must set them. */
  envVars: string[];
  warnings: string[];
}

/** Gaps shorter than this are the app's own processing, not a person or a timer: dropped. */
export const MIN_THINK_MS = 50;
const DEFAULT_EXPECT_TIMEOUT_MS = 10_000;
const MAX_MATCHED_STRING_CHARS = 200;
const MAX_TEXT_MATCH_CHARS = 500;

// Headers that belong to the handshake or the browser, not to the application.
const DROPPED_HEADERS = new Set([
  'host', 'connection', 'upgrade', 'sec-websocket-key', 'sec-websocket-version',
  'sec-websocket-extensions', 'sec-websocket-protocol', 'sec-websocket-accept', 'accept',
  'accept-encoding', 'accept-language', 'cache-control', 'pragma', 'user-agent', 'content-length',
  'referer', 'dnt', 'upgrade-insecure-requests', 'proxy-authorization', 'proxy-connection',
  'keep-alive', 'te', 'trailer', 'transfer-encoding', 'priority',
]);
const DROPPED_HEADER_PREFIXES = ['sec-ch-', 'sec-fetch-', 'x-forwarded-', 'x-real-ip'];
const RESERVED_VARS = new Set(['vu', 'iter', 'seq', 'uuid', 'now', 'env', 'data']);

export function generateScenario(flows: ObservedFlow[], opts: GenerateOptions): GeneratedScenario {
  if (flows.length === 0) throw new VolleyError('INVALID_INPUT', 'no WebSocket connection was recorded, so there is nothing to replay');
  const mainIndex = Math.max(0, flows.findIndex((f) => f.frames.length > 0));
  const warnings: string[] = [];
  for (const f of flows) warnings.push(...(f.notes ?? []));

  const main = new FlowWriter(flows[mainIndex]!, opts, true).write();
  warnings.push(...main.warnings);
  const out = new YamlLines();
  for (const line of main.lines) out.raw(line);

  const others = flows.filter((_, i) => i !== mainIndex);
  if (others.length > 0) {
    warnings.push(
      `${flows.length} WebSocket connections recorded; the scenario replays ${flows[mainIndex]!.source}, ` +
        `the other ${others.length} follow it as commented-out scenarios (or pick one with --url-filter)`,
    );
  }
  for (const flow of others) {
    const alt = new FlowWriter(flow, opts, false).write();
    out.blank();
    out.comment(0, '-'.repeat(94));
    out.comment(0, `Another connection in this recording: ${flow.source}.`);
    out.comment(0, 'To replay it, move the block below to its own file and uncomment it; a scenario has one');
    out.comment(0, 'list of steps, and replaying both in one file would need two kinds of sessions.');
    for (const line of alt.lines) out.raw(line === '' ? '#' : line.startsWith('#') ? `#${line}` : `# ${line}`);
  }
  return { yaml: out.text(), envVars: main.envVars, warnings };
}

// ---------------------------------------------------------------------------------------------

interface FrameView {
  frame: ObservedFrame;
  /** Parsed JSON when the frame is text holding an object or array. */
  json: unknown;
  isJson: boolean;
}

interface Window {
  send: FrameView | undefined; // undefined: frames received before the first send
  received: FrameView[];
  replyIndex: number; // index in `received` of the send's reply; -1 when none
}

interface WrittenFlow {
  lines: readonly string[];
  envVars: string[];
  warnings: string[];
}

const DROP = Symbol('drop');
type Dropped = typeof DROP;

class FlowWriter {
  private readonly flow: ObservedFlow;
  private readonly opts: GenerateOptions;
  private readonly isMain: boolean;
  private readonly warnings: string[] = [];
  private readonly envVars = new Set<string>();
  private readonly envByKey = new Map<string, string>(); // "header:cookie" -> COOKIE
  /** Volatile strings received so far -> where they were (for captures). */
  private readonly candidates = new Map<string, { view: FrameView; path: (string | number)[]; key: string }>();
  /** Captured value -> variable name, in effect after its frame. */
  private readonly varsByValue = new Map<string, string>();
  private readonly usedVarNames = new Set<string>();
  /** Frame index -> captures taken from that frame (var -> JSON path). */
  private readonly capturesByFrame = new Map<number, Record<string, string>>();
  private sendCount = 0;

  constructor(flow: ObservedFlow, opts: GenerateOptions, isMain: boolean) {
    this.flow = flow;
    this.opts = opts;
    this.isMain = isMain;
  }

  write(): WrittenFlow {
    const views = this.flow.frames.map(viewOf);
    const windows = splitWindows(views);
    const payloads = this.planCorrelation(windows);
    this.fixRepliesAfterCaptures(windows);

    const y = new YamlLines();
    const { target, query } = this.targetAndQuery();
    const headers = this.headers();
    this.header(y, target, views);
    y.keyValue(0, 'name', this.opts.name ?? nameFromUrl(this.flow.url));
    y.keyValue(0, 'target', target);
    const connect: Record<string, unknown> = {};
    if (Object.keys(headers).length > 0) connect.headers = headers;
    if (this.flow.subprotocols.length > 0) connect.subprotocols = this.flow.subprotocols;
    if (Object.keys(query).length > 0) connect.query = query;
    if (Object.keys(connect).length > 0) {
      y.raw('connect:');
      for (const [k, v] of Object.entries(connect)) y.keyValue(2, k, v);
    }
    y.comment(0, 'One session, once, as recorded. To load the server: --connections N --duration 60s on the');
    y.comment(0, 'command line (each connection replays this session over and over until the duration ends).');
    y.keyValue(0, 'load', { model: 'connections', connections: 1, iterations: 1 });
    y.raw('steps:');
    const stepsBefore = y.lines().length;
    this.steps(y, windows, payloads);
    if (y.lines().length === stepsBefore) this.warnings.push(`${this.flow.source}: no frames recorded; the scenario only connects and closes`);
    y.keyValue(4, 'close', { code: 1000 }, '- ');
    return { lines: y.lines(), envVars: [...this.envVars].sort(), warnings: this.isMain ? this.warnings : [] };
  }

  // --- header and connection ------------------------------------------------------------------

  private header(y: YamlLines, target: string, views: FrameView[]): void {
    const sent = views.filter((v) => v.frame.direction === 'send').length;
    const first = this.flow.startedAtMs;
    const last = views.length > 0 ? views[views.length - 1]!.frame.timeMs : first;
    const started = Number.isFinite(first) && first > 0 ? new Date(first).toISOString() : 'unknown time';
    y.comment(0, `Generated by \`${redactUrls(this.opts.origin)}\` from ${this.flow.source}`);
    y.comment(0, `(${target}, recorded ${started}: ${plural(views.length, 'frame')}, ${sent} sent and ${views.length - sent} received, over ${seconds(last - first)}).`);
    y.comment(0, 'Each sent frame is a `send`; the frame that answered it is its `expect` (latency{name}); other');
    y.comment(0, 'received frames are lone `expect`s (wait{name}). JSON matchers keep only stable keys: ids,');
    y.comment(0, 'timestamps, tokens and counts are left out, or captured when a later send carries them.');
    if (this.opts.timing === 'keep') y.comment(0, `Pauses of ${MIN_THINK_MS} ms or more before a send are \`think\` steps (--timing none drops them).`);
    // envVars are only known after the headers and frames were read; header() runs after both.
    const env = [...this.envVars].sort();
    if (env.length > 0) {
      y.comment(0, `Credentials were replaced by environment variables; set them before running:`);
      y.comment(0, `  export ${env.map((e) => `${e}=…`).join(' ')}`);
    }
  }

  private targetAndQuery(): { target: string; query: Record<string, string> } {
    let url: URL;
    try {
      url = new URL(this.flow.url);
    } catch {
      return { target: this.flow.url, query: {} };
    }
    const query: Record<string, string> = {};
    if (url.username || url.password) {
      this.warnings.push(`${this.flow.source}: dropped user:password from the URL (put credentials in headers via env variables)`);
      url.username = '';
      url.password = '';
    }
    for (const key of [...url.searchParams.keys()]) {
      const value = url.searchParams.get(key) ?? '';
      if (isSecretKey(key) || isSecretHeader(key) || looksLikeCredential(value)) {
        query[key] = `\${env.${this.envFor(`query:${key}`, key)}}`;
        url.searchParams.delete(key);
      }
    }
    return { target: url.toString(), query };
  }

  private headers(): Record<string, string> {
    const out: Record<string, string> = {};
    for (const [name, value] of Object.entries(this.flow.requestHeaders)) {
      const lower = name.toLowerCase();
      if (DROPPED_HEADERS.has(lower) || DROPPED_HEADER_PREFIXES.some((p) => lower.startsWith(p))) continue;
      if (lower === 'authorization') {
        const scheme = /^(\w+)\s+\S/.exec(value)?.[1];
        if (scheme && /^bearer$/i.test(scheme)) out[name] = `${scheme} \${env.${this.envFor('header:authorization', 'AUTH_TOKEN')}}`;
        else if (scheme && /^basic$/i.test(scheme)) out[name] = `${scheme} \${env.${this.envFor('header:authorization', 'BASIC_AUTH')}}`;
        else out[name] = `\${env.${this.envFor('header:authorization', 'AUTHORIZATION')}}`;
      } else if (isSecretHeader(name) || looksLikeCredential(value)) {
        out[name] = `\${env.${this.envFor(`header:${lower}`, name)}}`;
      } else {
        // Origin stays: servers check it against cross-site WebSocket hijacking and refuse others.
        out[name] = escapeTemplate(value);
      }
    }
    return out;
  }

  /** The env variable standing for one secret; the same secret always gets the same name. */
  private envFor(key: string, suggested: string): string {
    const existing = this.envByKey.get(key);
    if (existing) return existing;
    const base = envNameFor(suggested);
    let name = base;
    for (let i = 2; [...this.envByKey.values()].includes(name); i++) name = `${base}_${i}`;
    this.envByKey.set(key, name);
    this.envVars.add(name);
    return name;
  }

  // --- correlation ----------------------------------------------------------------------------

  /** Walks frames in order: registers volatile received strings, and rewrites each send so values
   *  it got from the server become `${var}` and credentials become `${env.NAME}`. */
  private planCorrelation(windows: Window[]): Map<FrameView, unknown> {
    const payloads = new Map<FrameView, unknown>();
    for (const w of windows) {
      if (w.send) payloads.set(w.send, this.sendPayload(w.send));
      for (const r of w.received) this.registerCandidates(r);
    }
    return payloads;
  }

  private registerCandidates(view: FrameView): void {
    if (!view.isJson) return;
    walkStrings(view.json, [], (path, key, value) => {
      // Short values ("ok", "en") are too likely to recur by chance to be a correlation.
      if (value.length < 6 || this.candidates.has(value)) return;
      if (isVolatile(key, value) || isSecretKey(key ?? '')) this.candidates.set(value, { view, path, key: key ?? 'value' });
    });
  }

  /** The variable holding `value`, capturing it from the frame that brought it (first use). */
  private varFor(value: string): string | undefined {
    const known = this.varsByValue.get(value);
    if (known) return known;
    const c = this.candidates.get(value);
    if (!c) return undefined;
    let base = c.key.replace(/[^A-Za-z0-9_-]+/g, '_').replace(/^[^A-Za-z_]+/, '');
    if (!base || RESERVED_VARS.has(base)) base = `v_${base || 'value'}`;
    let name = base;
    for (let i = 2; this.usedVarNames.has(name); i++) name = `${base}${i}`;
    this.usedVarNames.add(name);
    this.varsByValue.set(value, name);
    const caps = this.capturesByFrame.get(c.view.frame.index) ?? {};
    caps[name] = jsonPath(c.path);
    this.capturesByFrame.set(c.view.frame.index, caps);
    return name;
  }

  private sendPayload(view: FrameView): unknown {
    const f = view.frame;
    if (f.opcode === 2) return { binary: f.data };
    if (view.isJson) return { json: this.sentJson(view.json, undefined) };
    return this.sentText(f.data);
  }

  private sentJson(value: unknown, key: string | undefined): unknown {
    if (typeof value === 'string') {
      const v = this.varFor(value);
      if (v) return `\${${v}}`;
      if ((key !== undefined && isSecretKey(key)) || looksLikeCredential(value)) {
        return `\${env.${this.envFor(`json:${key ?? value.slice(0, 8)}`, key ?? 'TOKEN')}}`;
      }
      return this.sentText(value);
    }
    if (Array.isArray(value)) return value.map((v) => this.sentJson(v, key));
    if (value !== null && typeof value === 'object') {
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(value)) out[k] = this.sentJson(v, k);
      return out;
    }
    return value;
  }

  /** Free text to a template: captured values inside it become `${var}`, a literal `${` is `$${`. */
  private sentText(text: string): string {
    const hits: { start: number; end: number; placeholder: string }[] = [];
    for (const value of this.candidates.keys()) {
      if (value.length < 8) continue;
      for (let at = text.indexOf(value); at >= 0; at = text.indexOf(value, at + value.length)) {
        const v = this.varFor(value);
        if (v) hits.push({ start: at, end: at + value.length, placeholder: `\${${v}}` });
      }
    }
    for (const m of text.matchAll(/(?:Bearer\s+)?[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}/g)) {
      hits.push({ start: m.index, end: m.index + m[0].length, placeholder: `\${env.${this.envFor(`text:${m[0]}`, 'TOKEN')}}` });
    }
    hits.sort((a, b) => a.start - b.start || b.end - a.end);
    let out = '';
    let pos = 0;
    for (const h of hits) {
      if (h.start < pos) continue; // overlapping hit: the earlier, longer one won
      out += escapeTemplate(text.slice(pos, h.start)) + h.placeholder;
      pos = h.end;
    }
    return out + escapeTemplate(text.slice(pos));
  }

  /** A frame whose value a later send needs must be awaited, so it cannot be one of the frames
   *  skipped while waiting for a reply: in that window, await every frame in recorded order. */
  private fixRepliesAfterCaptures(windows: Window[]): void {
    for (const w of windows) {
      for (let i = 0; i < w.replyIndex; i++) {
        if (this.capturesByFrame.has(w.received[i]!.frame.index)) {
          this.warnings.push(
            `${this.flow.source}: frame ${w.received[i]!.frame.index} carries a value used later but came before ` +
              `the reply to frame ${w.send?.frame.index}; its frames are awaited in recorded order`,
          );
          w.replyIndex = 0;
          break;
        }
      }
    }
  }

  // --- steps ------------------------------------------------------------------------------------

  private steps(y: YamlLines, windows: Window[], payloads: Map<FrameView, unknown>): void {
    let lastTimeMs = this.flow.startedAtMs;
    // varsByValue now holds every capture; matchers may only use those captured earlier.
    const captureTime = new Map<string, number>();
    for (const [value, name] of this.varsByValue) {
      const c = this.candidates.get(value);
      if (c) captureTime.set(name, c.view.frame.timeMs);
    }
    const usable = (atMs: number): Map<string, string> => {
      const m = new Map<string, string>();
      for (const [value, name] of this.varsByValue) if ((captureTime.get(name) ?? Infinity) < atMs) m.set(value, name);
      return m;
    };

    for (const w of windows) {
      if (w.send) {
        const s = w.send;
        const gapMs = s.frame.timeMs - lastTimeMs;
        if (this.opts.timing === 'keep' && gapMs >= MIN_THINK_MS) y.keyValue(4, 'think', `${Math.round(gapMs)}ms`, '- ');
        const reply = w.replyIndex >= 0 ? w.received[w.replyIndex] : undefined;
        y.comment(2, this.describe(s) + (reply ? `; answered by frame ${reply.frame.index} (${seconds(reply.frame.timeMs - s.frame.timeMs)} later)` : ''));
        y.keyValue(4, 'send', payloads.get(s), '- ');
        if (reply) y.keyValue(4, 'expect', this.expectSpec(reply, s, reply.frame.timeMs - s.frame.timeMs, usable(reply.frame.timeMs)));
        y.keyValue(4, 'name', this.stepName(s));
        lastTimeMs = s.frame.timeMs;
        for (let i = 0; i < w.replyIndex; i++) {
          const skipped = w.received[i]!;
          y.comment(4, `${this.describe(skipped)}: came before the reply, so the expect above skips it. To require it, make it a`);
          y.comment(4, `step before this one (if it always comes first):`);
          y.comment(4, `  - expect: ${flowLine(this.expectSpec(skipped, s, 0, usable(skipped.frame.timeMs)))}`);
        }
        if (reply) lastTimeMs = reply.frame.timeMs;
      }
      for (let i = w.replyIndex + 1; i < w.received.length; i++) {
        const r = w.received[i]!;
        y.comment(2, this.describe(r));
        y.keyValue(4, 'expect', this.expectSpec(r, w.send, r.frame.timeMs - lastTimeMs, usable(r.frame.timeMs)), '- ');
        const name = discriminator(r);
        if (name) y.keyValue(4, 'name', name);
        lastTimeMs = r.frame.timeMs;
      }
    }
  }

  private describe(v: FrameView): string {
    const f = v.frame;
    const kind = f.opcode === 2 ? 'binary' : v.isJson ? 'JSON' : 'text';
    const bytes = f.opcode === 2 ? Buffer.from(f.data, 'base64').length : Buffer.byteLength(f.data);
    return `frame ${f.index} at +${seconds(f.timeMs - this.flow.startedAtMs)}: ${f.direction === 'send' ? 'sent' : 'received'} ${kind}, ${bytes} B`;
  }

  private stepName(send: FrameView): string {
    this.sendCount++;
    return discriminator(send) ?? `send-${this.sendCount}`;
  }

  private expectSpec(view: FrameView, send: FrameView | undefined, waitedMs: number, vars: Map<string, string>): Record<string, unknown> {
    const spec: Record<string, unknown> = this.matcher(view, send, vars);
    const caps = this.capturesByFrame.get(view.frame.index);
    // A recorded wait near the default timeout would time out on a slightly slower run.
    if (waitedMs > DEFAULT_EXPECT_TIMEOUT_MS / 2) spec.timeout = `${Math.ceil((waitedMs * 2) / 1000)}s`;
    if (caps) spec.capture = caps;
    return spec;
  }

  private matcher(view: FrameView, send: FrameView | undefined, vars: Map<string, string>): Record<string, unknown> {
    const f = view.frame;
    if (f.opcode === 2) return { binary: f.data };
    if (view.isJson && isPlainObject(view.json)) {
      const sentJson = send?.isJson && isPlainObject(send.json) ? send.json : undefined;
      const subset = matchObject(view.json, sentJson, vars, true);
      return { json: subset === DROP ? {} : subset };
    }
    return textMatcher(f.data, vars);
  }
}

// --- pure helpers ---------------------------------------------------------------------------------

function viewOf(frame: ObservedFrame): FrameView {
  if (frame.opcode === 1) {
    const t = frame.data.trimStart();
    if (t.startsWith('{') || t.startsWith('[')) {
      try {
        return { frame, json: JSON.parse(frame.data) as unknown, isJson: true };
      } catch {
        // not JSON after all: matched as text
      }
    }
  }
  return { frame, json: undefined, isJson: false };
}

function splitWindows(views: FrameView[]): Window[] {
  const windows: Window[] = [];
  let current: Window = { send: undefined, received: [], replyIndex: -1 };
  for (const v of views) {
    if (v.frame.direction === 'send') {
      if (current.send || current.received.length > 0) windows.push(current);
      current = { send: v, received: [], replyIndex: -1 };
    } else {
      current.received.push(v);
    }
  }
  if (current.send || current.received.length > 0) windows.push(current);
  for (const w of windows) if (w.send) w.replyIndex = replyIndex(w.send, w.received);
  return windows;
}

/** The received frame that answers `send`: the one echoing its correlation id, else the first. */
function replyIndex(send: FrameView, received: FrameView[]): number {
  if (received.length === 0) return -1;
  if (send.isJson && isPlainObject(send.json)) {
    const sent = send.json;
    for (const key of Object.keys(sent)) {
      const id = sent[key];
      if (!CORRELATION_KEYS.has(key) || (typeof id !== 'string' && typeof id !== 'number')) continue;
      const at = received.findIndex((r) => isPlainObject(r.json) && r.json[key] === id);
      if (at >= 0) return at;
    }
  }
  return 0;
}

function matchObject(
  obj: Record<string, unknown>,
  sent: Record<string, unknown> | undefined,
  vars: Map<string, string>,
  top: boolean,
): Record<string, unknown> | Dropped {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(obj)) {
    const m = matchValue(key, value, top ? sent : undefined, vars);
    if (m !== DROP) out[key] = m;
  }
  return Object.keys(out).length > 0 || top ? out : DROP;
}

function matchValue(key: string, value: unknown, sent: Record<string, unknown> | undefined, vars: Map<string, string>): unknown {
  // The reply echoes the request's correlation id: keeping it makes the expect wait for *this* reply.
  if (sent && CORRELATION_KEYS.has(key) && sent[key] === value && (typeof value === 'string' || typeof value === 'number')) {
    return typeof value === 'string' ? escapeTemplate(value) : value;
  }
  if (typeof value === 'string') {
    const v = vars.get(value);
    if (v) return `\${${v}}`;
    if (isVolatile(key, value) || isSecretKey(key) || looksLikeCredential(value) || value.length > MAX_MATCHED_STRING_CHARS) return DROP;
    return escapeTemplate(value);
  }
  // Numbers are counts, prices, positions: they change between runs unless the client chose them.
  if (typeof value === 'number') return sent && sent[key] === value && !isVolatile(key, value) ? value : DROP;
  if (typeof value === 'boolean' || value === null) return value;
  if (Array.isArray(value)) {
    const stable = value.length <= 10 && value.every((e) => e === null || typeof e === 'boolean' || (typeof e === 'string' && !isVolatile(undefined, e) && e.length <= MAX_MATCHED_STRING_CHARS));
    return stable ? value.map((e) => (typeof e === 'string' ? escapeTemplate(e) : e)) : DROP;
  }
  if (isPlainObject(value)) return matchObject(value, undefined, vars, false);
  return DROP;
}

/** Exact `text` when nothing in it varies; else an anchored `match` with volatile tokens as patterns. */
function textMatcher(text: string, vars: Map<string, string>): Record<string, unknown> {
  const hits: { start: number; end: number; pattern: string }[] = [];
  for (const [value, name] of vars) {
    for (let at = text.indexOf(value); at >= 0; at = text.indexOf(value, at + value.length)) {
      hits.push({ start: at, end: at + value.length, pattern: `\${${name}}` });
    }
  }
  for (const { re, pattern } of VOLATILE_TOKEN_PATTERNS) {
    for (const m of text.matchAll(re)) hits.push({ start: m.index, end: m.index + m[0].length, pattern });
  }
  const tooLong = text.length > MAX_TEXT_MATCH_CHARS;
  if (hits.length === 0 && !tooLong) return { text: escapeTemplate(text) };
  hits.sort((a, b) => a.start - b.start || b.end - a.end);
  const limit = tooLong ? MAX_MATCHED_STRING_CHARS : text.length;
  let source = '^';
  let pos = 0;
  for (const h of hits) {
    if (h.start < pos || h.start >= limit) continue;
    source += regexLiteral(text.slice(pos, h.start)) + h.pattern;
    pos = h.end;
  }
  source += regexLiteral(text.slice(pos, Math.max(pos, limit)));
  return { match: tooLong ? source : `${source}$` };
}

/** Regex-escapes literal text; `$` becomes `[$]` so the result never contains a template's `${`. */
function regexLiteral(text: string): string {
  return text.replace(/[.*+?^{}()|[\]\\/]/g, '\\$&').replace(/\$/g, '[$]');
}

/** A literal `${` in recorded text would read as a placeholder: `$${` is the template escape. */
export function escapeTemplate(text: string): string {
  return text.replace(/\$\{/g, () => '$${');
}

function discriminator(view: FrameView): string | undefined {
  if (!isPlainObject(view.json)) return undefined;
  for (const key of DISCRIMINATOR_KEYS) {
    const v = view.json[key];
    if (typeof v === 'string' && v.length > 0 && !isVolatile(key, v)) {
      const name = v.replace(/[^A-Za-z0-9_.-]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 40);
      if (name) return name;
    }
  }
  return undefined;
}

function walkStrings(value: unknown, path: (string | number)[], visit: (path: (string | number)[], key: string | undefined, value: string) => void): void {
  if (typeof value === 'string') {
    const last = path[path.length - 1];
    visit(path, typeof last === 'string' ? last : undefined, value);
  } else if (Array.isArray(value)) {
    value.forEach((v, i) => walkStrings(v, [...path, i], visit));
  } else if (isPlainObject(value)) {
    for (const [k, v] of Object.entries(value)) walkStrings(v, [...path, k], visit);
  }
}

/** ["a", 0, "x y"] -> `$.a[0]["x y"]` (the syntax scenario/jsonpath.ts reads). */
function jsonPath(path: (string | number)[]): string {
  let out = '$';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(seg)) out += `.${seg}`;
    else out += `[${JSON.stringify(seg)}]`;
  }
  return out;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function nameFromUrl(url: string): string {
  try {
    const u = new URL(url);
    const segment = u.pathname.split('/').filter(Boolean).pop();
    const raw = segment ?? u.hostname;
    return raw.replace(/[^A-Za-z0-9_-]+/g, '-').replace(/^-+|-+$/g, '') || 'recorded';
  } catch {
    return 'recorded';
  }
}

/** Credentials in URLs inside free text (an origin like "recording of wss://h/?token=…") become REDACTED. */
function redactUrls(text: string): string {
  return text.replace(/\b(?:wss?|https?):\/\/\S+/gi, (raw) => {
    try {
      const url = new URL(raw);
      if (url.username || url.password) {
        url.username = '';
        url.password = '';
      }
      for (const [key, value] of [...url.searchParams]) {
        if (isSecretKey(key) || isSecretHeader(key) || looksLikeCredential(value)) url.searchParams.set(key, 'REDACTED');
      }
      return url.toString();
    } catch {
      return raw;
    }
  });
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

function seconds(ms: number): string {
  return `${(Math.max(0, ms) / 1000).toFixed(3)}s`;
}

function flowLine(value: unknown): string {
  const y = new YamlLines();
  y.keyValue(0, 'x', value);
  // keyValue may use block style for long values; a comment needs one line.
  return y.lines().length === 1 ? y.lines()[0]!.slice(3) : JSON.stringify(value);
}
