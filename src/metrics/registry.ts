// Worker-side metrics. The hot path only bumps a number or calls recordValue (autocannon's
// tick): a session records into handles it looked up once, and once a second (and at the end)
// the worker calls takeSnapshot(), which encodes the interval's histograms, hands over the
// counter deltas and resets the interval. The snapshot is plain data for postMessage.
//
// No hdr-histogram-js Recorder: a worker is one thread, so encoding then resetting in the same
// synchronous call already gives clean intervals without swapping histograms.

import { COUNTER_NAMES, ERROR_KINDS, TREND, metricKey } from './names.js';
import type { CounterName, ErrorKind, TrendName } from './names.js';
import { encodeHistogram, msToRecordedUs, newHistogram } from './hdr.js';
import type { Histogram } from './hdr.js';

export interface TrendHandle {
  /** Records into the untagged metric and, for a named step, the `{name:step}` one too. */
  recordMs(ms: number): void;
}

/** Plain data: crosses worker_threads via postMessage. */
export interface MetricsSnapshot {
  /** metricKey -> encoded interval histogram (only keys with samples in the interval). */
  trends: Record<string, string>;
  /** metricKey -> delta over the interval (only non-zero; errors{kind:x} and errors included). */
  counters: Record<string, number>;
  /** kind -> first message this worker saw for that kind (each kind is sent once). */
  errorFirst: Record<string, string>;
  /** active_connections: current value at the snapshot, min and max over the interval. */
  active: { value: number; min: number; max: number };
}

/** One histogram of the registry, with its key; `dirty` avoids scanning empty ones. */
interface Series {
  readonly key: string;
  readonly histogram: Histogram;
  dirty: boolean;
  /** Untagged series only: the tagged series of named steps, whose samples it also holds. */
  children: Series[];
}

class Handle implements TrendHandle {
  constructor(
    private readonly untagged: Series,
    private readonly tagged: Series | undefined,
  ) {}

  /** The series a sample goes into (the step's own for a named step). */
  get series(): Series {
    return this.tagged ?? this.untagged;
  }

  recordMs(ms: number): void {
    if (ms !== ms) return; // NaN is a caller bug: dropped (see hdr.ts recordMs)
    // Hot path: one record per sample. A named step's sample goes into its tagged series only;
    // the untagged series adds its children at snapshot time (once a second, exact: HDR add).
    const s = this.tagged ?? this.untagged;
    s.histogram.recordValue(msToRecordedUs(ms));
    s.dirty = true;
  }
}

/**
 * service_time and latency of one step, recorded together. With no lateness (no pacing delay,
 * no late start) the two samples are the same value: it is recorded once, into a series of its
 * own that the snapshot adds to both (HDR add is exact), so the common case costs one record.
 */
export interface ReplyTrendHandle {
  record(serviceMs: number, latenessMs: number): void;
}

/** The same-value samples of a reply pair, added to both of its series at snapshot time. */
interface PairSeries {
  readonly histogram: Histogram;
  dirty: boolean;
  readonly service: Series;
  readonly latency: Series;
}

class ReplyHandle implements ReplyTrendHandle {
  constructor(
    private readonly both: PairSeries,
    private readonly service: Series,
    private readonly latency: Series,
  ) {}

  record(serviceMs: number, latenessMs: number): void {
    if (serviceMs !== serviceMs || latenessMs !== latenessMs) return; // NaN: a caller bug, dropped
    if (latenessMs === 0) {
      this.both.histogram.recordValue(msToRecordedUs(serviceMs));
      this.both.dirty = true;
      return;
    }
    this.service.histogram.recordValue(msToRecordedUs(serviceMs));
    this.service.dirty = true;
    this.latency.histogram.recordValue(msToRecordedUs(serviceMs + latenessMs));
    this.latency.dirty = true;
  }
}

type CounterCounts = Record<CounterName, number>;
type ErrorCounts = Record<ErrorKind, number>;

function zeroCounters(): CounterCounts {
  const c = {} as CounterCounts;
  for (const name of COUNTER_NAMES) c[name] = 0;
  return c;
}

function zeroErrors(): ErrorCounts {
  const c = {} as ErrorCounts;
  for (const kind of ERROR_KINDS) c[kind] = 0;
  return c;
}

// Error keys are computed once, not per error.
const ERROR_KEYS: Record<ErrorKind, string> = (() => {
  const keys = {} as Record<ErrorKind, string>;
  for (const kind of ERROR_KINDS) keys[kind] = metricKey('errors', { kind });
  return keys;
})();

export class MetricsRegistry {
  private readonly series = new Map<string, Series>();
  private readonly handles = new Map<string, Handle>();
  private readonly replyHandles = new Map<string, ReplyHandle>();
  private readonly pairs: PairSeries[] = [];
  // Every key present from the start, so the objects keep one shape and `+=` stays cheap.
  private readonly counts: CounterCounts = zeroCounters();
  private readonly errorCounts: ErrorCounts = zeroErrors();
  private readonly errorFirstSent = new Set<ErrorKind>();
  private errorFirstPending: Partial<Record<ErrorKind, string>> = {};
  private active = 0;
  private activeMin = 0;
  private activeMax = 0;
  private sharedActive: { counters: Int32Array; open: number; peak: number; own: number } | undefined;

  /** A cached handle per (name, stepName): look it up once per step, not per sample. */
  trend(name: TrendName, stepName?: string): TrendHandle {
    return this.handleFor(name, stepName);
  }

