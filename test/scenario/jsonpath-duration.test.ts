import { describe, expect, it } from 'vitest';
import { formatDuration, parseDuration, parseDurationRange } from '../../src/scenario/duration.js';
import { formatJsonPath, getAtPath, parseJsonPath } from '../../src/scenario/jsonpath.js';

describe('parseDuration', () => {
  it.each([
    ['250ms', 250],
    ['2s', 2000],
    ['1.5s', 1500],
    ['1m', 60_000],
    ['1h', 3_600_000],
    ['1m30s', 90_000],
    [' 10s ', 10_000],
    ['0', 0],
    ['.5s', 500],
  ])('%j is %d ms', (text, ms) => expect(parseDuration(text)).toBe(ms));

  it.each(['', '10', '5x', '500us', '1 s', 's', '-1s', '1s2'])('rejects %j', (text) => {
    expect(parseDuration(text)).toBeUndefined();
  });

  it('parses ranges and refuses inverted or malformed ones', () => {
    expect(parseDurationRange('50ms..150ms')).toEqual({ minMs: 50, maxMs: 150 });
    expect(parseDurationRange('1s..1s')).toEqual({ minMs: 1000, maxMs: 1000 });
    expect(parseDurationRange('2s..1s')).toBeUndefined();
    expect(parseDurationRange('50ms')).toBeUndefined();
    expect(parseDurationRange('x..1s')).toBeUndefined();
  });

  it('formats back to the shortest text', () => {
    expect([1500, 60_000, 3_600_000, 250, 0].map(formatDuration)).toEqual(['1.5s', '1m', '1h', '250ms', '0ms']);
  });
});

describe('JSON paths', () => {
  it.each([
    ['$', []],
    ['$.a.b[0]["x y"]', ['a', 'b', 0, 'x y']],
    ["$['k.1'][12].z", ['k.1', 12, 'z']],
    ['$.items.0', ['items', '0']],
  ])('parses %j', (text, segments) => expect(parseJsonPath(text)).toEqual(segments));

  it.each(['a.b', '$.', '$[x]', '$["open', '$..a', '$ .a'])('rejects %j', (text) => {
    expect(parseJsonPath(text)).toBeUndefined();
  });

  it('reads values and says undefined for anything missing', () => {
    const doc = { a: { b: [10, { c: 'x' }] }, 'x y': null };
    expect(getAtPath(doc, ['a', 'b', 1, 'c'])).toBe('x');
    expect(getAtPath(doc, ['a', 'b', '0'])).toBe(10);
    expect(getAtPath(doc, ['x y'])).toBeNull();
    expect(getAtPath(doc, ['a', 'b', 2])).toBeUndefined();
    expect(getAtPath(doc, ['a', 'nope'])).toBeUndefined();
    expect(getAtPath(doc, ['a', 'b', 0, 'c'])).toBeUndefined();
    expect(getAtPath(doc, ['toString'])).toBeUndefined();
    expect(formatJsonPath(['a', 0, 'x y'])).toBe('$.a[0]["x y"]');
  });
});
