import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseThresholdExpression, validateThresholdMethod } from '../../src/thresholds/parse.js';

describe('parseThresholdExpression', () => {
  it.each([
    ['p(99) < 50ms', { method: 'p', percentile: 99, op: '<', value: 50 }],
    ['p(99.9)<=1s', { method: 'p', percentile: 99.9, op: '<=', value: 1000 }],
    [' avg >= 250us ', { method: 'avg', op: '>=', value: 0.25 }],
    ['med == 3', { method: 'med', op: '==', value: 3 }],
    ['count != 0', { method: 'count', op: '!=', value: 0 }],
    ['rate < 0.001', { method: 'rate', op: '<', value: 0.001 }],
    ['value > -1', { method: 'value', op: '>', value: -1 }],
    ['max<.5s', { method: 'max', op: '<', value: 500 }],
    ['min >= 2', { method: 'min', op: '>=', value: 2 }],
  ])('parses %j', (text, value) => {
    expect(parseThresholdExpression(text)).toMatchObject({ ok: true, value });
  });

  it('keeps the unit as written so callers can refuse units on plain numbers', () => {
    expect(parseThresholdExpression('p(95) < 2s')).toEqual({ ok: true, value: { method: 'p', percentile: 95, op: '<', value: 2000 }, unit: 's' });
    expect(parseThresholdExpression('count < 2')).toEqual({ ok: true, value: { method: 'count', op: '<', value: 2 } });
  });

  it.each([
    ['', 'expected a method (p(N), avg, min, max, med, count, rate, value) in ""', 1],
    ['p99 < 5', 'expected "(" after p in "p99 < 5"', 2],
    ['p(101) < 5', 'percentile must be in (0, 100], got 101 in "p(101) < 5"', 3],
    ['p(0) < 5', 'percentile must be in (0, 100], got 0 in "p(0) < 5"', 3],
    ['p(99 < 5', 'expected ")" to close p( in "p(99 < 5"', 6],
    ['mean < 5', 'unknown method "mean" in "mean < 5": expected p(N), avg, min, max, med, count, rate or value', 1],
    ['avg 5', 'expected an operator (<, <=, >, >=, ==, !=) after avg in "avg 5", found "5"', 5],
    ['avg =< 5', 'expected an operator (<, <=, >, >=, ==, !=) after avg in "avg =< 5", found "=< 5"', 5],
    ['avg <', 'expected a number after "<" in "avg <"', 6],
    ['avg < 5 min', 'unknown unit "min" in "avg < 5 min": expected ms, s or us', 9],
    ['avg < 5ms x', 'unexpected "x" at the end of "avg < 5ms x"', 11],
  ])('rejects %j with a message and column', (text, message, col) => {
    expect(parseThresholdExpression(text)).toEqual({ ok: false, message, col });
  });

  it('never throws, and what it accepts round-trips through its own rendering', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 30 }), (text) => {
        const r = parseThresholdExpression(text);
        if (!r.ok) expect(r.col).toBeGreaterThanOrEqual(1);
      }),
      { numRuns: 500 },
    );
    const method = fc.constantFrom('avg', 'min', 'max', 'med', 'count', 'rate', 'value', 'p(90)', 'p(99.9)');
    const op = fc.constantFrom('<', '<=', '>', '>=', '==', '!=');
    fc.assert(
      fc.property(method, op, fc.double({ min: 0, max: 1e6, noNaN: true }), (m, o, v) => {
        const r = parseThresholdExpression(`${m} ${o} ${v}`);
        expect(r.ok && [r.value.op, r.value.value]).toEqual([o, v]);
      }),
      { numRuns: 300 },
    );
  });
});

describe('validateThresholdMethod', () => {
  it('accepts the methods each metric type supports', () => {
    for (const m of ['p', 'avg', 'min', 'max', 'med', 'count'] as const) expect(validateThresholdMethod('trend', m)).toBeUndefined();
    for (const m of ['count', 'rate'] as const) expect(validateThresholdMethod('counter', m)).toBeUndefined();
    for (const m of ['value', 'min', 'max'] as const) expect(validateThresholdMethod('gauge', m)).toBeUndefined();
  });

  it('lists the valid methods when one does not apply', () => {
    expect(validateThresholdMethod('trend', 'rate')).toBe('rate does not apply to a trend metric; use one of: p(N), avg, min, max, med, count');
    expect(validateThresholdMethod('counter', 'p')).toBe('p(N) does not apply to a counter metric; use one of: count, rate');
    expect(validateThresholdMethod('gauge', 'avg')).toBe('avg does not apply to a gauge metric; use one of: value, min, max');
  });
});
