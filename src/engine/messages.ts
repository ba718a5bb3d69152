// Coordinator <-> worker messages: one discriminated union per direction (STYLE.md, vitest's
// pool types). Everything here is plain data that survives structured cloning.

import type { MetricsSnapshot } from '../metrics/registry.js';
import type { Stripe } from '../load/stripe.js';
import type { RunOverrides } from './overrides.js';

export interface WorkerInit {
  workerIndex: number;
  /** What the scenario is loaded from: the same inputs on every worker give the same Scenario. */
  file: string;
  source: string;
  sets: string[];
  overrides: RunOverrides;
  env: Record<string, string | undefined>;
  /** The target URL after resolving builtin: targets. */
  targetUrl: string;
  /** Outermost first: segment (when sharded), then this worker's stripe. */
  stripePath: Stripe[];
  /** Print the first session's handshake and frames (--debug). */
  debug: boolean;
  /** Directory the scenario's relative paths resolve against. */
  baseDir: string;
  /** Captures of the scenario's setup requests (run once by the coordinator). */
  setupVars: Record<string, string>;
  /** Counters every worker of the process shares (SHARED_SLOTS), Atomics only. */
  shared: SharedArrayBuffer;
}

/** Slots of WorkerInit.shared (Int32); then liveArrivalsOf and openConnectionsOf per worker. */
export const SHARED_SLOTS = {
  /** Open-model sessions running in the whole process, against maxConnections. */
  liveArrivals: 0,
  /** The next data row, in start order across the process (order: sequential). */
  nextDataRow: 1,
  /** Connections open in the whole process right now (active_connections). */
  openConnections: 2,
  /**
   * The highest openConnections ever reached: the process's exact active_connections peak.
   * Per-worker snapshots cannot give it: two workers' peaks inside one second may or may not
   * have coincided.
   */
  openPeak: 3,
} as const;

const PER_WORKER_BASE = 4;

/**
 * Worker i's own share of liveArrivals, kept beside the total so that the coordinator can give
 * a dead worker's places back (a dead thread never releases them itself).
 */
export function liveArrivalsOf(workerIndex: number): number {
  return PER_WORKER_BASE + 2 * workerIndex;
}

/** Worker i's own share of openConnections (given back when it dies, like liveArrivalsOf). */
export function openConnectionsOf(workerIndex: number): number {
  return PER_WORKER_BASE + 2 * workerIndex + 1;
}

export function sharedSlotCount(workers: number): number {
  return PER_WORKER_BASE + 2 * workers;
}

export interface WorkerHealth {
  /** Event-loop delay p99 over the interval (ms). */
  eventLoopLagP99Ms: number;
  /** Event-loop utilisation of this worker over the interval, 0..100 (its share of one core). */
  cpuPercent: number;
  /** How long the interval was (ms): a second, or the run's last fraction of one. */
  intervalMs?: number;
}

export type ToWorker =
  | { type: 'start'; startAtEpochMs: number }
  /** Stop starting sessions; running ones get gracefulStop to finish, then are cut. */
  | { type: 'stop' }
  /** Cut every session now and report. */
  | { type: 'abort' };

export type FromWorker =
  | { type: 'ready' }
  | { type: 'loadFailed'; message: string }
  | { type: 'metrics'; second: number; snapshot: MetricsSnapshot; health: WorkerHealth }
  | { type: 'debug'; line: string }
  | { type: 'done'; second: number; snapshot: MetricsSnapshot; health: WorkerHealth }
  | { type: 'fatal'; message: string };
