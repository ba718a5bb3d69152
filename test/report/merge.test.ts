import { describe, expect, test } from 'vitest';
import fc from 'fast-check';
import { mergeReports } from '../../src/report/merge.js';
import { MetricsRegistry } from '../../src/metrics/registry.js';
import { MetricsAggregator } from '../../src/metrics/aggregate.js';
import { newHistogram, recordMs, trendJsonFrom } from '../../src/metrics/hdr.js';
import type { Histogram } from '../../src/metrics/hdr.js';
import type { ErrorKind } from '../../src/metrics/names.js';
import { VolleyError } from '../../src/errors.js';
import type { CounterJson, GaugeJson, ReportJson, TrendJson } from '../../src/report/types.js';

interface SecondSpec {
  latencyMs: number[];
  framesSent: number;
  opened: number;
  closed: number;
  errors?: [ErrorKind, string][];
}

interface ShardSpec {
  startMs: number;
  seconds: SecondSpec[];
  sha256?: string;
  lagMs?: number;
  cpuPercent?: number;
  connections?: number;
  interrupted?: boolean;
  hostname?: string;
  /** load.segment; default 1/2 */
  segment?: string;
}

const T0 = Date.parse('2026-01-05T10:00:00.000Z');

/** A shard report built the way the engine builds one: a real registry into a real aggregator. */
function shardReport(spec: ShardSpec, allSamples?: Histogram): ReportJson {
  const agg = new MetricsAggregator({ startedAtEpochMs: spec.startMs });
  const reg = new MetricsRegistry();
  spec.seconds.forEach((sec, i) => {
    const say = reg.trend('latency', 'say');
    for (const ms of sec.latencyMs) {
      say.recordMs(ms);
      if (allSamples) recordMs(allSamples, ms);
    }
    reg.add('frames_sent', sec.framesSent);
    for (let k = 0; k < sec.opened; k++) reg.connectionOpened();
    for (let k = 0; k < sec.closed; k++) reg.connectionClosed();
    for (const [kind, message] of sec.errors ?? []) reg.error(kind, message);
    agg.add(0, i + 1, reg.takeSnapshot());
  });
  const durationS = spec.seconds.length;
  const report: ReportJson = {
    format: 1,
    scenario: { name: 'chat', file: 'scenarios/chat.yaml', sha256: spec.sha256 ?? 'a'.repeat(64) },
    target: 'ws://127.0.0.1:9001/chat',
    startedAt: new Date(spec.startMs).toISOString(),
    endedAt: new Date(spec.startMs + durationS * 1000).toISOString(),
    durationS,
    transport: 'ws',
    environment: { volley: '0.1.0', node: 'v20.0.0', cpus: 2, workers: 1, hostname: spec.hostname ?? 'host-a' },
    load: { model: 'connections', connections: spec.connections ?? 5, durationS, gracefulStopS: 5, segment: spec.segment ?? '1/2' },
    metrics: agg.metrics(durationS),
    timeseries: agg.timeseries(),
    thresholds: [{ metric: 'latency', expression: 'p(99) < 1ms', actual: 2, ok: false }],
    errors: agg.errors(),
    harness: { eventLoopLagP99Ms: spec.lagMs ?? 1, cpuPercent: spec.cpuPercent ?? 50, limited: false },
  };
  if (spec.interrupted) report.interrupted = true;
  return report;
}

const second = (latencyMs: number[], framesSent: number, opened = 0, closed = 0): SecondSpec => ({
  latencyMs,
  framesSent,
  opened,
  closed,
});

