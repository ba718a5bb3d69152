import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { arrivalTimeMs, connectionsAt, peakConnections, plannedDurationMs, stagedValueAt, totalArrivals } from '../../src/load/plan.js';
import { nthOwned, ownedCount, ownsItem, parseSegment } from '../../src/load/stripe.js';
import type { ArrivalRateLoad, ConnectionsLoad } from '../../src/scenario/types.js';

const ramp: ConnectionsLoad = {
  model: 'connections',
  connections: 0,
  stages: [
    { durationMs: 10_000, target: 100 },
    { durationMs: 20_000, target: 100 },
    { durationMs: 10_000, target: 0 },
  ],
  gracefulStopMs: 5000,
};

describe('closed model stages follow k6 ramping semantics', () => {
  it.each([
    [0, 0],
    [5_000, 50],
    [10_000, 100],
    [25_000, 100],
    [35_000, 50],
    [40_000, 0],
    [99_000, 0],
  ])('at %i ms the ramp asks for %i connections', (t, want) => {
    expect(connectionsAt(ramp, t)).toBe(want);
  });
  it.each([
    // up 0 -> 4 over 4 s, then down 4 -> 0 over 4 s (k6 ramping-vus' step table)
    [999, 0],
    [1_000, 1],
    [3_999, 3],
    [4_000, 4],
    [4_999, 4], // the peak is held for the first quarter of the way down
    [5_000, 3],
    [7_000, 1],
    [7_999, 1],
    [8_000, 0],
  ])('up to 4 and down again: at %i ms the ramp asks for %i connections', (t, want) => {
    const upDown: ConnectionsLoad = { ...ramp, stages: [{ durationMs: 4000, target: 4 }, { durationMs: 4000, target: 0 }] };
    expect(connectionsAt(upDown, t)).toBe(want);
  });
  it('the first stage ramps from zero and each later one from the previous target', () => {
    const stages = [{ durationMs: 1000, target: 10 }, { durationMs: 1000, target: 30 }];
    expect(stagedValueAt(stages, 500)).toBeCloseTo(5);
    expect(stagedValueAt(stages, 1500)).toBeCloseTo(20);
  });
  it('the run length is the sum of the stages and the peak is the largest target', () => {
    expect(plannedDurationMs(ramp)).toBe(40_000);
    expect(peakConnections(ramp)).toBe(100);
  });
});

describe('open model arrivals are timed from the origin', () => {
  const constant: ArrivalRateLoad = { model: 'arrival-rate', rate: 200, durationMs: 2000, maxConnections: 10, gracefulStopMs: 0 };
  it('a constant rate spaces arrivals evenly and stops at the duration', () => {
    expect(arrivalTimeMs(constant, 0)).toBe(0);
    expect(arrivalTimeMs(constant, 1)).toBe(5);
    expect(arrivalTimeMs(constant, 399)).toBeCloseTo(1995);
    expect(arrivalTimeMs(constant, 400)).toBeUndefined();
    expect(totalArrivals(constant)).toBe(400);
  });
  it('a linear ramp from 0 to 100/s over 10s places half its 500 arrivals after 7.07s', () => {
    const rampRate: ArrivalRateLoad = { ...constant, rate: 0, durationMs: 0, stages: [{ durationMs: 10_000, target: 100 }] };
    expect(totalArrivals(rampRate)).toBe(500);
    expect(arrivalTimeMs(rampRate, 250)!).toBeCloseTo(7071, 0);
    expect(arrivalTimeMs(rampRate, 499)!).toBeLessThan(10_000);
    expect(arrivalTimeMs(rampRate, 500)).toBeUndefined();
  });
  it('arrival times never go backwards across stages', () => {
    const staged: ArrivalRateLoad = { ...constant, stages: [{ durationMs: 1000, target: 50 }, { durationMs: 1000, target: 50 }, { durationMs: 1000, target: 10 }] };
    let last = -1;
    for (let k = 0; k < totalArrivals(staged); k++) {
      const t = arrivalTimeMs(staged, k)!;
      expect(t).toBeGreaterThanOrEqual(last);
      last = t;
    }
  });
});

describe('stripes split work so the parts add up to the whole', () => {
  it('parses 1-based segments and refuses nonsense', () => {
    expect(parseSegment('2/3')).toEqual({ index: 1, count: 3 });
    expect(parseSegment('0/3')).toBeUndefined();
    expect(parseSegment('4/3')).toBeUndefined();
    expect(parseSegment('a/b')).toBeUndefined();
  });
  it('10 connections over 3 segments of 2 workers each add up to 10 and overlap nowhere', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 1500 }), fc.integer({ min: 1, max: 7 }), fc.integer({ min: 1, max: 5 }), (total, n, w) => {
        let sum = 0;
        const seen = new Set<number>();
        for (let i = 0; i < n; i++) {
          for (let j = 0; j < w; j++) {
            const path = [{ index: i, count: n }, { index: j, count: w }];
            const count = ownedCount(path, total);
            sum += count;
            for (let q = 0; q < count; q++) {
              const k = nthOwned(path, q);
              expect(k).toBeLessThan(total);
              expect(ownsItem(path, k)).toBe(true);
              expect(seen.has(k)).toBe(false);
              seen.add(k);
            }
          }
        }
        expect(sum).toBe(total);
      }),
      { numRuns: 60 },
    );
  });
});
