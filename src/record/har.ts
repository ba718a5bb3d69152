// Reads a DevTools HAR export into ObservedFlows. Recognised shapes:
// - Chrome/Edge "Save all as HAR (with content)": entries with `_resourceType: "websocket"` and
//   frames under `_webSocketMessages: [{type: "send"|"receive", time: epoch s, opcode, data}]`.
// - Firefox: no `_resourceType`; the WebSocket entry is the upgrade request (status 101 and an
//   `Upgrade: websocket` request header, URL often http(s)://), frames under the same
//   `_webSocketMessages` key. Also tools that copy Chrome's shape (mitmproxy, HTTP Toolkit).
// Tolerated variants: `opCode` for `opcode`, `time` in epoch ms instead of s (detected by size),
// frames of `type: "error"` and control frames (8 close, 9 ping, 10 pong) are skipped with a note.

import { VolleyError } from '../errors.js';
import { headerValue, splitSubprotocols, type ObservedFlow, type ObservedFrame } from './flows.js';
import { redactUrls } from './volatile.js';

export interface ParseHarOptions {
  urlFilter?: RegExp;
}

const BASE64_RE = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const CONTROL_OPCODES = new Set([8, 9, 10]);
// Epoch seconds now are ~1.7e9; epoch ms ~1.7e12. Anything above 1e11 must be milliseconds.
const EPOCH_MS_THRESHOLD = 1e11;

export function parseHar(text: string, file: string, opts: ParseHarOptions = {}): ObservedFlow[] {
  const root = parseJson(text, file);
  const entries = harEntries(root);
  if (!entries) {
    throw new VolleyError(
      'INVALID_INPUT',
      `${file}: not a HAR file (expected {"log": {"entries": [...]}} as DevTools' "Save all as HAR" writes)`,
    );
  }
  const flows: ObservedFlow[] = [];
  const filteredOut: string[] = [];
  entries.forEach((entry, i) => {
    if (!isRecord(entry) || !isWebSocketEntry(entry)) return;
    const where = `log.entries[${i}]`;
    const url = entryUrl(entry, file, where);
    if (opts.urlFilter && !opts.urlFilter.test(url)) {
      filteredOut.push(url);
      return;
    }
    flows.push(readFlow(entry, url, file, where));
  });
  if (flows.length === 0) {
    if (filteredOut.length > 0) {
      // stderr ends up in CI logs: the URLs are listed without their tokens and signatures.
      const seen = filteredOut.slice(0, 3).map(redactUrls).join(', ') + (filteredOut.length > 3 ? ', …' : '');
      throw new VolleyError(
        'INVALID_INPUT',
        `${file}: no WebSocket entries match --url-filter ${String(opts.urlFilter)} (found ${seen})`,
      );
    }
    throw new VolleyError('INVALID_INPUT', `${file}: no WebSocket entries in ${baseName(file)}`);
  }
  return flows;
}

function parseJson(text: string, file: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    // A binary file (an image, a zip saved as .har): V8's message would quote its raw bytes.
    if (looksBinary(text)) throw new VolleyError('INVALID_INPUT', `${file}: binary data, not JSON, so not a HAR file`);
    const message = printable(err instanceof Error ? err.message : String(err));
    const scan = scanBrackets(text);
    const end = scan.truncatedAt;
    // Truncated only when the parser ran off the end; a syntax error inside the file is not.
    const pos = /at position (\d+)/.exec(message);
    const atEnd = /end of JSON input/i.test(message) || (pos !== null && Number(pos[1]) >= text.trimEnd().length);
    if (end !== undefined && atEnd) {
      const { line, col } = lineCol(text, end);
      throw new VolleyError(
        'INVALID_INPUT',
        `${file}:${line}:${col}: truncated HAR: the JSON ends before it is complete (was the export or download interrupted?)`,
      );
    }
    // Node's message has no position for some errors (`Unexpected token '}'`); a wrong closing
    // bracket is found by the scan.
    const offset = pos ? Number(pos[1]) : scan.mismatchAt;
    const where = offset !== undefined ? (() => { const lc = lineCol(text, offset); return `:${lc.line}:${lc.col}`; })() : '';
    throw new VolleyError('INVALID_INPUT', `${file}${where}: not JSON, so not a HAR file (${shorten(message, 100)})`);
  }
}

/** truncatedAt: offset of the end when `text` is a JSON prefix cut short (open strings or
 *  brackets); mismatchAt: offset of a closing bracket of the wrong kind (`[}`). */
function scanBrackets(text: string): { truncatedAt?: number; mismatchAt?: number } {
  const open: number[] = []; // closing bracket expected for each open one
  let inString = false;
  let sawBracket = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // backslash: skip the escaped char
      else if (c === 0x22) inString = false;
      continue;
    }
    if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      open.push(c === 0x7b ? 0x7d : 0x5d);
      sawBracket = true;
    } else if (c === 0x7d || c === 0x5d) {
      // A bracket closed by the wrong kind (`[}`) is a syntax error, not a cut-off file.
      if (open.pop() !== c) return { mismatchAt: i };
    }
  }
  if (!sawBracket) return {};
  return open.length > 0 || inString ? { truncatedAt: text.trimEnd().length } : {};
}

function lineCol(text: string, offset: number): { line: number; col: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < offset && i < text.length; i++) {
    if (text.charCodeAt(i) === 0x0a) {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, col: offset - lineStart + 1 };
}

function harEntries(root: unknown): unknown[] | undefined {
  if (!isRecord(root) || !isRecord(root.log)) return undefined;
  return Array.isArray(root.log.entries) ? root.log.entries : undefined;
}

