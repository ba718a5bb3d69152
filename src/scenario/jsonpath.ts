// A small JSON path subset for captures and latencyFrom: `$`, `.name`, `[0]`, `["any key"]`,
// `['any key']`. Parsed once at load into segments; reading walks plain objects/arrays.

import type { JsonPathSegment } from './types.js';

const NAME_RE = /[^.[\]\s"']+/y;

/** `$.a.b[0]["x y"]` -> ["a", "b", 0, "x y"]; undefined when the path is malformed. */
export function parseJsonPath(text: string): JsonPathSegment[] | undefined {
  const s = text.trim();
  if (!s.startsWith('$')) return undefined;
  const segments: JsonPathSegment[] = [];
  let i = 1;
  while (i < s.length) {
    const c = s[i];
    if (c === '.') {
      NAME_RE.lastIndex = i + 1;
      const m = NAME_RE.exec(s);
      if (!m) return undefined;
      segments.push(m[0]); // a numeric name still indexes arrays (getAtPath)
      i = NAME_RE.lastIndex;
    } else if (c === '[') {
      const close = readBracket(s, i + 1);
      if (!close) return undefined;
      segments.push(close.segment);
      i = close.next;
    } else {
      return undefined;
    }
  }
  return segments;
}

function readBracket(s: string, start: number): { segment: JsonPathSegment; next: number } | undefined {
  const q = s[start];
  if (q === '"' || q === "'") {
    let out = '';
    let i = start + 1;
    while (i < s.length && s[i] !== q) {
      if (s[i] === '\\' && i + 1 < s.length) i++;
      out += s[i];
      i++;
    }
    if (s[i] !== q || s[i + 1] !== ']') return undefined;
    return { segment: out, next: i + 2 };
  }
  const end = s.indexOf(']', start);
  if (end < 0) return undefined;
  const digits = s.slice(start, end).trim();
  if (!/^\d+$/.test(digits)) return undefined;
  return { segment: Number(digits), next: end + 1 };
}

/** The value at `path` inside `value`, or undefined when any segment is missing. */
export function getAtPath(value: unknown, path: readonly JsonPathSegment[]): unknown {
  let cur: unknown = value;
  for (let i = 0; i < path.length; i++) {
    if (cur === null || typeof cur !== 'object') return undefined;
    const seg = path[i]!;
    if (Array.isArray(cur)) {
      const idx = typeof seg === 'number' ? seg : /^\d+$/.test(seg) ? Number(seg) : -1;
      if (idx < 0 || idx >= cur.length) return undefined;
      cur = cur[idx];
    } else {
      const key = String(seg);
      if (!Object.prototype.hasOwnProperty.call(cur, key)) return undefined;
      cur = (cur as Record<string, unknown>)[key];
    }
  }
  return cur;
}

/** Segments back to path text (for messages): ["a", 0, "x y"] -> `$.a[0]["x y"]`. */
export function formatJsonPath(path: readonly JsonPathSegment[]): string {
  let out = '$';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else if (/^[A-Za-z_$][\w$-]*$/.test(seg)) out += `.${seg}`;
    else out += `[${JSON.stringify(seg)}]`;
  }
  return out;
}