  private handleFor(name: TrendName, stepName?: string): Handle {
    const handleKey = stepName ? `${name}\u0000${stepName}` : name;
    let handle = this.handles.get(handleKey);
    if (handle === undefined) {
      const untagged = this.seriesFor(name);
      let tagged: Series | undefined;
      if (stepName) {
        const key = metricKey(name, { name: stepName });
        const known = this.series.has(key);
        tagged = this.seriesFor(key);
        if (!known) untagged.children.push(tagged);
      }
      handle = new Handle(untagged, tagged);
      this.handles.set(handleKey, handle);
    }
    return handle;
  }

  /** service_time and latency of a step (its name, or none), recorded as a pair. */
  replyTrends(stepName?: string): ReplyTrendHandle {
    const handleKey = stepName ?? '';
    let handle = this.replyHandles.get(handleKey);
    if (handle === undefined) {
      const service = this.handleFor(TREND.serviceTime, stepName).series;
      const latency = this.handleFor(TREND.latency, stepName).series;
      const both: PairSeries = { histogram: newHistogram(), dirty: false, service, latency };
      this.pairs.push(both);
      handle = new ReplyHandle(both, service, latency);
      this.replyHandles.set(handleKey, handle);
    }
    return handle;
  }

  /** One frame sent / received: the hot path's counters, on constant keys. */
  frameSent(): void {
    this.counts.frames_sent += 1;
  }

  frameReceived(): void {
    this.counts.frames_received += 1;
  }

  /**
   * Counters: frames_sent, bytes_sent, .... `add('errors', n)` has no kind, so it counts as
   * kind `other`: the errors total always equals the sum of errors{kind}.
   */
  add(name: CounterName, n = 1): void {
    if (name === 'errors') {
      this.errorCounts.other += n;
      this.counts.errors += n;
      return;
    }
    this.counts[name] += n;
  }

  /** errors{kind} and the untagged errors total; keeps the first message per kind. */
  error(kind: ErrorKind, message: string): void {
    this.errorCounts[kind] += 1;
    this.counts.errors += 1;
    if (!this.errorFirstSent.has(kind)) {
      this.errorFirstSent.add(kind);
      this.errorFirstPending[kind] = message;
    }
  }

  /**
   * Counts this worker's connections in the process-wide counters too (SharedArrayBuffer slots:
   * the total, its peak, and this worker's own share), so the report's active_connections.max
   * is the peak the process really reached, not a guess from per-second snapshots.
   */
  shareActive(counters: Int32Array, slots: { open: number; peak: number; own: number }): void {
    this.sharedActive = { counters, ...slots };
  }

  connectionOpened(): void {
    this.active += 1;
    if (this.active > this.activeMax) this.activeMax = this.active;
    const s = this.sharedActive;
    if (s) {
      Atomics.add(s.counters, s.own, 1);
      const open = Atomics.add(s.counters, s.open, 1) + 1;
      let peak = Atomics.load(s.counters, s.peak);
      while (open > peak) {
        const seen = Atomics.compareExchange(s.counters, s.peak, peak, open);
        if (seen === peak) break;
        peak = seen;
      }
    }
  }

  connectionClosed(): void {
    this.active -= 1;
    if (this.active < this.activeMin) this.activeMin = this.active;
    const s = this.sharedActive;
    if (s) {
      Atomics.sub(s.counters, s.own, 1);
      Atomics.sub(s.counters, s.open, 1);
    }
  }

  /** Current active connections of this worker. */
  get activeConnections(): number {
    return this.active;
  }

  /** The interval since the last call; then resets interval state. */
  takeSnapshot(): MetricsSnapshot {
    const trends: Record<string, string> = {};
    // Reply pairs first: their same-value samples belong to both of their series.
    for (const p of this.pairs) {
      if (!p.dirty) continue;
      p.service.histogram.add(p.histogram);
      p.latency.histogram.add(p.histogram);
      p.service.dirty = true;
      p.latency.dirty = true;
      p.histogram.reset();
      p.dirty = false;
    }
    // Then untagged series: each adds its dirty children (named steps) before they are reset.
    for (const s of this.series.values()) {
      if (s.children.length === 0) continue;
      let dirty = s.dirty;
      for (const c of s.children) {
        if (!c.dirty) continue;
        s.histogram.add(c.histogram);
        dirty = true;
      }
      s.dirty = dirty;
    }
    for (const s of this.series.values()) {
      if (!s.dirty) continue;
      trends[s.key] = encodeHistogram(s.histogram);
      s.histogram.reset();
      s.dirty = false;
    }

    const counters: Record<string, number> = {};
    for (const name of COUNTER_NAMES) {
      const n = this.counts[name];
      if (n !== 0) {
        counters[name] = n;
        this.counts[name] = 0;
      }
    }
    for (const kind of ERROR_KINDS) {
      const n = this.errorCounts[kind];
      if (n !== 0) {
        counters[ERROR_KEYS[kind]] = n;
        this.errorCounts[kind] = 0;
      }
    }

    const errorFirst = this.errorFirstPending as Record<string, string>;
    this.errorFirstPending = {};

    const active = { value: this.active, min: this.activeMin, max: this.activeMax };
    this.activeMin = this.active;
    this.activeMax = this.active;

    return { trends, counters, errorFirst, active };
  }

  private seriesFor(key: string): Series {
    let s = this.series.get(key);
    if (s === undefined) {
      s = { key, histogram: newHistogram(), dirty: false, children: [] };
      this.series.set(key, s);
    }
    return s;
  }
}
