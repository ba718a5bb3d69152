// Runtime matching for expects, autoReply rules and captures. Pure and on the hot path: a
// matcher is prepared (templates rendered) once per expect, then tested against each frame;
// JSON is parsed at most once per frame and only when something needs it.

import type { InboundFrame } from '../transport/types.js';
import { getAtPath } from './jsonpath.js';
import type { RenderContext } from './template.js';
import type { Capture, JsonPathSegment, JsonTemplate, Matcher } from './types.js';

export type PreparedMatcher =
  | { kind: 'any' }
  | { kind: 'text'; text: string }
  | { kind: 'match'; regex: RegExp }
  | { kind: 'json'; subset: unknown }
  | { kind: 'binary'; bytes: Uint8Array };

const ANY: PreparedMatcher = { kind: 'any' };
/** Fully static matchers are prepared once per process, not once per expect. */
const staticPrepared = new WeakMap<Matcher, PreparedMatcher>();

/** Whether a matcher renders the same for every session and moment (no template variables). */
export function isStaticMatcher(m: Matcher): boolean {
  switch (m.kind) {
    case 'text':
    case 'match':
      return m.template.isStatic;
    case 'json':
      return isStaticJson(m.subset);
    default:
      return true;
  }
}

/** Renders the matcher's templates for this session once per expect. */
export function prepareMatcher(m: Matcher, ctx: RenderContext): PreparedMatcher {
  const cached = staticPrepared.get(m);
  if (cached) return cached;
  let prepared: PreparedMatcher;
  switch (m.kind) {
    case 'any':
      return ANY;
    case 'binary':
      prepared = { kind: 'binary', bytes: m.bytes };
      break;
    case 'text':
      prepared = { kind: 'text', text: m.template.render(ctx) };
      break;
    case 'match':
      prepared = { kind: 'match', regex: safeRegExp(m.template.render(ctx), m.flags) };
      break;
    case 'json':
      prepared = { kind: 'json', subset: renderJsonTemplate(m.subset, ctx) };
      break;
  }
  if (isStaticMatcher(m)) staticPrepared.set(m, prepared);
  return prepared;
}

const NEVER = /(?!)/;

function safeRegExp(source: string, flags: string): RegExp {
  try {
    // 'g'/'y' would make test() stateful across frames.
    return new RegExp(source, flags.replace(/[gy]/g, ''));
  } catch {
    // The loader checked the static shape; substituted values are regex-escaped, so this is
    // unreachable in practice. A matcher that cannot compile matches nothing (expect_timeout).
    return NEVER;
  }
}

function isStaticJson(t: JsonTemplate): boolean {
  if (t === null || typeof t !== 'object') return true;
  if (Array.isArray(t)) return t.every(isStaticJson);
  if (t.kind === 'tstring') return t.template.isStatic;
  return t.entries.every(([, v]) => isStaticJson(v));
}

/** A JsonTemplate rendered into a plain JSON value for this session. */
export function renderJsonTemplate(t: JsonTemplate, ctx: RenderContext): unknown {
  if (t === null || typeof t !== 'object') return t;
  if (Array.isArray(t)) return t.map((v) => renderJsonTemplate(v, ctx));
  if (t.kind === 'tstring') return t.template.render(ctx);
  const out: Record<string, unknown> = {};
  for (const [k, v] of t.entries) out[k] = renderJsonTemplate(v, ctx);
  return out;
}

/**
 * Parses the frame's JSON once and caches it on the frame. A Socket.IO argument that is already
 * a value comes decoded (jsonState 1); one that is a string is parsed like a text frame (a client
 * that emits JSON.stringify(obj) is matched as over ws), and a string that is no JSON is matched
 * as the string itself.
 */
export function frameJson(frame: InboundFrame): unknown | undefined {
  const value = frame.value;
  if (value !== undefined && typeof value !== 'string') return frame.bytes === undefined ? value : undefined;
  if (frame.jsonState === 1) return frame.json;
  if (frame.jsonState === 2) return typeof frame.value === 'string' ? frame.value : undefined;
  const text = frame.text ?? binaryAsText(frame);
  if (text === undefined) {
    frame.jsonState = 2;
    return undefined;
  }
  try {
    frame.json = JSON.parse(text);
    frame.jsonState = 1;
    return frame.json;
  } catch {
    frame.jsonState = 2;
    return typeof frame.value === 'string' ? frame.value : undefined;
  }
}

// fatal: bytes that are not UTF-8 are no text; ignoreBOM: a leading BOM stays part of the text.
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * A binary frame's bytes as text, when they are valid UTF-8. Text matchers read binary frames
 * too: a `ws` server that echoes the Buffer it received (`ws.send(data)`) answers a text frame
 * with a binary one, and users expect `text: hello` to match it. Decoded once per frame, and
 * only when a text matcher looks at a binary frame.
 */
