// Threshold expressions ("p(99) < 50ms"), in k6's three phases: parse (syntax, here), validate
// (the method suits the metric type, here), evaluate (against aggregated values, elsewhere).
//
// Grammar (whitespace allowed between tokens):
//
//   expression := method op number [unit]          (a space may separate number and unit)
//   method     := "p(" number ")" | "avg" | "min" | "max" | "med" | "count" | "rate" | "value"
//   op         := "<=" | ">=" | "==" | "!=" | "<" | ">"      (matched longest first)
//   number     := ["-"] (digits ["." digits] | "." digits) [("e" | "E") ["+" | "-"] digits]
//   unit       := "ms" | "s" | "us"                           (trend values only; converted to ms)
//
// Percentiles are 0 < N <= 100 (p(99.9) allowed).

import type { MetricType } from '../metrics/names.js';
import type { ThresholdExpression, ThresholdMethod, ThresholdOp } from '../scenario/types.js';

export type ThresholdUnit = 'ms' | 's' | 'us';

export type ThresholdParseResult =
  | { ok: true; value: ThresholdExpression; /** the unit as written, if any */ unit?: ThresholdUnit }
  | { ok: false; message: string; /** 1-based column in the expression */ col: number };

const OPS: readonly ThresholdOp[] = ['<=', '>=', '==', '!=', '<', '>'];
const NAMED_METHODS: readonly ThresholdMethod[] = ['avg', 'min', 'max', 'med', 'count', 'rate', 'value'];
const UNIT_TO_MS: Record<ThresholdUnit, number> = { ms: 1, s: 1000, us: 0.001 };
const NUMBER_RE = /-?(?:\d+(?:\.\d+)?|\.\d+)(?:[eE][-+]?\d+)?/y;
const WORD_RE = /[A-Za-z_]+/y;

class Cursor {
  i = 0;
  constructor(readonly text: string) {}
  skipSpace(): void {
    while (this.i < this.text.length && /\s/.test(this.text[this.i]!)) this.i++;
  }
  get col(): number {
    return this.i + 1;
  }
  rest(): string {
    return this.text.slice(this.i);
  }
  match(re: RegExp): string | undefined {
    re.lastIndex = this.i;
    const m = re.exec(this.text);
    if (!m) return undefined;
    this.i = re.lastIndex;
    return m[0];
  }
}

function fail(message: string, col: number): ThresholdParseResult {
  return { ok: false, message, col };
}

export function parseThresholdExpression(text: string): ThresholdParseResult {
  const c = new Cursor(text);
  c.skipSpace();
  const methodCol = c.col;
  const word = c.match(WORD_RE);
  if (word === undefined) return fail(`expected a method (p(N), avg, min, max, med, count, rate, value) in "${text}"`, methodCol);
  let method: ThresholdMethod;
  let percentile: number | undefined;
  if (word === 'p') {
    c.skipSpace();
    if (c.text[c.i] !== '(') return fail(`expected "(" after p in "${text}"`, c.col);
    c.i++;
    c.skipSpace();
    const pCol = c.col;
    const n = c.match(NUMBER_RE);
    if (n === undefined) return fail(`expected a percentile number in p(…) in "${text}"`, pCol);
    percentile = Number(n);
    if (!(percentile > 0 && percentile <= 100)) return fail(`percentile must be in (0, 100], got ${n} in "${text}"`, pCol);
    c.skipSpace();
    if (c.text[c.i] !== ')') return fail(`expected ")" to close p( in "${text}"`, c.col);
    c.i++;
    method = 'p';
  } else if ((NAMED_METHODS as readonly string[]).includes(word)) {
    method = word as ThresholdMethod;
  } else {
    return fail(`unknown method "${word}" in "${text}": expected p(N), avg, min, max, med, count, rate or value`, methodCol);
  }
  c.skipSpace();
  const opCol = c.col;
  const op = OPS.find((o) => c.text.startsWith(o, c.i));
  if (op === undefined) {
    const found = c.rest() === '' ? 'the end' : `"${c.rest()}"`;
    return fail(`expected an operator (<, <=, >, >=, ==, !=) after ${word} in "${text}", found ${found}`, opCol);
  }
  c.i += op.length;
  c.skipSpace();
  const numCol = c.col;
  const num = c.match(NUMBER_RE);
  if (num === undefined) return fail(`expected a number after "${op}" in "${text}"`, numCol);
  let value = Number(num);
  c.skipSpace();
  const unitCol = c.col;
  const unitWord = c.match(WORD_RE);
  let unit: ThresholdUnit | undefined;
  if (unitWord !== undefined) {
    if (!(unitWord in UNIT_TO_MS)) return fail(`unknown unit "${unitWord}" in "${text}": expected ms, s or us`, unitCol);
    unit = unitWord as ThresholdUnit;
    value *= UNIT_TO_MS[unit];
  }
  c.skipSpace();
  if (c.i < c.text.length) return fail(`unexpected "${c.rest()}" at the end of "${text}"`, c.col);
  const expr: ThresholdExpression = { method, op, value };
  if (percentile !== undefined) expr.percentile = percentile;
  return unit ? { ok: true, value: expr, unit } : { ok: true, value: expr };
}

const METHODS_BY_TYPE: Record<MetricType, readonly ThresholdMethod[]> = {
  trend: ['p', 'avg', 'min', 'max', 'med', 'count'],
  counter: ['count', 'rate'],
  gauge: ['value', 'min', 'max'],
};

function methodLabel(m: ThresholdMethod): string {
  return m === 'p' ? 'p(N)' : m;
}

/** Undefined when `method` suits `metricType`; else a message listing the valid methods. */
export function validateThresholdMethod(metricType: MetricType, method: ThresholdMethod): string | undefined {
  const valid = METHODS_BY_TYPE[metricType];
  if (valid.includes(method)) return undefined;
  return `${methodLabel(method)} does not apply to a ${metricType} metric; use one of: ${valid.map(methodLabel).join(', ')}`;
}
