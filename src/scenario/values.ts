// Builders for the value-level parts of the format: payloads, matchers, JSON templates,
// captures and expects. Each reads a YAML node, records problems with positions, and returns
// the typed value or undefined.

import { isMap, isScalar, isSeq } from 'yaml';
import type { BuildContext, RefScope } from './context.js';
import { parseJsonPath } from './jsonpath.js';
import { join, label, type MapView } from './reader.js';
import { compileTemplate, type RenderContext } from './template.js';
import type { Capture, ExpectSpec, JsonTemplate, Matcher, Payload } from './types.js';

export const DEFAULT_EXPECT_TIMEOUT_MS = 10_000;
const VAR_NAME_RE = /^[A-Za-z_][A-Za-z0-9_-]*$/;
const RESERVED_VARS = new Set(['vu', 'iter', 'seq', 'uuid', 'now', 'env', 'data']);
const BASE64_RE = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const REGEX_FLAGS_RE = /^(?!.*(.).*\1)[imsu]*$/;

/** A JSON value whose strings are templates (objects/lists from YAML, any depth). */
export function buildJsonTemplate(c: BuildContext, node: unknown, path: string, scope: RefScope): JsonTemplate | undefined {
  const n = c.r.deref(node);
  if (isMap(n)) {
    const view = c.r.map(n, path, undefined);
    if (!view) return undefined;
    const entries: [string, JsonTemplate][] = [];
    let ok = true;
    for (const [key, e] of view.entries) {
      const v = buildJsonTemplate(c, e.value, join(path, key), scope);
      if (v === undefined) ok = false;
      else entries.push([key, v]);
    }
    return ok ? { kind: 'tobject', entries } : undefined;
  }
  if (isSeq(n)) {
    const out: JsonTemplate[] = [];
    let ok = true;
    n.items.forEach((item, i) => {
      const v = buildJsonTemplate(c, item, join(path, i), scope);
      if (v === undefined) ok = false;
      else out.push(v);
    });
    return ok ? out : undefined;
  }
  const v = c.r.scalar(n);
  if (v === null || typeof v === 'boolean') return v;
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) return c.r.problem(node, `${label(path)}${v} is not a JSON number`);
    return v;
  }
  if (typeof v === 'string') {
    const template = c.templateFromText(v, node, path, scope, 'none');
    return template ? { kind: 'tstring', template } : undefined;
  }
  return c.r.problem(node, `${label(path)}expected a JSON value, got ${c.r.describe(node)}`);
}

/** The JSON text of a template tree, with string templates kept as written. */
function jsonTemplateSource(t: JsonTemplate): unknown {
  if (t === null || typeof t !== 'object') return t;
  if (Array.isArray(t)) return t.map(jsonTemplateSource);
  if (t.kind === 'tstring') return t.template.source;
  const out: Record<string, unknown> = {};
  for (const [k, v] of t.entries) out[k] = jsonTemplateSource(v);
  return out;
}

/** A JSON template as one text template whose values are escaped for JSON strings. */
export function jsonTextTemplate(t: JsonTemplate): Payload & { kind: 'json' } {
  return { kind: 'json', template: compileTemplate(JSON.stringify(jsonTemplateSource(t)), 'json') };
}

export function decodeBase64(c: BuildContext, node: unknown, path: string): Uint8Array | undefined {
  const s = c.r.string(node, path);
  if (s === undefined) return undefined;
  const compact = s.replace(/\s+/g, '');
  if (!BASE64_RE.test(compact)) return c.r.problem(node, `${label(path)}expected base64 bytes, got ${c.r.describe(node)}`);
  return new Uint8Array(Buffer.from(compact, 'base64'));
}

/** `send: "text"` or `send: {text}` | `{json}` | `{binary: base64}`. */
export function buildPayload(c: BuildContext, node: unknown, path: string, scope: RefScope): Payload | undefined {
  const n = c.r.deref(node);
  if (!isMap(n)) {
    if (isSeq(n) || c.r.isNull(n)) {
      return c.r.problem(node, `${label(path)}expected a string or one of {text}, {json}, {binary}, got ${c.r.describe(n)}`);
    }
    const template = c.template(n, path, scope);
    return template ? { kind: 'text', template } : undefined;
  }
  const view = c.r.map(n, path, 'payload');
  if (!view) return undefined;
  const kinds = [...view.entries.keys()];
  if (kinds.length !== 1) {
    return c.r.problem(n, `${label(path)}expected exactly one of text, json or binary, got ${kinds.length === 0 ? 'none' : kinds.join(' and ')}`);
  }
  const e = view.entries.get(kinds[0]!)!;
  const p = join(path, e.key);
  switch (e.key) {
    case 'text': {
      const template = c.template(e.value, p, scope);
      return template ? { kind: 'text', template } : undefined;
    }
    case 'json': {
      const t = buildJsonTemplate(c, e.value, p, scope);
      return t === undefined ? undefined : jsonTextTemplate(t);
    }
    default: {
      const bytes = decodeBase64(c, e.value, p);
      return bytes ? { kind: 'binary', bytes } : undefined;
    }
  }
}