function isWebSocketEntry(entry: Record<string, unknown>): boolean {
  if (typeof entry._resourceType === 'string') return entry._resourceType.toLowerCase() === 'websocket';
  // Firefox writes no _resourceType: recognise the upgrade itself.
  if (Array.isArray(entry._webSocketMessages)) return true;
  const request = isRecord(entry.request) ? entry.request : undefined;
  if (!request) return false;
  if (typeof request.url === 'string' && /^wss?:/i.test(request.url)) return true;
  const upgrade = headerValue(headerRecord(request.headers), 'upgrade');
  const response = isRecord(entry.response) ? entry.response : undefined;
  return upgrade?.toLowerCase() === 'websocket' && (!response || response.status === 101);
}

function entryUrl(entry: Record<string, unknown>, file: string, where: string): string {
  const request = isRecord(entry.request) ? entry.request : undefined;
  const raw = request && typeof request.url === 'string' ? request.url : undefined;
  if (!raw) throw new VolleyError('INVALID_INPUT', `${file}: ${where}: WebSocket entry without request.url`);
  // Firefox records the upgrade as http(s); the scenario's target must be ws(s).
  return raw.replace(/^http(s?):/i, (_m, s: string) => `ws${s.toLowerCase()}:`);
}

function readFlow(entry: Record<string, unknown>, url: string, file: string, where: string): ObservedFlow {
  const request = entry.request as Record<string, unknown>;
  const requestHeaders = headerRecord(request.headers);
  const notes: string[] = [];
  const frames: ObservedFrame[] = [];
  const messages = entry._webSocketMessages;
  if (messages !== undefined && !Array.isArray(messages)) {
    throw new VolleyError('INVALID_INPUT', `${file}: ${where}._webSocketMessages is not a list`);
  }
  let controlFrames = 0;
  let errorFrames = 0;
  (messages ?? []).forEach((m: unknown, index: number) => {
    const at = `${where}._webSocketMessages[${index}]`;
    if (!isRecord(m)) throw new VolleyError('INVALID_INPUT', `${file}: ${at}: not an object`);
    if (m.type === 'error') {
      errorFrames++;
      return;
    }
    if (m.type !== 'send' && m.type !== 'receive') {
      throw new VolleyError('INVALID_INPUT', `${file}: ${at}: type is ${JSON.stringify(m.type)}, expected "send" or "receive"`);
    }
    const opcode = m.opcode ?? m.opCode;
    if (typeof opcode === 'number' && CONTROL_OPCODES.has(opcode)) {
      controlFrames++;
      return;
    }
    if (opcode !== 1 && opcode !== 2) {
      throw new VolleyError(
        'INVALID_INPUT',
        `${file}: ${at}: unknown opcode ${JSON.stringify(opcode)} (expected 1 text or 2 binary)`,
      );
    }
    if (typeof m.time !== 'number' || !Number.isFinite(m.time)) {
      throw new VolleyError('INVALID_INPUT', `${file}: ${at}: time is not a number`);
    }
    const data = m.data ?? '';
    if (typeof data !== 'string') throw new VolleyError('INVALID_INPUT', `${file}: ${at}: data is not a string`);
    // The scenario's `binary:` must be base64; checked here so the error names the frame.
    if (opcode === 2 && !BASE64_RE.test(data.replace(/\s+/g, ''))) {
      throw new VolleyError('INVALID_INPUT', `${file}: ${at}: binary frame data is not base64`);
    }
    const timeMs = m.time > EPOCH_MS_THRESHOLD ? m.time : m.time * 1000;
    frames.push({ direction: m.type, timeMs, opcode, data, index });
  });
  if (controlFrames > 0) notes.push(`${where}: skipped ${controlFrames} control frame(s) (close/ping/pong)`);
  if (errorFrames > 0) notes.push(`${where}: skipped ${errorFrames} frame error(s) DevTools recorded`);
  const started = typeof entry.startedDateTime === 'string' ? Date.parse(entry.startedDateTime) : NaN;
  const startedAtMs = Number.isFinite(started) ? started : (frames[0]?.timeMs ?? 0);
  return {
    url,
    requestHeaders,
    subprotocols: splitSubprotocols(headerValue(requestHeaders, 'sec-websocket-protocol')),
    startedAtMs,
    frames,
    source: `${where} in ${baseName(file)}`,
    notes,
  };
}

/** HAR headers are [{name, value}]; later duplicates (rare) are joined as HTTP would. */
function headerRecord(headers: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (!Array.isArray(headers)) return out;
  for (const h of headers) {
    if (!isRecord(h) || typeof h.name !== 'string' || typeof h.value !== 'string') continue;
    if (h.name.startsWith(':')) continue; // HTTP/2 pseudo-headers are not request headers
    const existing = Object.keys(out).find((k) => k.toLowerCase() === (h.name as string).toLowerCase());
    if (existing === undefined) out[h.name] = h.value;
    else out[existing] = `${out[existing]}${existing.toLowerCase() === 'cookie' ? '; ' : ', '}${h.value}`;
  }
  return out;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function baseName(file: string): string {
  const parts = file.split(/[\\/]/);
  return parts[parts.length - 1] || file;
}

/** Not starting like JSON, with NUL bytes or undecodable sequences (read as U+FFFD) near the
 *  start: not a text file. (A HAR may hold U+FFFD in frame data; it starts with `{`.) */
function looksBinary(text: string): boolean {
  const head = text.slice(0, 4096);
  return !/^\s*[{[]/.test(head) && /[\u0000\uFFFD]/.test(head);
}

/** Control and replacement characters in a parser message, escaped so the terminal shows text. */
function printable(s: string): string {
  return s.replace(/[\u0000-\u001f\u007f-\u009f\uFFFD]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

function shorten(s: string, max: number): string {
  return s.length > max ? `${s.slice(0, max - 1)}…` : s;
}
