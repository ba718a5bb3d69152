// Realistic ReportJson values built from real HDR histograms, as the coordinator would build
// them: samples recorded in microseconds, encoded with encodeIntoCompressedBase64, summaries
// read back from the same histograms. Deterministic (seeded), so tests can assert exact numbers.

import { build, encodeIntoCompressedBase64, type Histogram } from 'hdr-histogram-js';
import type { ReportJson, TimeseriesPoint, TrendJson, MetricJson, ThresholdResultJson } from '../../src/report/types.js';

export interface FixtureOptions {
  seed?: number;
  scenarioName?: string;
  /** Multiplies every latency sample: 1.5 makes a run 50% slower than the baseline. */
  latencyScale?: number;
  durationS?: number;
  connections?: number;
  /** Adds a failing threshold: errors rate < 0.05/s, with 3 errors in 30 s. */
  failThreshold?: boolean;
  noThresholds?: boolean;
  interrupted?: boolean;
  aborted?: boolean;
  limited?: boolean;
  /** The first message of the expect_timeout errors (server data: tests put HTML in it). */
  errorMessage?: string;
}

/** mulberry32: small, seeded, good enough for test data. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function newHistogram(): Histogram {
  return build({ lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: 3 });
}

const ms = (us: number): number => Number((us / 1000).toFixed(3));

/** A trend's JSON exactly as read back from its histogram. */
export function trendFromHistogram(h: Histogram): TrendJson {
  const total = h.totalCount;
  return {
    type: 'trend',
    unit: 'ms',
    count: total,
    min: total ? ms(h.minNonZeroValue) : 0,
    mean: total ? ms(h.mean) : 0,
    p50: ms(h.getValueAtPercentile(50)),
    p90: ms(h.getValueAtPercentile(90)),
    p95: ms(h.getValueAtPercentile(95)),
    p99: ms(h.getValueAtPercentile(99)),
    p999: ms(h.getValueAtPercentile(99.9)),
    max: ms(h.maxValue),
    hdr: encodeIntoCompressedBase64(h),
  };
}

