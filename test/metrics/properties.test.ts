import { describe, expect, test } from 'vitest';
import fc from 'fast-check';
import { MetricsRegistry } from '../../src/metrics/registry.js';
import type { MetricsSnapshot } from '../../src/metrics/registry.js';
import { MetricsAggregator } from '../../src/metrics/aggregate.js';
import { decodeHistogram, encodeHistogram, newHistogram, recordMs, trendJsonFrom } from '../../src/metrics/hdr.js';
import type { CounterJson } from '../../src/report/types.js';

const WORKERS = 3;
const SECONDS = 4;

/** One recorded event: which worker, in which second, a latency and some frames. */
const eventArb = fc.record({
  worker: fc.integer({ min: 0, max: WORKERS - 1 }),
  second: fc.integer({ min: 1, max: SECONDS }),
  ms: fc.double({ min: 0, max: 3_600_000, noNaN: true }),
  frames: fc.nat({ max: 50 }),
});

interface Run {
  /** Every snapshot, in the order the coordinator would get them (second by second). */
  snapshots: { worker: number; second: number; snap: MetricsSnapshot }[];
  all: ReturnType<typeof newHistogram>;
  perSecond: ReturnType<typeof newHistogram>[];
  frames: number;
}

function record(events: readonly { worker: number; second: number; ms: number; frames: number }[]): Run {
  const regs = Array.from({ length: WORKERS }, () => new MetricsRegistry());
  const all = newHistogram();
  const perSecond = Array.from({ length: SECONDS + 1 }, () => newHistogram());
  const snapshots: Run['snapshots'] = [];
  let frames = 0;
  for (let second = 1; second <= SECONDS; second++) {
    for (const e of events) {
      if (e.second !== second) continue;
      regs[e.worker]!.trend('latency', 'say').recordMs(e.ms);
      regs[e.worker]!.add('frames_sent', e.frames);
      recordMs(all, e.ms);
      recordMs(perSecond[second]!, e.ms);
      frames += e.frames;
    }
    regs.forEach((reg, worker) => snapshots.push({ worker, second, snap: reg.takeSnapshot() }));
  }
  return { snapshots, all, perSecond, frames };
}

describe('aggregation properties', () => {
  test('workers x seconds aggregate to exactly one histogram of every sample, no count lost', () => {
    fc.assert(
      fc.property(fc.array(eventArb, { maxLength: 60 }), (events) => {
        const run = record(events);
        const agg = new MetricsAggregator({ startedAtEpochMs: 0 });
        for (const { worker, second, snap } of run.snapshots) agg.add(worker, second, snap);
        const metrics = agg.metrics(SECONDS);
        if (events.length === 0) expect(metrics['latency']).toBeUndefined();
        else {
          expect(metrics['latency']).toEqual(trendJsonFrom(run.all));
          expect(metrics['latency{name:say}']).toEqual(trendJsonFrom(run.all));
        }
        expect((metrics['frames_sent'] as CounterJson).count).toBe(run.frames);
        const series = agg.timeseries();
        expect(series.reduce((n, p) => n + p.framesSent, 0)).toBe(run.frames);
        // Per-second percentiles are exact too while every worker reports every second.
        for (const p of series) {
          const h = run.perSecond[p.t]!;
          expect(p.p99).toBe(h.totalCount === 0 ? null : trendJsonFrom(h).p99);
        }
      }),
      { numRuns: 40 },
    );
  });

  test('totals do not depend on the order snapshots arrive in', () => {
    fc.assert(
      fc.property(fc.array(eventArb, { maxLength: 40 }), fc.integer(), (events, seed) => {
        const run = record(events);
        const inOrder = new MetricsAggregator({ startedAtEpochMs: 0 });
        for (const { worker, second, snap } of run.snapshots) inOrder.add(worker, second, snap);
        // Interleave workers differently (each worker's own snapshots stay in order).
        const byWorker = Array.from({ length: WORKERS }, (_, w) => run.snapshots.filter((s) => s.worker === w));
        const shuffled = new MetricsAggregator({ startedAtEpochMs: 0 });
        let x = seed;
        while (byWorker.some((q) => q.length > 0)) {
          x = (x * 1103515245 + 12345) & 0x7fffffff;
          const candidates = byWorker.filter((q) => q.length > 0);
          const s = candidates[x % candidates.length]!.shift()!;
          shuffled.add(s.worker, s.second, s.snap);
        }
        expect(shuffled.metrics(SECONDS)).toEqual(inOrder.metrics(SECONDS));
        const counts = (a: MetricsAggregator): unknown => a.timeseries().map((p) => [p.framesSent, p.active]);
        expect(counts(shuffled)).toEqual(counts(inOrder));
      }),
      { numRuns: 30 },
    );
  });

  test('histogram addition is associative and survives encoding', () => {
    const samplesArb = fc.array(fc.double({ min: -1, max: 4_000_000, noNaN: true }), { maxLength: 30 });
    fc.assert(
      fc.property(samplesArb, samplesArb, samplesArb, (xs, ys, zs) => {
        const [a, b, c] = [xs, ys, zs].map((samples) => {
          const h = newHistogram();
          for (const ms of samples) recordMs(h, ms);
          return h;
        }) as [ReturnType<typeof newHistogram>, ReturnType<typeof newHistogram>, ReturnType<typeof newHistogram>];
        const left = newHistogram();
        left.add(a);
        left.add(b);
        const leftThenC = decodeHistogram(encodeHistogram(left));
        leftThenC.add(c);
        const right = newHistogram();
        right.add(b);
        right.add(c);
        const aThenRight = decodeHistogram(encodeHistogram(a));
        aThenRight.add(right);
        expect(trendJsonFrom(leftThenC)).toEqual(trendJsonFrom(aThenRight));
        expect(leftThenC.totalCount).toBe(xs.length + ys.length + zs.length);
      }),
      { numRuns: 40 },
    );
  });
});
