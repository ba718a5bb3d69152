// `--set key=value`: overrides applied to the parsed document before validation, so their
// values get the same checks as the file's and problems point at `--set:N:1`.

import { isMap, isScalar, isSeq, parseDocument, Pair, Scalar, visit, YAMLMap } from 'yaml';
import type { Document } from 'yaml';
import type { Problem } from '../errors.js';
import type { SetOrigin } from './reader.js';


/** Applies each `key=value`; returns problems for malformed arguments or impossible paths. */
export function applySets(doc: Document, sets: readonly string[], origins: WeakMap<object, SetOrigin>): Problem[] {
  const problems: Problem[] = [];
  sets.forEach((arg, index) => {
    const at = (message: string): void => {
      problems.push({ file: '--set', pos: { line: index + 1, col: 1 }, message, sourceLine: arg });
    };
    const eq = arg.indexOf('=');
    const key = eq < 0 ? '' : arg.slice(0, eq).trim();
    const segments = splitKey(key);
    if (eq <= 0 || !segments) {
      return at(`expected key=value with a dotted key (load.connections=50, steps.0.name=x), got "${arg}"`);
    }
    const valueText = arg.slice(eq + 1);
    const valueDoc = parseDocument(valueText, { prettyErrors: false });
    if (valueDoc.errors.length > 0) return at(`${key}: value is not valid YAML: ${valueDoc.errors[0]!.message}`);
    const value = valueDoc.contents ?? new Scalar(null);
    const mark = (n: object): void => void origins.set(n, { index, arg });
    mark(value);
    visit(value, (_k, n) => {
      if (n && typeof n === 'object') mark(n);
    });
    if (!isMap(doc.contents)) {
      const root = new YAMLMap();
      mark(root);
      doc.contents = root;
    }
    let cur: unknown = doc.contents;
    for (let i = 0; i < segments.length; i++) {
      const seg = segments[i]!;
      const last = i === segments.length - 1;
      const prefix = segments.slice(0, i).join('.') || '(top)';
      if (isSeq(cur)) {
        if (!/^\d+$/.test(seg)) return at(`${key}: ${prefix} is a list; use an index like ${prefix}.0`);
        const idx = Number(seg);
        if (idx > cur.items.length) return at(`${key}: ${prefix} has ${cur.items.length} item(s); index ${idx} is past the end`);
        if (last) {
          if (idx === cur.items.length) cur.items.push(value);
          else cur.items[idx] = value;
          return;
        }
        if (idx === cur.items.length) {
          const m = new YAMLMap();
          mark(m);
          cur.items.push(m);
        }
        cur = cur.items[idx];
      } else if (isMap(cur)) {
        const pair = cur.items.find((p) => (isScalar(p.key) ? String(p.key.value) : String(p.key)) === seg);
        if (last) {
          if (pair) pair.value = value;
          else {
            const k = new Scalar(seg);
            mark(k);
            cur.items.push(new Pair(k, value));
          }
          return;
        }
        if (pair && (isMap(pair.value) || isSeq(pair.value))) cur = pair.value;
        else if (pair && pair.value !== null && !(isScalar(pair.value) && pair.value.value === null)) {
          return at(`${key}: ${segments.slice(0, i + 1).join('.')} is not a map or list`);
        } else {
          const m = new YAMLMap();
          mark(m);
          if (pair) pair.value = m;
          else {
            const k = new Scalar(seg);
            mark(k);
            cur.items.push(new Pair(k, m));
          }
          cur = m;
        }
      } else {
        return at(`${key}: ${prefix} is not a map or list`);
      }
    }
  });
  return problems;
}

/** `a.b.0.latency{name:x.y}` -> segments; dots inside {…} belong to the segment. */
function splitKey(key: string): string[] | undefined {
  const out: string[] = [];
  let cur = '';
  let depth = 0;
  for (const ch of key) {
    if (ch === '{') depth++;
    else if (ch === '}') depth--;
    if (depth < 0) return undefined;
    if (ch === '.' && depth === 0) {
      out.push(cur);
      cur = '';
    } else cur += ch;
  }
  out.push(cur);
  return depth === 0 && out.every((s) => s.trim() !== '' && s === s.trim()) ? out : undefined;
}
