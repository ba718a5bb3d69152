// The harness verdict: from the per-second health samples of the workers (event-loop lag p99 and
// utilisation), whether the load generator rather than the server limited the results.

import { HARNESS_CPU_PEGGED_PERCENT } from '../metrics/names.js';
import type { WorkerHealth } from './messages.js';

/** A last interval shorter than this is the run's teardown only (see runHealth). */
const END_SAMPLE_MIN_MS = 500;

/**
 * The samples that describe a worker's run. The last interval is left out when there are at
 * least three whole seconds: closing thousands of connections at the end pegs a worker and
 * lags its loop, which says nothing about the measurement (it would mark every large run as
 * limited by the load generator). In a shorter run it counts only when it covers a good part of
 * a second: a last interval of a few tens of ms is the teardown alone (100% busy, its one pause
 * the p99), and with one or two other samples it alone made the verdict of a light 1 s run.
 */
export function runHealth(perSecond: WorkerHealth[], end: WorkerHealth | undefined): WorkerHealth[] {
  if (perSecond.length >= 3 || end === undefined) return perSecond;
  if (perSecond.length > 0 && (end.intervalMs ?? 1000) < END_SAMPLE_MIN_MS) return perSecond;
  return [...perSecond, end];
}

export function summariseHealth(samples: WorkerHealth[]): { lagP99Ms: number; cpuPercent: number; pegged: boolean } {
  const cpu = samples.map((h) => h.cpuPercent);
  return {
    // Lag: the per-second p99 that at least a tenth of the seconds reach (a lone bad second in a
    // long run is not a verdict).
    lagP99Ms: percentileOf(samples.map((h) => h.eventLoopLagP99Ms), 0.9),
    cpuPercent: cpu.length ? cpu.reduce((a, b) => a + b, 0) / cpu.length : 0,
    pegged: cpu.length > 0 && percentileOf(cpu, 0.9) >= HARNESS_CPU_PEGGED_PERCENT,
  };
}

/**
 * The CPU a tenth of a worker's seconds reach: the figure `pegged` compares with
 * HARNESS_CPU_PEGGED_PERCENT, so a message about a pegged worker quotes it (its mean can be far lower:
 * in a 3-second run one busy startup second is that tenth).
 */
export function cpuBusyPercent(samples: WorkerHealth[]): number {
  return percentileOf(samples.map((h) => h.cpuPercent), 0.9);
}

function percentileOf(values: number[], q: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}