/** Builds a 30 s chat-room run: two named steps, a coordinated-omission stall, some errors. */
export function makeReport(opts: FixtureOptions = {}): ReportJson {
  const rand = rng(opts.seed ?? 42);
  const scale = opts.latencyScale ?? 1;
  const durationS = opts.durationS ?? 30;
  const connections = opts.connections ?? 100;
  const steps = ['join', 'say'];
  const hist: Record<string, Histogram> = {};
  const h = (key: string): Histogram => (hist[key] ??= newHistogram());
  const timeseries: TimeseriesPoint[] = [];
  let framesSent = 0;
  let framesReceived = 0;
  let errorCount = 0;
  const startMs = Date.UTC(2026, 0, 15, 10, 0, 0);

  for (let t = 1; t <= durationS; t++) {
    const active = Math.min(connections, Math.round((connections * t) / 5));
    const second = newHistogram();
    // The first second only connects: no latency samples, so its p50/p99 are null.
    const samples = t === 1 ? 0 : active * 4;
    for (let i = 0; i < samples; i++) {
      const step = i % 8 === 0 ? 'join' : 'say';
      // Service time: log-normal-ish around 0.6 ms with a thin tail.
      const serviceUs = Math.max(50, Math.round(scale * (400 + 500 * -Math.log(1 - rand() * 0.999))));
      // Seconds 12..14 stall the server: sends queue behind it, so latency (from the intended
      // send time) grows while service time (from the actual send) stays small.
      const queuedUs = t >= 12 && t <= 14 ? Math.round(scale * rand() * 40_000) : 0;
      const latencyUs = serviceUs + queuedUs;
      for (const key of ['latency', `latency{name:${step}}`]) h(key).recordValue(latencyUs);
      for (const key of ['service_time', `service_time{name:${step}}`]) h(key).recordValue(serviceUs);
      second.recordValue(latencyUs);
    }
    if (t <= 5) for (let c = 0; c < connections / 5; c++) h('connect').recordValue(Math.round(scale * (800 + rand() * 3000)));
    const errors = t >= 12 && t <= 14 ? 1 : 0;
    errorCount += errors;
    const sent = samples;
    const received = samples - errors;
    framesSent += sent;
    framesReceived += received;
    timeseries.push({
      t,
      framesSent: sent,
      framesReceived: received,
      active,
      errors,
      p50: second.totalCount ? ms(second.getValueAtPercentile(50)) : null,
      p99: second.totalCount ? ms(second.getValueAtPercentile(99)) : null,
      at: startMs + t * 1000,
    });
  }
  for (let s = 0; s < connections; s++) h('session_duration').recordValue(Math.round(durationS * 1e6 - rand() * 1e6));

  const metrics: Record<string, MetricJson> = {};
  for (const [key, histogram] of Object.entries(hist)) metrics[key] = trendFromHistogram(histogram);
  const counter = (count: number): MetricJson => ({ type: 'counter', count, rate: Number((count / durationS).toFixed(3)) });
  metrics['frames_sent'] = counter(framesSent);
  metrics['frames_received'] = counter(framesReceived);
  metrics['frames_skipped'] = counter(0);
  metrics['bytes_sent'] = counter(framesSent * 31 + connections * 240);
  metrics['bytes_received'] = counter(framesReceived * 27 + connections * 129);
  metrics['sessions_started'] = counter(connections);
  metrics['sessions_completed'] = counter(connections - 1);
  metrics['sessions_failed'] = counter(1);
  metrics['errors'] = counter(errorCount);
  metrics['errors{kind:expect_timeout}'] = counter(errorCount);
  metrics['active_connections'] = { type: 'gauge', value: 0, min: 0, max: connections };

  const say = metrics['latency{name:say}'] as TrendJson;
  const connect = metrics['connect'] as TrendJson;
  const thresholds: ThresholdResultJson[] = opts.noThresholds
    ? []
    : [
        { metric: 'latency{name:say}', expression: 'p(99) < 50ms', actual: say.p99, ok: say.p99 < 50 },
        { metric: 'connect', expression: 'p(95) < 200ms', actual: connect.p95, ok: connect.p95 < 200 },
      ];
  if (opts.failThreshold) {
    // A counter's rate is per second over the run (thresholds/evaluate.ts).
    const rate = errorCount / durationS;
    thresholds.push({ metric: 'errors', expression: 'rate < 0.05', actual: rate, ok: rate < 0.05, abortOnFail: opts.aborted, aborted: opts.aborted });
  }

  return {
    format: 1,
    scenario: { name: opts.scenarioName ?? 'chat-room', file: 'scenarios/chat.yaml', sha256: 'a3f1c9e0b7d4'.padEnd(64, '0') },
    target: 'ws://127.0.0.1:9001/chat',
    startedAt: new Date(startMs).toISOString(),
    endedAt: new Date(startMs + durationS * 1000).toISOString(),
    durationS,
    transport: 'ws',
    ...(opts.interrupted ? { interrupted: true } : {}),
    ...(opts.aborted ? { aborted: true } : {}),
    environment: { volley: '0.1.0', node: 'v20.19.0', platform: 'linux-x64', cpus: 2, workers: 2, hostname: 'ci-runner-7' },
    load: { model: 'connections', connections, durationS, gracefulStopS: 5 },
    metrics,
    timeseries,
    thresholds,
    errors: errorCount
      ? [{ kind: 'expect_timeout', count: errorCount, first: opts.errorMessage ?? 'no frame matched /hello 7/ in 1s' }]
      : [],
    harness: opts.limited
      ? {
          eventLoopLagP99Ms: 38.4,
          cpuPercent: 99,
          limited: true,
          workers: [
            { worker: 0, eventLoopLagP99Ms: 38.4, cpuPercent: 99 },
            { worker: 1, eventLoopLagP99Ms: 21.7, cpuPercent: 97 },
          ],
          warnings: ['event-loop lag p99 38.4 ms > 10 ms'],
        }
      : {
          eventLoopLagP99Ms: 1.2,
          cpuPercent: 41,
          limited: false,
          workers: [
            { worker: 0, eventLoopLagP99Ms: 1.2, cpuPercent: 43 },
            { worker: 1, eventLoopLagP99Ms: 0.9, cpuPercent: 39 },
          ],
        },
  };
}
