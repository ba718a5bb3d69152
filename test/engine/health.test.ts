import { describe, expect, it } from 'vitest';
import { runHealth, summariseHealth } from '../../src/engine/health.js';
import type { WorkerHealth } from '../../src/engine/messages.js';

const h = (cpuPercent: number, eventLoopLagP99Ms = 1): WorkerHealth => ({ cpuPercent, eventLoopLagP99Ms });

describe('the harness verdict reads the run, not its teardown', () => {
  it('a pegged last interval (closing every connection) does not mark a run of whole seconds', () => {
    const seconds = [h(30), h(35), h(32), h(31)];
    const samples = runHealth(seconds, h(100, 400));
    expect(samples).toEqual(seconds);
    const s = summariseHealth(samples);
    expect(s.pegged).toBe(false);
    expect(s.lagP99Ms).toBe(1);
    expect(s.cpuPercent).toBe(32);
  });

  it('a run too short for three whole seconds keeps its last interval', () => {
    expect(runHealth([h(20)], h(99))).toEqual([h(20), h(99)]);
    expect(summariseHealth(runHealth([h(20)], h(99))).pegged).toBe(true);
  });

  it('a short run leaves out a last interval of a few tens of ms (the teardown alone)', () => {
    const end: WorkerHealth = { cpuPercent: 100, eventLoopLagP99Ms: 19.5, intervalMs: 40 };
    expect(runHealth([h(12, 2)], end)).toEqual([h(12, 2)]);
    expect(summariseHealth(runHealth([h(12, 2)], end)).pegged).toBe(false);
    // Most of a second is a measurement: it stays.
    const long: WorkerHealth = { cpuPercent: 99, eventLoopLagP99Ms: 3, intervalMs: 700 };
    expect(runHealth([h(12, 2)], long)).toEqual([h(12, 2), long]);
    // A run of less than a second has nothing else to go by.
    expect(runHealth([], end)).toEqual([end]);
  });

  it('pegged when a tenth of the seconds are at 98% or more; one such second in twenty is not', () => {
    const twenty = Array.from({ length: 20 }, () => h(50));
    twenty[7] = h(99);
    expect(summariseHealth(twenty).pegged).toBe(false);
    twenty[12] = h(98);
    expect(summariseHealth(twenty).pegged).toBe(true);
  });

  it('lag: the per-second p99 that a tenth of the seconds reach', () => {
    const lags = Array.from({ length: 20 }, (_, i) => h(40, i < 18 ? 2 : 30));
    expect(summariseHealth(lags).lagP99Ms).toBe(30);
    lags[18] = h(40, 3);
    expect(summariseHealth(lags).lagP99Ms).toBe(3);
  });

  it('no samples: nothing to say', () => {
    expect(summariseHealth([])).toEqual({ lagP99Ms: 0, cpuPercent: 0, pegged: false });
  });
});