/** A render context whose every reference renders as "x", to check a regex template's shape. */
const PROBE_CONTEXT: RenderContext = {
  vars: new (class extends Map<string, string> {
    override get(): string {
      return 'x';
    }
  })(),
  vu: 1,
  iter: 0,
  nextSeq: () => 1,
  data: new Proxy({}, { get: () => 'x' }),
  env: new Proxy({}, { get: () => 'x' }),
};

/**
 * The matcher in an expect or autoReply map: one of text, match (+flags), json, binary; none
 * means any frame. `found` is false when a problem was recorded.
 */
export function buildMatcher(c: BuildContext, view: MapView, path: string, scope: RefScope): Matcher | undefined {
  const kinds = (['text', 'match', 'json', 'binary'] as const).filter((k) => view.entries.has(k));
  const flagsEntry = view.entries.get('flags');
  if (flagsEntry && !kinds.includes('match')) c.r.problem(flagsEntry.keyNode, `${label(path)}flags applies only to a match regex`);
  if (kinds.length > 1) {
    return c.r.problem(view.entries.get(kinds[1]!)!.keyNode, `${label(path)}use one matcher, got ${kinds.join(' and ')}`);
  }
  if (kinds.length === 0) return { kind: 'any' };
  const e = view.entries.get(kinds[0]!)!;
  const p = join(path, e.key);
  switch (kinds[0]!) {
    case 'text': {
      const template = c.template(e.value, p, scope);
      return template ? { kind: 'text', template } : undefined;
    }
    case 'match': {
      let flags = '';
      if (flagsEntry) {
        const f = c.r.string(flagsEntry.value, join(path, 'flags'));
        if (f === undefined) return undefined;
        if (!REGEX_FLAGS_RE.test(f)) return c.r.problem(flagsEntry.value, `${join(path, 'flags')}: expected regex flags from i, m, s, u, got "${f}"`);
        flags = f;
      }
      const template = c.template(e.value, p, scope, 'regex');
      if (!template) return undefined;
      try {
        new RegExp(template.render(PROBE_CONTEXT), flags);
      } catch (err) {
        return c.r.problem(e.value, `${p}: invalid regex: ${(err as Error).message}`);
      }
      return { kind: 'match', template, flags };
    }
    case 'json': {
      const subset = buildJsonTemplate(c, e.value, p, scope);
      return subset === undefined ? undefined : { kind: 'json', subset };
    }
    case 'binary': {
      const bytes = decodeBase64(c, e.value, p);
      return bytes ? { kind: 'binary', bytes } : undefined;
    }
  }
}

/** Checks a variable name being defined (capture or set) and registers it. */
export function defineVariable(c: BuildContext, keyNode: unknown, name: string, path: string): boolean {
  if (!VAR_NAME_RE.test(name)) {
    c.r.problem(keyNode, `${label(path)}"${name}" is not a valid variable name (letters, digits, _ and -; not starting with a digit)`);
    return false;
  }
  if (RESERVED_VARS.has(name)) {
    c.r.problem(keyNode, `${label(path)}"${name}" is a built-in reference and cannot be captured or set`);
    return false;
  }
  return true;
}

