// Coordinator-side metrics: folds the workers' interval snapshots into run totals (histograms
// add, so percentiles are exact: autocannon's aggregateResult) and into a per-second series for
// live progress and the report.

import { COUNTER, COUNTER_NAMES, GAUGE, TREND, parseMetricKey } from './names.js';
import { decodeHistogram, newHistogram, percentileMs, trendJsonFrom } from './hdr.js';
import type { Histogram } from './hdr.js';
import type { MetricsSnapshot } from './registry.js';
import type { ErrorSummaryJson, MetricJson, TimeseriesPoint } from '../report/types.js';

/**
 * Per-second histograms are full-range ones (~190 KB; packed ones are 30x slower to add and
 * query), so they must not pile up over a long run: a second's histograms are dropped (after freezing its p50/p99) once every worker seen so far
 * has reported a later second, or once the run is this many seconds past it. A straggler that
 * reports into a frozen second still adds every count; only that second's p50/p99 then become
 * the max of the frozen value and the straggler's own (an upper bound, not exact).
 */
const FREEZE_AFTER_S = 30;

interface Percentiles {
  p50: number;
  p99: number;
}

interface SecondState {
  framesSent: number;
  framesReceived: number;
  errors: number;
  bytesSent: number;
  bytesReceived: number;
  /** Merged interval histograms of `latency` and `wait`, until frozen. */
  latency: Histogram | undefined;
  wait: Histogram | undefined;
  frozen: boolean;
  frozenLatency: Percentiles | undefined;
  frozenWait: Percentiles | undefined;
}

/** One worker's active_connections over time: the value of its last snapshot in each second. */
interface WorkerActive {
  seconds: number[];
  values: number[];
  /** The highest value inside each interval (a session shorter than a second still shows). */
  maxes: number[];
  /** The lowest value inside each interval: what this worker held at least while another peaked. */
  mins: number[];
}

interface FirstError {
  message: string;
  second: number;
}

export interface MetricsAggregatorOptions {
  startedAtEpochMs: number;
}

export class MetricsAggregator {
  private readonly startedAtEpochMs: number;
  private readonly trendTotals = new Map<string, Histogram>();
  private readonly counterTotals = new Map<string, number>();
  private readonly seconds = new Map<number, SecondState>();
  private readonly workers = new Map<number, WorkerActive>();
  private readonly firstErrors = new Map<string, FirstError>();
  private lastSecond = 0;
  /** Seconds up to this one are frozen (see FREEZE_AFTER_S). */
  private frozenUpTo = 0;

  constructor(opts: MetricsAggregatorOptions) {
    this.startedAtEpochMs = opts.startedAtEpochMs;
  }

  /**
   * Fold one worker's interval. `second` is the 1-based index of the second the interval ended
   * in (fractions are floored, values below 1 count as 1). Several snapshots of one worker in
   * the same second add up; for active_connections the last one wins.
   */
  add(workerId: number, second: number, snap: MetricsSnapshot): void {
    const s = Math.max(1, Math.floor(second));
    if (s > this.lastSecond) this.lastSecond = s;
    const state = this.secondState(s);

    for (const key in snap.trends) {
      const interval = decodeHistogram(snap.trends[key]!);
      let total = this.trendTotals.get(key);
      if (total === undefined) {
        total = newHistogram();
        this.trendTotals.set(key, total);
      }
      total.add(interval);
      if (key === TREND.latency) state.latency = addInto(state, state.latency, interval, 'latency');
      else if (key === TREND.wait) state.wait = addInto(state, state.wait, interval, 'wait');
    }

    for (const key in snap.counters) {
      const n = snap.counters[key]!;
      this.counterTotals.set(key, (this.counterTotals.get(key) ?? 0) + n);
      switch (key) {
        case COUNTER.framesSent:
          state.framesSent += n;
          break;
        case COUNTER.framesReceived:
          state.framesReceived += n;
          break;
        case COUNTER.errors:
          state.errors += n;
          break;
        case COUNTER.bytesSent:
          state.bytesSent += n;
          break;
        case COUNTER.bytesReceived:
          state.bytesReceived += n;
          break;
      }
    }

    for (const kind in snap.errorFirst) {
      const prev = this.firstErrors.get(kind);
      // Earliest second wins; within a second, the first to arrive.
      if (prev === undefined || s < prev.second) {
        this.firstErrors.set(kind, { message: snap.errorFirst[kind]!, second: s });
      }
    }

    this.recordActive(workerId, s, snap.active);
    this.freezeOldSeconds();
  }

  /** The per-second point for `second` (summed over workers so far), for live progress. */
  point(second: number): TimeseriesPoint | undefined {
    const state = this.seconds.get(second);
    if (state === undefined) return undefined;
    return this.pointFrom(second, state);
  }