function binaryAsText(frame: InboundFrame): string | undefined {
  if (frame.utf8State === 1) return frame.utf8;
  if (frame.utf8State === 2 || frame.bytes === undefined) return undefined;
  try {
    frame.utf8 = utf8.decode(frame.bytes);
    frame.utf8State = 1;
    return frame.utf8;
  } catch {
    frame.utf8State = 2;
    return undefined;
  }
}

/** The frame's text for text and regex matching. A Socket.IO frame's `text` is its string
 *  argument or the JSON text of any other value; binary (any transport) is read as UTF-8. */
function frameText(frame: InboundFrame): string | undefined {
  return frame.text ?? binaryAsText(frame);
}

export function matchFrame(p: PreparedMatcher, frame: InboundFrame): boolean {
  switch (p.kind) {
    case 'any':
      return true;
    case 'text':
      if (frame.text !== undefined) return frame.text === p.text;
      // Binary: only bytes of the same length can be the same text; skip the decode otherwise.
      return frame.bytes !== undefined && frame.bytes.length >= p.text.length && binaryAsText(frame) === p.text;
    case 'match': {
      const text = frameText(frame);
      return text !== undefined && p.regex.test(text);
    }
    case 'json': {
      const json = frameJson(frame);
      return json !== undefined && jsonSubset(p.subset, json);
    }
    case 'binary':
      return frame.bytes !== undefined && bytesEqual(p.bytes, frame.bytes);
  }
}

/**
 * Deep subset: every key of the pattern is present and matches; arrays match element-wise with
 * equal length; a string pattern also matches a number/boolean whose String() equals it
 * (templates render to strings, `${vu}` must still match `"user": 7`).
 */
export function jsonSubset(pattern: unknown, actual: unknown): boolean {
  if (pattern === null) return actual === null;
  switch (typeof pattern) {
    case 'string':
      if (typeof actual === 'string') return actual === pattern;
      if (typeof actual === 'number' || typeof actual === 'boolean') return String(actual) === pattern;
      return false;
    case 'number':
    case 'boolean':
      return actual === pattern;
    case 'object': {
      if (actual === null || typeof actual !== 'object') return false;
      if (Array.isArray(pattern)) {
        if (!Array.isArray(actual) || actual.length !== pattern.length) return false;
        for (let i = 0; i < pattern.length; i++) if (!jsonSubset(pattern[i], actual[i])) return false;
        return true;
      }
      if (Array.isArray(actual)) return false;
      const obj = actual as Record<string, unknown>;
      for (const key in pattern) {
        if (!Object.prototype.hasOwnProperty.call(obj, key)) return false;
        if (!jsonSubset((pattern as Record<string, unknown>)[key], obj[key])) return false;
      }
      return true;
    }
    default:
      return false;
  }
}

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function captureValue(value: unknown): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return JSON.stringify(value);
}

/**
 * Stores each capture's value in `vars`. Returns an error message for the first capture that
 * found nothing (the engine counts it as errors{kind:capture_failed}), else undefined.
 */
export function applyCaptures(
  captures: Record<string, Capture>,
  frame: InboundFrame,
  vars: Map<string, string>,
): string | undefined {
  for (const name in captures) {
    const c = captures[name]!;
    if (c.kind === 'jsonPath') {
      const json = frameJson(frame);
      const value = json === undefined ? undefined : captureValue(getAtPath(json, c.path));
      if (value === undefined) {
        return json === undefined
          ? `capture ${name}: frame is not JSON, cannot read ${c.source}`
          : `capture ${name}: nothing at ${c.source}`;
      }
      vars.set(name, value);
    } else {
      const text = frameText(frame);
      const m = text === undefined ? null : c.regex.exec(text);
      const value = m?.[c.group];
      if (value === undefined) return `capture ${name}: /${c.regex.source}/ found no group ${c.group}`;
      vars.set(name, value);
    }
  }
  return undefined;
}

/** The timestamp (epoch ms) at `path` in the frame: a number or numeric string; else undefined. */
export function readLatencyFrom(path: JsonPathSegment[], frame: InboundFrame): number | undefined {
  const json = frameJson(frame);
  if (json === undefined) return undefined;
  const v = getAtPath(json, path);
  if (typeof v === 'number') return Number.isFinite(v) ? v : undefined;
  if (typeof v === 'string' && v.trim() !== '') {
    const n = Number(v);
    return Number.isFinite(n) ? n : undefined;
  }
  return undefined;
}