describe('mergeReports', () => {
  test('two shards: counts add, max is the largest shard max, percentiles are those of all samples', () => {
    const all = newHistogram();
    const a = shardReport(
      {
        startMs: T0,
        seconds: [second([1, 2, 3, 250], 10, 5), second([4, 5, 6], 20), second([7], 5, 0, 5)],
        lagMs: 3,
        cpuPercent: 40,
      },
      all,
    );
    const b = shardReport(
      {
        startMs: T0 + 2300, // starts 2.3 s later: its first second ends at merged t = 3
        segment: '2/2',
        seconds: [second([0.5, 0.7, 900], 7, 4), second([8, 9], 3), second([10], 1), second([11], 1, 0, 4)],
        lagMs: 12,
        cpuPercent: 61,
        interrupted: true,
      },
      all,
    );
    const merged = mergeReports([a, b], ['a.json', 'b.json']);

    const latency = merged.metrics['latency'] as TrendJson;
    expect(latency).toEqual(trendJsonFrom(all));
    expect(latency.count).toBe(8 + 7);
    const shardMax = Math.max((a.metrics['latency'] as TrendJson).max, (b.metrics['latency'] as TrendJson).max);
    expect(latency.max).toBe(shardMax);
    expect((merged.metrics['latency{name:say}'] as TrendJson).count).toBe(15);
    // Not an average of the shards' p50s.
    expect(latency.p50).toBe(trendJsonFrom(all).p50);

    // Wall-clock span: from a's start to b's end (2.3 s + 4 s).
    expect(merged.startedAt).toBe(a.startedAt);
    expect(merged.endedAt).toBe(b.endedAt);
    expect(merged.durationS).toBeCloseTo(6.3, 9);
    const framesSent = merged.metrics['frames_sent'] as CounterJson;
    expect(framesSent.count).toBe(35 + 12);
    expect(framesSent.rate).toBeCloseTo(47 / 6.3, 9);
    expect(merged.metrics['sessions_dropped']).toEqual({ type: 'counter', count: 0, rate: 0 });

    // Series aligned by `at`: b's seconds (ending 3.3 s .. 6.3 s after a's start) land in
    // merged 3..6; a has closed its 5 connections when b opens its 4.
    expect(merged.timeseries.map((p) => p.t)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(merged.timeseries.map((p) => p.framesSent)).toEqual([10, 20, 5 + 7, 3, 1, 1]);
    expect(merged.timeseries.map((p) => p.active)).toEqual([5, 5, 4, 4, 4, 0]);
    expect(merged.timeseries.map((p) => p.at)).toEqual([1, 2, 3, 4, 5, 6].map((t) => T0 + t * 1000));
    expect(merged.metrics['active_connections']).toEqual({ type: 'gauge', value: 0, min: 0, max: 5 });
    // Per-second p99 is the max of the shards' (documented as an upper bound).
    expect(merged.timeseries[2]!.p99).toBe(Math.max(a.timeseries[2]!.p99!, b.timeseries[0]!.p99!));

    expect(merged.thresholds).toEqual([]);
    expect(merged.mergedFrom).toEqual(['a.json', 'b.json']);
    expect(merged.interrupted).toBe(true);
    expect(merged.harness).toEqual({ eventLoopLagP99Ms: 12, cpuPercent: 50.5, limited: false });
    expect(merged.environment).toMatchObject({ cpus: 2, workers: 2, processes: 2, hostname: 'host-a' });
    expect(merged.load).toEqual({ model: 'connections', connections: 10, durationS: 4, gracefulStopS: 5, segments: ['1/2', '2/2'] });
  });

  test('the merged gauge peak is the peak of the summed series, not the largest shard', () => {
    const a = shardReport({ startMs: T0, seconds: [second([1], 1, 5), second([1], 1), second([1], 1, 0, 5)] });
    const b = shardReport({ startMs: T0 + 200, seconds: [second([1], 1, 4), second([1], 1), second([1], 1, 0, 4)], segment: '2/2' });
    const merged = mergeReports([a, b], ['a.json', 'b.json']);
    expect((a.metrics['active_connections'] as GaugeJson).max).toBe(5);
    expect(merged.timeseries.map((p) => p.active)).toEqual([9, 9, 0]);
    expect(merged.metrics['active_connections']).toEqual({ type: 'gauge', value: 0, min: 0, max: 9 });
  });

  test('errors add by kind and keep the earliest shard first message', () => {
    const late = shardReport({
      startMs: T0 + 5000,
      seconds: [{ ...second([], 0), errors: [['expect_timeout', 'late shard'], ['reset', 'ECONNRESET']] }],
    });
    const early = shardReport({
      startMs: T0,
      segment: '2/2',
      seconds: [{ ...second([], 0), errors: [['expect_timeout', 'early shard'], ['expect_timeout', 'again']] }],
    });
    const merged = mergeReports([late, early], ['late.json', 'early.json']);
    expect(merged.errors).toEqual([
      { kind: 'expect_timeout', count: 3, first: 'early shard' },
      { kind: 'reset', count: 1, first: 'ECONNRESET' },
    ]);
    expect((merged.metrics['errors'] as CounterJson).count).toBe(4);
    // No trend without samples appears.
    expect(merged.metrics['latency']).toBeUndefined();
  });

  test('cpus count once per host, and add across hosts', () => {
    const a = shardReport({ startMs: T0, seconds: [second([1], 1)], hostname: 'h1', segment: '1/3' });
    const b = shardReport({ startMs: T0 + 1, seconds: [second([1], 1)], hostname: 'h2', segment: '2/3' });
    const c = shardReport({ startMs: T0 + 2, seconds: [second([1], 1)], hostname: 'h2', segment: '3/3' });
    const merged = mergeReports([a, b, c], ['a', 'b', 'c']);
    expect(merged.environment).toMatchObject({ cpus: 4, workers: 3, processes: 3 });
    expect(merged.environment.hostname).toBeUndefined();
  });

  test('refuses shards of a different scenario, naming the file', () => {
    const a = shardReport({ startMs: T0, seconds: [second([1], 1)] });
    const b = shardReport({ startMs: T0, seconds: [second([1], 1)], sha256: 'b'.repeat(64), segment: '2/2' });
    const attempt = (): ReportJson => mergeReports([a, b], ['shards/0.json', 'shards/1.json']);
    expect(attempt).toThrow(VolleyError);
    expect(attempt).toThrow(/^shards\/1\.json: ran a different scenario \(sha256 bbbbbbbbbbbb…\) than shards\/0\.json/);
    try {
      attempt();
    } catch (err) {
      expect((err as VolleyError).code).toBe('INVALID_INPUT');
    }
  });

  test('refuses another format, another transport, a damaged histogram and no input', () => {
    const a = shardReport({ startMs: T0, seconds: [second([1], 1)] });
    const other = { ...a, load: { ...a.load!, segment: '2/2' } };
    const v2 = { ...other, format: 2 } as unknown as ReportJson;
    expect(() => mergeReports([a, v2], ['a.json', 'v2.json'])).toThrow(/^v2\.json: report format 2 cannot be merged/);
    const lp = { ...other, transport: 'long-poll' };
    expect(() => mergeReports([a, lp], ['a.json', 'lp.json'])).toThrow(/^lp\.json: ran over transport long-poll/);
    const damaged: ReportJson = {
      ...other,
      startedAt: new Date(T0 + 5).toISOString(),
      metrics: { ...a.metrics, latency: { ...(a.metrics['latency'] as TrendJson), hdr: 'HISTFAAA!!' } },
    };
    expect(() => mergeReports([a, damaged], ['a.json', 'bad.json'])).toThrow(
      /^bad\.json: metric "latency" has an hdr histogram that does not decode/,
    );
    expect(() => mergeReports([], [])).toThrow(VolleyError);
  });

  test('refuses one shard given twice (it would count its sessions twice), naming both files', () => {
    const a = shardReport({ startMs: T0, seconds: [second([1, 2], 3)] });
    expect(() => mergeReports([a, a], ['out/s1/report.json', 'copy.json'])).toThrow(
      /^copy\.json: holds shard 1\/2, which out\/s1\/report\.json already holds; each shard merges once$/,
    );
    // Another run of the same segment (a retry, a second --processes run) would double it too.
    const again = shardReport({ startMs: T0 + 60_000, seconds: [second([1, 2], 3)] });
    expect(() => mergeReports([a, again], ['run1.json', 'run2.json'])).toThrow(/^run2\.json: holds shard 1\/2, which run1\.json already holds/);
    // As does a merged report beside one of its own shards.
    const b = shardReport({ startMs: T0 + 3, seconds: [second([4], 1)], segment: '2/2' });
    const whole = mergeReports([a, b], ['a.json', 'b.json']);
    expect(whole.metrics['frames_sent']).toBeDefined();
    expect(() => mergeReports([whole, b], ['m.json', 'b.json'])).toThrow(/^b\.json: holds shard 2\/2, which m\.json already holds/);
    // Runs without segments (two whole runs) still merge.
    const [u, v] = [{ ...a, load: { ...a.load!, segment: undefined } }, { ...again, load: { ...again.load!, segment: undefined } }];
    expect(mergeReports([u, v], ['u.json', 'v.json']).metrics['frames_sent']).toBeDefined();
  });

  test('merging one report keeps its metrics', () => {
    const a = shardReport({ startMs: T0, seconds: [second([1, 2, 3], 4, 2), second([9], 1, 0, 2)] });
    const merged = mergeReports([a], ['a.json']);
    expect(merged.metrics).toEqual(a.metrics);
    expect(merged.timeseries).toEqual(a.timeseries);
    expect(merged.errors).toEqual(a.errors);
  });
});

describe('mergeReports properties', () => {
  const secondArb: fc.Arbitrary<SecondSpec> = fc.record({
    latencyMs: fc.array(fc.double({ min: 0, max: 60_000, noNaN: true }), { maxLength: 20 }),
    framesSent: fc.nat({ max: 1000 }),
    opened: fc.nat({ max: 5 }),
    closed: fc.constant(0),
    errors: fc.array(
      fc.tuple(fc.constantFrom<ErrorKind>('expect_timeout', 'reset', 'connect_refused'), fc.string({ maxLength: 8 })),
      { maxLength: 3 },
    ),
  });
  const shardArb: fc.Arbitrary<ShardSpec> = fc.record({
    startMs: fc.integer({ min: T0, max: T0 + 5000 }),
    seconds: fc.array(secondArb, { minLength: 1, maxLength: 4 }),
  });

  /**
   * What must not depend on how shards are grouped. Not harness CPU (a mean of means), and not
   * which first message an error kind keeps: reports carry no time for it, so "earliest" means
   * the earliest-starting shard, and a merged report starts when its earliest shard did.
   */
  function essence(r: ReportJson): unknown {
    return {
      metrics: r.metrics,
      timeseries: r.timeseries,
      errorCounts: r.errors.map((e) => [e.kind, e.count]),
      durationS: r.durationS,
      startedAt: r.startedAt,
      endedAt: r.endedAt,
      processes: r.environment.processes,
      connections: r.load.connections,
    };
  }

  test('merging is associative and loses no count', () => {
    fc.assert(
      fc.property(shardArb, shardArb, shardArb, (sa, sb, sc) => {
        const all = newHistogram();
        const [a, b, c] = [
          shardReport({ ...sa, segment: '1/3' }, all),
          shardReport({ ...sb, segment: '2/3' }, all),
          shardReport({ ...sc, segment: '3/3' }, all),
        ];
        const flat = mergeReports([a, b, c], ['a', 'b', 'c']);
        const left = mergeReports([mergeReports([a, b], ['a', 'b']), c], ['ab', 'c']);
        const right = mergeReports([a, mergeReports([b, c], ['b', 'c'])], ['a', 'bc']);
        expect(essence(left)).toEqual(essence(flat));
        expect(essence(right)).toEqual(essence(flat));

        // No count lost: every sample, frame and error is in the merge.
        const count = (r: ReportJson, key: string): number => (r.metrics[key] as CounterJson | TrendJson | undefined)?.count ?? 0;
        expect(count(flat, 'latency')).toBe(all.totalCount);
        if (all.totalCount > 0) expect(flat.metrics['latency']).toEqual(trendJsonFrom(all));
        for (const key of ['frames_sent', 'errors', 'errors{kind:reset}']) {
          expect(count(flat, key)).toBe(count(a, key) + count(b, key) + count(c, key));
        }
        const seriesSum = flat.timeseries.reduce((n, p) => n + p.framesSent, 0);
        expect(seriesSum).toBe(count(flat, 'frames_sent'));
        const seriesErrors = flat.timeseries.reduce((n, p) => n + p.errors, 0);
        expect(seriesErrors).toBe(count(flat, 'errors'));
      }),
      { numRuns: 25 },
    );
  });

  test('merging is commutative in everything but the order of mergedFrom', () => {
    fc.assert(
      fc.property(shardArb, shardArb, (sa, sb) => {
        const [a, b] = [shardReport({ ...sa, segment: '1/2' }), shardReport({ ...sb, segment: '2/2' })];
        expect(essence(mergeReports([b, a], ['b', 'a']))).toEqual(essence(mergeReports([a, b], ['a', 'b'])));
      }),
      { numRuns: 15 },
    );
  });
});