  /** Every second 1..last; seconds nobody reported in are zeros with `active` carried forward. */
  timeseries(): TimeseriesPoint[] {
    const points: TimeseriesPoint[] = [];
    for (let s = 1; s <= this.lastSecond; s++) {
      points.push(this.pointFrom(s, this.seconds.get(s)));
    }
    return points;
  }

  /**
   * Every metric of DESIGN.md: all counters (the errors total too) even when 0, trends only
   * with samples, and the active_connections gauge: value = the last summed point, min of the
   * summed per-second series, max = the highest peak that surely happened (activePeakAt).
   */
  metrics(durationS: number): Record<string, MetricJson> {
    const out: Record<string, MetricJson> = {};
    const trendKeys = [...this.trendTotals.keys()].sort();
    for (const key of trendKeys) {
      const h = this.trendTotals.get(key)!;
      if (h.totalCount > 0) out[key] = trendJsonFrom(h);
    }
    const counterKeys = new Set<string>(COUNTER_NAMES);
    for (const key of this.counterTotals.keys()) counterKeys.add(key);
    for (const key of [...counterKeys].sort()) {
      const count = this.counterTotals.get(key) ?? 0;
      out[key] = { type: 'counter', count, rate: ratePerSecond(count, durationS) };
    }
    const gauge = gaugeFromSeries(this.timeseries().map((p) => p.active));
    if (gauge.type === 'gauge') {
      // Sessions shorter than a second open and close between two samples: the interval max keeps them.
      for (let s = 1; s <= this.lastSecond; s++) gauge.max = Math.max(gauge.max, this.activePeakAt(s));
    }
    out[GAUGE.activeConnections] = gauge;
    return out;
  }

  /** By kind (most frequent first), with the earliest first message seen for the kind. */
  errors(): ErrorSummaryJson[] {
    const out: ErrorSummaryJson[] = [];
    for (const [key, count] of this.counterTotals) {
      const parsed = parseMetricKey(key);
      if (!parsed || parsed.name !== COUNTER.errors) continue;
      const kind = parsed.tags['kind'];
      if (kind === undefined || count === 0) continue;
      out.push({ kind, count, first: this.firstErrors.get(kind)?.message ?? '' });
    }
    out.sort((a, b) => b.count - a.count || (a.kind < b.kind ? -1 : a.kind > b.kind ? 1 : 0));
    return out;
  }

  private secondState(second: number): SecondState {
    let state = this.seconds.get(second);
    if (state === undefined) {
      state = {
        framesSent: 0,
        framesReceived: 0,
        errors: 0,
        bytesSent: 0,
        bytesReceived: 0,
        latency: undefined,
        wait: undefined,
        frozen: false,
        frozenLatency: undefined,
        frozenWait: undefined,
      };
      this.seconds.set(second, state);
    }
    return state;
  }

  private recordActive(workerId: number, second: number, active: MetricsSnapshot['active']): void {
    const { value } = active;
    const max = Math.max(active.max, value);
    const min = Math.min(active.min, value);
    let w = this.workers.get(workerId);
    if (w === undefined) {
      w = { seconds: [], values: [], maxes: [], mins: [] };
      this.workers.set(workerId, w);
    }
    const n = w.seconds.length;
    if (n === 0 || w.seconds[n - 1]! < second) {
      w.seconds.push(second);
      w.values.push(value);
      w.maxes.push(max);
      w.mins.push(min);
      return;
    }
    // Same second again (or, unexpectedly, an older one): overwrite or insert in order.
    const i = lastIndexAtOrBefore(w.seconds, second);
    if (i >= 0 && w.seconds[i] === second) {
      w.values[i] = value;
      w.maxes[i] = Math.max(w.maxes[i]!, max);
      w.mins[i] = Math.min(w.mins[i]!, min);
    } else {
      w.seconds.splice(i + 1, 0, second);
      w.values.splice(i + 1, 0, value);
      w.maxes.splice(i + 1, 0, max);
      w.mins.splice(i + 1, 0, min);
    }
  }

  /**
   * The highest number of connections that was surely open at one instant of the second. Each
   * worker only reports its own max and min over the interval, not when they happened, so adding
   * the maxes would count peaks of different instants together (maxConnections 3 reported as 4
   * or 6). While worker w stood at its max, every other worker held at least its interval min:
   * max_w + the others' mins is a level the process really reached. With one worker that is its
   * exact max; the summed snapshot values (activeAt) are the other honest floor.
   */
  private activePeakAt(second: number): number {
    const levels: { max: number; min: number }[] = [];
    for (const w of this.workers.values()) {
      const i = lastIndexAtOrBefore(w.seconds, second);
      if (i < 0) continue;
      // A worker silent in this second held its last value throughout.
      const reported = w.seconds[i] === second;
      levels.push(reported ? { max: w.maxes[i]!, min: w.mins[i]! } : { max: w.values[i]!, min: w.values[i]! });
    }
    const minSum = levels.reduce((a, l) => a + l.min, 0);
    let peak = this.activeAt(second);
    for (const l of levels) peak = Math.max(peak, minSum - l.min + l.max);
    return peak;
  }

