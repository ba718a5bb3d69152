import { describe, expect, test } from 'vitest';
import { MetricsRegistry } from '../../src/metrics/registry.js';
import { MetricsAggregator } from '../../src/metrics/aggregate.js';
import { decodeHistogram, newHistogram, recordMs, trendJsonFrom } from '../../src/metrics/hdr.js';
import { COUNTER_NAMES } from '../../src/metrics/names.js';
import type { CounterJson, GaugeJson, TrendJson } from '../../src/report/types.js';

/** A deterministic spread of latencies (ms) from 0.01 ms to ~2 s, different per seed. */
function samples(seed: number, n: number): number[] {
  let x = seed * 2654435761 + 1;
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) % 2147483648;
    out.push((x / 2147483648) ** 4 * 2000 + 0.01);
  }
  return out;
}

/** HDR at 3 significant digits reports a value's bucket top: within 0.1% above it. */
function expectHdrValue(actualMs: number | null, recordedMs: number): void {
  expect(actualMs).not.toBeNull();
  expect(actualMs!).toBeGreaterThanOrEqual(recordedMs);
  expect(actualMs!).toBeLessThanOrEqual(recordedMs * 1.001);
}

describe('registry + aggregator', () => {
  test('several workers over several seconds give the same trend as one histogram of every sample', () => {
    const startedAtEpochMs = 1_700_000_000_000;
    const agg = new MetricsAggregator({ startedAtEpochMs });
    const all = newHistogram();
    const say = newHistogram();
    const workers = [new MetricsRegistry(), new MetricsRegistry(), new MetricsRegistry()];
    let framesSent = 0;
    for (let second = 1; second <= 4; second++) {
      workers.forEach((reg, w) => {
        const latencySay = reg.trend('latency', 'say');
        const latencyJoin = reg.trend('latency', 'join');
        for (const ms of samples(second * 10 + w, 200 + w * 37)) {
          latencySay.recordMs(ms);
          recordMs(all, ms);
          recordMs(say, ms);
        }
        for (const ms of samples(second * 100 + w, 50)) {
          latencyJoin.recordMs(ms);
          recordMs(all, ms);
        }
        reg.add('frames_sent', 250 + w);
        framesSent += 250 + w;
        agg.add(w, second, reg.takeSnapshot());
      });
    }
    const metrics = agg.metrics(4);
    const latency = metrics['latency'] as TrendJson;
    const expected = trendJsonFrom(all);
    expect(latency).toEqual(expected);
    expect(latency.count).toBe(all.totalCount);
    expect((metrics['latency{name:say}'] as TrendJson).count).toBe(say.totalCount);
    expect((metrics['latency{name:say}'] as TrendJson).p99).toBe(trendJsonFrom(say).p99);
    expect((metrics['latency{name:join}'] as TrendJson).count).toBe(4 * 3 * 50);
    expect(metrics['frames_sent']).toEqual({ type: 'counter', count: framesSent, rate: framesSent / 4 });
    // The decoded total holds exactly the same counts, bucket by bucket.
    const decoded = decodeHistogram(latency.hdr);
    expect(decoded.totalCount).toBe(all.totalCount);
    expect(decoded.getValueAtPercentile(99.99)).toBe(all.getValueAtPercentile(99.99));
  });

  test('every counter is present even when zero, trends only with samples', () => {
    const agg = new MetricsAggregator({ startedAtEpochMs: 0 });
    const reg = new MetricsRegistry();
    reg.trend('connect'); // looked up, never recorded
    reg.add('frames_sent', 2);
    agg.add(0, 1, reg.takeSnapshot());
    const metrics = agg.metrics(2);
    for (const name of COUNTER_NAMES) expect(metrics[name]?.type).toBe('counter');
    expect(metrics['errors']).toEqual({ type: 'counter', count: 0, rate: 0 });
    expect(metrics['frames_sent']).toEqual({ type: 'counter', count: 2, rate: 1 });
    expect(metrics['connect']).toBeUndefined();
    expect(metrics['active_connections']).toEqual({ type: 'gauge', value: 0, min: 0, max: 0 });
  });

  test('errors count per kind and in total, keeping the earliest first message', () => {
    const agg = new MetricsAggregator({ startedAtEpochMs: 0 });
    const a = new MetricsRegistry();
    const b = new MetricsRegistry();
    a.error('expect_timeout', 'a: no frame matched /hello 1/ in 1s');
    agg.add(0, 2, a.takeSnapshot());
    b.error('expect_timeout', 'b: first, but reported for an earlier second');
    b.error('expect_timeout', 'b: second message is never kept');
    b.error('connect_refused', 'b: ECONNREFUSED 127.0.0.1:1');
    agg.add(1, 1, b.takeSnapshot());
    a.error('expect_timeout', 'a: later, already sent');
    a.add('errors'); // a kindless error counts as `other`, so the total stays the sum
    const snap = a.takeSnapshot();
    expect(snap.errorFirst).toEqual({}); // expect_timeout's first message was already sent
    agg.add(0, 3, snap);
    const metrics = agg.metrics(3);
    expect((metrics['errors'] as CounterJson).count).toBe(6);
    expect((metrics['errors{kind:expect_timeout}'] as CounterJson).count).toBe(4);
    expect((metrics['errors{kind:connect_refused}'] as CounterJson).count).toBe(1);
    expect((metrics['errors{kind:other}'] as CounterJson).count).toBe(1);
    expect(agg.errors()).toEqual([
      { kind: 'expect_timeout', count: 4, first: 'b: first, but reported for an earlier second' },
      { kind: 'connect_refused', count: 1, first: 'b: ECONNREFUSED 127.0.0.1:1' },
      { kind: 'other', count: 1, first: '' },
    ]);
  });

  test('timeseries sums workers per second, fills gaps, carries active forward', () => {
    const startedAtEpochMs = 1_000_000;
    const agg = new MetricsAggregator({ startedAtEpochMs });
    const a = new MetricsRegistry();
    const b = new MetricsRegistry();
    for (let i = 0; i < 3; i++) a.connectionOpened();
    a.add('frames_sent', 10);
    a.add('frames_received', 9);
    a.add('bytes_sent', 100);
    a.trend('latency', 'say').recordMs(2);
    a.trend('latency', 'say').recordMs(4);
    agg.add(0, 1, a.takeSnapshot());
    b.connectionOpened();
    b.connectionOpened();
    b.add('frames_sent', 5);
    b.trend('latency', 'say').recordMs(100);
    agg.add(1, 1, b.takeSnapshot());
    // Second 2: nobody reports. Second 3: only b, which closed one connection; a only waits.
    b.connectionClosed();
    b.trend('wait', 'tick').recordMs(7);
    b.error('reset', 'ECONNRESET');
    agg.add(1, 3, b.takeSnapshot());
    a.trend('wait', 'tick').recordMs(9);
    agg.add(0, 3, a.takeSnapshot());

    const series = agg.timeseries();
    expect(series.map((p) => p.t)).toEqual([1, 2, 3]);
    expect(series[0]).toMatchObject({ framesSent: 15, framesReceived: 9, bytesSent: 100, active: 5, errors: 0 });
    expect(series[0]!.at).toBe(startedAtEpochMs + 1000);
    // Three samples 2, 4, 100 ms: the median is 4 ms, p99 100 ms (at 3 significant digits).
    expectHdrValue(series[0]!.p50, 4);
    expectHdrValue(series[0]!.p99, 100);
    expect(series[1]).toMatchObject({ t: 2, framesSent: 0, active: 5, errors: 0, p50: null, p99: null });
    // No latency in second 3: p50/p99 come from `wait`.
    expect(series[2]).toMatchObject({ t: 3, active: 4, errors: 1 });
    expectHdrValue(series[2]!.p50, 7);
    expectHdrValue(series[2]!.p99, 9);
    expect(agg.point(2)).toBeUndefined();
    expect(agg.point(3)).toEqual(series[2]);

    const gauge = agg.metrics(3)['active_connections'] as GaugeJson;
    expect(gauge).toEqual({ type: 'gauge', value: 4, min: 4, max: 5 });
  });

  test('a worker snapshotting twice in one second adds counts; its last active value wins', () => {
    const agg = new MetricsAggregator({ startedAtEpochMs: 0 });
    const reg = new MetricsRegistry();
    reg.connectionOpened();
    reg.connectionOpened();
    reg.add('frames_sent', 3);
    agg.add(0, 2, reg.takeSnapshot());
    reg.connectionClosed();
    reg.add('frames_sent', 4);
    agg.add(0, 2.6, reg.takeSnapshot()); // the final snapshot, in the same second
    expect(agg.point(2)).toMatchObject({ framesSent: 7, active: 1 });
    expect(agg.timeseries()[0]).toMatchObject({ t: 1, framesSent: 0, active: 0 });
  });

  test('a long run keeps exact totals after per-second histograms are frozen', () => {
    const agg = new MetricsAggregator({ startedAtEpochMs: 0 });
    const regs = [new MetricsRegistry(), new MetricsRegistry()];
    const all = newHistogram();
    const perSecondP99: number[] = [];
    for (let second = 1; second <= 40; second++) {
      const sec = newHistogram();
      regs.forEach((reg, w) => {
        for (const ms of samples(second * 7 + w, 20)) {
          reg.trend('latency').recordMs(ms);
          recordMs(all, ms);
          recordMs(sec, ms);
        }
        agg.add(w, second, reg.takeSnapshot());
      });
      perSecondP99.push(trendJsonFrom(sec).p99);
    }
    const series = agg.timeseries();
    expect(series.map((p) => p.p99)).toEqual(perSecondP99);
    expect(agg.metrics(40)['latency']).toEqual(trendJsonFrom(all));
  });


  test('a straggler into a frozen second still adds every count; p99 becomes the max of both', () => {
    const agg = new MetricsAggregator({ startedAtEpochMs: 0 });
    const fast = new MetricsRegistry();
    const late = new MetricsRegistry();
    fast.trend('latency').recordMs(2);
    fast.add('frames_sent', 1);
    agg.add(0, 1, fast.takeSnapshot());
    agg.add(0, 2, fast.takeSnapshot()); // second 1 is now frozen: the only known worker moved on
    late.trend('latency').recordMs(50);
    late.add('frames_sent', 1);
    agg.add(1, 1, late.takeSnapshot());
    const p = agg.point(1)!;
    expect(p.framesSent).toBe(2);
    expectHdrValue(p.p99, 50);
    expectHdrValue(p.p50, 50); // an upper bound: the exact median of {2, 50} would be 2
    expect((agg.metrics(2)['latency'] as TrendJson).count).toBe(2);
  });
});

