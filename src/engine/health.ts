// The harness verdict: from the per-second health samples of the workers (event-loop lag p99 and
// utilisation), whether the load generator rather than the server limited the results.

import type { WorkerHealth } from './messages.js';

/** A worker counts as pegged when its CPU is at or above this in at least a tenth of its seconds. */
export const CPU_PEGGED_PERCENT = 98;
export const LAG_LIMIT_MS = 10;

/**
 * The samples that describe a worker's run. The last interval is left out when there are at
 * least three whole seconds: closing thousands of connections at the end pegs a worker and
 * lags its loop, which says nothing about the measurement (it would mark every large run as
 * limited by the load generator).
 */
export function runHealth(perSecond: WorkerHealth[], end: WorkerHealth | undefined): WorkerHealth[] {
  if (perSecond.length >= 3 || end === undefined) return perSecond;
  return [...perSecond, end];
}

export function summariseHealth(samples: WorkerHealth[]): { lagP99Ms: number; cpuPercent: number; pegged: boolean } {
  const cpu = samples.map((h) => h.cpuPercent);
  return {
    // Lag: the per-second p99 that at least a tenth of the seconds reach (a lone bad second in a
    // long run is not a verdict).
    lagP99Ms: percentileOf(samples.map((h) => h.eventLoopLagP99Ms), 0.9),
    cpuPercent: cpu.length ? cpu.reduce((a, b) => a + b, 0) / cpu.length : 0,
    pegged: cpu.length > 0 && percentileOf(cpu, 0.9) >= CPU_PEGGED_PERCENT,
  };
}

function percentileOf(values: number[], q: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}