  private activeAt(second: number): number {
    let sum = 0;
    for (const w of this.workers.values()) {
      const i = lastIndexAtOrBefore(w.seconds, second);
      if (i >= 0) sum += w.values[i]!;
    }
    return sum;
  }

  private pointFrom(second: number, state: SecondState | undefined): TimeseriesPoint {
    const pct = state ? percentilesOf(state) : undefined;
    return {
      t: second,
      at: this.startedAtEpochMs + second * 1000,
      framesSent: state?.framesSent ?? 0,
      framesReceived: state?.framesReceived ?? 0,
      active: this.activeAt(second),
      errors: state?.errors ?? 0,
      p50: pct ? pct.p50 : null,
      p99: pct ? pct.p99 : null,
      bytesSent: state?.bytesSent ?? 0,
      bytesReceived: state?.bytesReceived ?? 0,
    };
  }

  private freezeOldSeconds(): void {
    // The oldest second every worker has moved past.
    let allPast = Infinity;
    for (const w of this.workers.values()) {
      const latest = w.seconds[w.seconds.length - 1] ?? 0;
      if (latest - 1 < allPast) allPast = latest - 1;
    }
    const freezeUpTo = Math.max(allPast === Infinity ? 0 : allPast, this.lastSecond - FREEZE_AFTER_S);
    for (let s = this.frozenUpTo + 1; s <= freezeUpTo; s++) {
      const state = this.seconds.get(s);
      if (state !== undefined) freeze(state);
    }
    if (freezeUpTo > this.frozenUpTo) this.frozenUpTo = freezeUpTo;
  }
}

/** Add an interval histogram into a second's merged one; for a frozen second, max the percentiles. */
function addInto(
  state: SecondState,
  merged: Histogram | undefined,
  interval: Histogram,
  which: 'latency' | 'wait',
): Histogram | undefined {
  if (interval.totalCount === 0) return merged;
  if (state.frozen) {
    const own = { p50: percentileMs(interval, 50)!, p99: percentileMs(interval, 99)! };
    const prev = which === 'latency' ? state.frozenLatency : state.frozenWait;
    const next = prev ? { p50: Math.max(prev.p50, own.p50), p99: Math.max(prev.p99, own.p99) } : own;
    if (which === 'latency') state.frozenLatency = next;
    else state.frozenWait = next;
    return undefined;
  }
  const h = merged ?? newHistogram();
  h.add(interval);
  return h;
}

function freeze(state: SecondState): void {
  state.frozenLatency = state.latency ? percentilesFromHistogram(state.latency) : undefined;
  state.frozenWait = state.wait ? percentilesFromHistogram(state.wait) : undefined;
  state.latency = undefined;
  state.wait = undefined;
  state.frozen = true;
}

function percentilesFromHistogram(h: Histogram): Percentiles | undefined {
  if (h.totalCount === 0) return undefined;
  return { p50: percentileMs(h, 50)!, p99: percentileMs(h, 99)! };
}

/** p50/p99 of `latency` in the second; without latency samples, of `wait`; else none. */
function percentilesOf(state: SecondState): Percentiles | undefined {
  if (state.frozen) return state.frozenLatency ?? state.frozenWait;
  return (
    (state.latency && percentilesFromHistogram(state.latency)) ??
    (state.wait && percentilesFromHistogram(state.wait)) ??
    undefined
  );
}

/** Index of the last element <= x in an ascending array, or -1. */
function lastIndexAtOrBefore(sorted: number[], x: number): number {
  let lo = 0;
  let hi = sorted.length - 1;
  let found = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (sorted[mid]! <= x) {
      found = mid;
      lo = mid + 1;
    } else {
      hi = mid - 1;
    }
  }
  return found;
}

/**
 * Per second over `durationS`. Not rounded: a threshold like `errors: rate < 0.001` must see the
 * real value, and 12 significant digits only hides float noise (1300.0000000002).
 */
export function ratePerSecond(count: number, durationS: number): number {
  if (!(durationS > 0)) return 0;
  return Number((count / durationS).toPrecision(12));
}

/** active_connections from a summed per-second series: last value, min and max. */
export function gaugeFromSeries(series: readonly number[]): MetricJson {
  if (series.length === 0) return { type: 'gauge', value: 0, min: 0, max: 0 };
  let min = Infinity;
  let max = -Infinity;
  for (const v of series) {
    if (v < min) min = v;
    if (v > max) max = v;
  }
  return { type: 'gauge', value: series[series.length - 1]!, min, max };
}