/** `capture: {sid: $.sessionId, n: {regex: "id=(\\d+)", group: 1}}`; defines nothing (callers do, after). */
export function buildCaptures(c: BuildContext, node: unknown, path: string): { captures: Record<string, Capture>; names: [string, unknown][] } | undefined {
  const view = c.r.map(node, path, undefined);
  if (!view) return undefined;
  const captures: Record<string, Capture> = {};
  const names: [string, unknown][] = [];
  let ok = true;
  for (const [name, e] of view.entries) {
    const p = join(path, name);
    if (!defineVariable(c, e.keyNode, name, path)) {
      ok = false;
      continue;
    }
    const v = c.r.deref(e.value);
    let capture: Capture | undefined;
    if (isMap(v)) {
      const rv = c.r.map(v, p, 'regexCapture');
      if (!rv) {
        ok = false;
        continue;
      }
      capture = buildRegexCapture(c, rv, p);
    } else if (isScalar(v) && typeof v.value === 'string') {
      const path2 = parseJsonPath(v.value);
      capture = path2
        ? { kind: 'jsonPath', path: path2, source: v.value.trim() }
        : c.r.problem(v, `${p}: expected a JSON path like $.id or $.items[0].name, got "${v.value}" (for a regex use {regex: "…", group: 1})`);
    } else {
      capture = c.r.problem(e.value, `${p}: expected a JSON path ($.id) or {regex, group}, got ${c.r.describe(v)}`);
    }
    if (capture) {
      captures[name] = capture;
      names.push([name, e.keyNode]);
    } else ok = false;
  }
  return ok ? { captures, names } : undefined;
}

function buildRegexCapture(c: BuildContext, view: MapView, path: string): Capture | undefined {
  const re = view.entries.get('regex');
  if (!re) return c.r.problem(view.node, `${path}: regex capture needs regex`);
  const source = c.r.string(re.value, join(path, 'regex'), { nonEmpty: true });
  if (source === undefined) return undefined;
  let regex: RegExp;
  try {
    regex = new RegExp(source);
  } catch (err) {
    return c.r.problem(re.value, `${join(path, 'regex')}: invalid regex: ${(err as Error).message}`);
  }
  const groups = (new RegExp(`${source}|`).exec('')?.length ?? 1) - 1;
  const g = view.entries.get('group');
  const group = g ? c.r.integer(g.value, join(path, 'group'), 0) : 1;
  if (group === undefined) return undefined;
  if (group > groups) {
    return c.r.problem(g?.value ?? re.value, `${join(path, g ? 'group' : 'regex')}: /${source}/ has ${groups} capture group${groups === 1 ? '' : 's'}, cannot take group ${group}`);
  }
  return { kind: 'regex', regex, group, source };
}

/** An expect: a map (or a string, shorthand for {text}). Captures are defined after matching. */
export function buildExpect(c: BuildContext, node: unknown, path: string): ExpectSpec | undefined {
  const n = c.r.deref(node);
  if (isScalar(n) && typeof n.value === 'string') {
    const template = c.template(n, path, 'session');
    return template
      ? { matcher: { kind: 'text', template }, timeoutMs: DEFAULT_EXPECT_TIMEOUT_MS, strict: false, capture: {} }
      : undefined;
  }
  if (c.r.isNull(n)) return { matcher: { kind: 'any' }, timeoutMs: DEFAULT_EXPECT_TIMEOUT_MS, strict: false, capture: {} };
  const view = c.r.map(n, path, 'expect');
  if (!view) return undefined;
  let ok = true;
  const matcher = buildMatcher(c, view, path, 'session');
  if (!matcher) ok = false;
  const spec: ExpectSpec = { matcher: matcher ?? { kind: 'any' }, timeoutMs: DEFAULT_EXPECT_TIMEOUT_MS, strict: false, capture: {} };
  const ev = view.entries.get('event');
  if (ev) {
    const event = c.r.string(ev.value, join(path, 'event'), { nonEmpty: true });
    if (event === undefined) ok = false;
    else spec.event = event;
  }
  const t = view.entries.get('timeout');
  if (t) {
    const ms = c.r.duration(t.value, join(path, 'timeout'));
    if (ms === undefined) ok = false;
    else spec.timeoutMs = ms;
  }
  const s = view.entries.get('strict');
  if (s) {
    const strict = c.r.boolean(s.value, join(path, 'strict'));
    if (strict === undefined) ok = false;
    else spec.strict = strict;
  }
  const lf = view.entries.get('latencyFrom');
  if (lf) {
    const src = c.r.string(lf.value, join(path, 'latencyFrom'));
    const jp = src === undefined ? undefined : parseJsonPath(src);
    if (src !== undefined && !jp) c.r.problem(lf.value, `${join(path, 'latencyFrom')}: expected a JSON path like $.sentAt, got "${src}"`);
    if (!jp) ok = false;
    else spec.latencyFrom = { path: jp, source: src!.trim() };
  }
  const cap = view.entries.get('capture');
  if (cap) {
    const built = buildCaptures(c, cap.value, join(path, 'capture'));
    if (!built) ok = false;
    else {
      spec.capture = built.captures;
      for (const [name, keyNode] of built.names) c.define(name, keyNode);
    }
  }
  return ok ? spec : undefined;
}