describe('registry', () => {
  test('a snapshot resets the interval: counters, trends and active min/max', () => {
    const reg = new MetricsRegistry();
    reg.connectionOpened();
    reg.connectionOpened();
    reg.connectionClosed();
    reg.add('bytes_received', 42);
    reg.trend('connect').recordMs(1.25);
    const first = reg.takeSnapshot();
    expect(first.active).toEqual({ value: 1, min: 0, max: 2 });
    expect(first.counters).toEqual({ bytes_received: 42 });
    expect(Object.keys(first.trends)).toEqual(['connect']);
    expect(decodeHistogram(first.trends['connect']!).totalCount).toBe(1);
    const second = reg.takeSnapshot();
    expect(second).toEqual({ trends: {}, counters: {}, errorFirst: {}, active: { value: 1, min: 1, max: 1 } });
  });

  test('handles are cached per (name, step) and a step records into both keys', () => {
    const reg = new MetricsRegistry();
    // Identity checks as booleans: a failing matcher would pretty-print 190 KB histograms.
    expect(reg.trend('latency', 'say') === reg.trend('latency', 'say')).toBe(true);
    expect(reg.trend('latency', 'say') === reg.trend('latency', 'join')).toBe(false);
    reg.trend('latency', 'say').recordMs(3);
    reg.trend('latency', 'join').recordMs(5);
    reg.trend('latency').recordMs(7);
    const snap = reg.takeSnapshot();
    expect(Object.keys(snap.trends).sort()).toEqual(['latency', 'latency{name:join}', 'latency{name:say}']);
    expect(decodeHistogram(snap.trends['latency']!).totalCount).toBe(3);
    expect(decodeHistogram(snap.trends['latency{name:say}']!).totalCount).toBe(1);
  });

  test('out-of-range values are clamped, NaN is dropped', () => {
    const reg = new MetricsRegistry();
    const h = reg.trend('ping');
    h.recordMs(0);
    h.recordMs(-3);
    h.recordMs(0.0004);
    h.recordMs(Infinity);
    h.recordMs(Number.NaN);
    const decoded = decodeHistogram(reg.takeSnapshot().trends['ping']!);
    expect(decoded.totalCount).toBe(4);
    const json = trendJsonFrom(decoded);
    expect(json.min).toBe(0.001);
    expect(json.p50).toBe(0.001);
    expect(json.max).toBeGreaterThanOrEqual(3_600_000);
    expect(json.max).toBeLessThan(3_600_000 * 1.001);
  });

  test('a snapshot survives structured cloning (postMessage)', () => {
    const reg = new MetricsRegistry();
    reg.trend('latency', 'say').recordMs(1);
    reg.error('send_failed', 'EPIPE');
    const snap = reg.takeSnapshot();
    expect(structuredClone(snap)).toEqual(snap);
  });
});
