// Reads a report.json back (for `volley report`, `volley compare`, merge) and checks its shape
// before anything renders it, so a wrong file fails with one line that names it, not a stack.

import { readFileSync } from 'node:fs';
import { VolleyError } from '../errors.js';
import { decodeHistogram } from '../metrics/hdr.js';
import type { ReportJson } from './types.js';

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

// Each required key with the check its value must pass; what is optional in types.ts is not here.
const REQUIRED: [key: string, check: (v: unknown) => boolean, want: string][] = [
  ['scenario', (v) => isObject(v) && typeof v['name'] === 'string', 'an object with a name'],
  ['target', (v) => typeof v === 'string', 'a string'],
  ['startedAt', (v) => typeof v === 'string', 'a string'],
  ['endedAt', (v) => typeof v === 'string', 'a string'],
  ['durationS', (v) => typeof v === 'number', 'a number'],
  ['transport', (v) => typeof v === 'string', 'a string'],
  ['environment', isObject, 'an object'],
  ['load', (v) => isObject(v) && typeof v['model'] === 'string', 'an object with a model'],
  ['metrics', isObject, 'an object'],
  ['timeseries', Array.isArray, 'an array'],
  ['thresholds', Array.isArray, 'an array'],
  ['errors', Array.isArray, 'an array'],
  ['harness', isObject, 'an object'],
];

const TREND_NUMBERS = ['count', 'min', 'mean', 'p50', 'p90', 'p95', 'p99', 'p999', 'max'];

function metricProblem(key: string, m: unknown): string | undefined {
  if (!isObject(m)) return `metric "${key}" is not an object`;
  switch (m['type']) {
    case 'trend': {
      const bad = TREND_NUMBERS.find((k) => typeof m[k] !== 'number');
      if (bad) return `metric "${key}" has no numeric ${bad}`;
      if (typeof m['hdr'] !== 'string') return `metric "${key}" has no hdr histogram`;
      // Charts, compare's curves and merge all read the histogram: a damaged one is refused here
      // (one line, exit 2) rather than silently drawn without its curve.
      try {
        decodeHistogram(m['hdr']);
      } catch (err) {
        return `metric "${key}" has an hdr histogram that does not decode (${err instanceof Error ? err.message : String(err)})`;
      }
      return undefined;
    }
    case 'counter':
      return typeof m['count'] === 'number' && typeof m['rate'] === 'number'
        ? undefined
        : `metric "${key}" needs numeric count and rate`;
    case 'gauge':
      return typeof m['value'] === 'number' ? undefined : `metric "${key}" needs a numeric value`;
    default:
      return `metric "${key}" has unknown type ${JSON.stringify(m['type'])}`;
  }
}

/** Checks parsed JSON against the format-1 shape; throws VolleyError('INVALID_INPUT') naming `file`. */
export function parseReport(data: unknown, file: string): ReportJson {
  if (!isObject(data)) throw new VolleyError('INVALID_INPUT', `${file}: not a volley report (expected a JSON object)`);
  if (data['format'] !== 1) {
    const found = data['format'] === undefined ? 'no "format" key' : `format ${JSON.stringify(data['format'])}`;
    throw new VolleyError('INVALID_INPUT', `${file}: not a volley report this version reads (${found}; expected format 1)`);
  }
  const missing = REQUIRED.filter(([key]) => !(key in data)).map(([key]) => key);
  if (missing.length > 0) {
    throw new VolleyError('INVALID_INPUT', `${file}: report is missing ${missing.map((k) => `"${k}"`).join(', ')}`);
  }
  const wrong = REQUIRED.filter(([key, check]) => !check(data[key]));
  if (wrong.length > 0) {
    const list = wrong.map(([key, , want]) => `"${key}" should be ${want}`).join('; ');
    throw new VolleyError('INVALID_INPUT', `${file}: malformed report: ${list}`);
  }
  for (const [key, m] of Object.entries(data['metrics'] as Json)) {
    const problem = metricProblem(key, m);
    if (problem) throw new VolleyError('INVALID_INPUT', `${file}: malformed report: ${problem}`);
  }
  return data as unknown as ReportJson;
}

/** Reads and checks a report.json; every failure is a one-line VolleyError('INVALID_INPUT'). */
export function readReport(file: string): ReportJson {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : (err as Error).message;
    throw new VolleyError('INVALID_INPUT', `${file}: cannot read report (${why})`);
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    const message = (err as Error).message;
    // V8 says "at position N"; a person looks for a line and a column.
    const at = /at position (\d+)/.exec(message);
    if (at) {
      const offset = Number(at[1]);
      const before = text.slice(0, offset);
      const line = before.split('\n').length;
      const col = offset - before.lastIndexOf('\n');
      throw new VolleyError('INVALID_INPUT', `${file}:${line}:${col}: not JSON (${message.replace(/ in JSON at position \d+.*$/, '')})`);
    }
    throw new VolleyError('INVALID_INPUT', `${file}: not JSON (${message})`);
  }
  return parseReport(data, file);
}
