import { describe, expect, it } from 'vitest';
import { decodeHistogram, newHistogram, recordMs } from '../../src/metrics/hdr.js';
import { MetricsRegistry } from '../../src/metrics/registry.js';

// A named step records each sample once (into latency{name:…}); the untagged latency is built
// from its children at snapshot time. It must hold exactly every sample, named or not.
describe('the untagged trend holds every sample of its named steps and of unnamed ones', () => {
  it('counts and percentiles equal one histogram of all samples, snapshot after snapshot', () => {
    const reg = new MetricsRegistry();
    const say = reg.trend('latency', 'say');
    const join = reg.trend('latency', 'join');
    const unnamed = reg.trend('latency');
    const all = newHistogram();
    for (let round = 0; round < 3; round++) {
      const roundAll = newHistogram();
      for (let i = 0; i < 500; i++) {
        const a = 0.1 + ((i * 7) % 97) / 10;
        const b = 5 + ((i * 13) % 89);
        say.recordMs(a);
        recordMs(all, a);
        recordMs(roundAll, a);
        if (i % 2 === 0) {
          join.recordMs(b);
          recordMs(all, b);
          recordMs(roundAll, b);
        }
        if (i % 5 === 0) {
          unnamed.recordMs(1.5);
          recordMs(all, 1.5);
          recordMs(roundAll, 1.5);
        }
      }
      const snap = reg.takeSnapshot();
      const untagged = decodeHistogram(snap.trends['latency']!);
      const saySnap = decodeHistogram(snap.trends['latency{name:say}']!);
      const joinSnap = decodeHistogram(snap.trends['latency{name:join}']!);
      expect(saySnap.totalCount).toBe(500);
      expect(joinSnap.totalCount).toBe(250);
      expect(untagged.totalCount).toBe(500 + 250 + 100);
      for (const p of [50, 90, 99, 99.9, 100]) expect(untagged.getValueAtPercentile(p)).toBe(roundAll.getValueAtPercentile(p));
    }
    // Nothing left over after the last snapshot.
    expect(reg.takeSnapshot().trends).toEqual({});
    expect(all.totalCount).toBe(3 * 850);
  });
});

// A reply's service_time and latency are one sample when nothing was late: recorded once, added
// to both series at snapshot time. Each series must still equal its own histogram of every
// sample, late or not, named step or not.
describe('reply pairs: service_time and latency recorded together equal two separate histograms', () => {
  it('with and without lateness, for a named and an unnamed step, snapshot after snapshot', () => {
    const reg = new MetricsRegistry();
    const named = reg.replyTrends('echo');
    const unnamed = reg.replyTrends();
    for (let round = 0; round < 3; round++) {
      const want: Record<string, ReturnType<typeof newHistogram>> = {};
      const rec = (key: string, ms: number) => recordMs((want[key] ??= newHistogram()), ms);
      for (let i = 0; i < 400; i++) {
        const service = 0.2 + ((i * 11) % 83) / 7;
        const lateness = i % 3 === 0 ? ((i * 5) % 41) + 0.5 : 0;
        const [handle, tag] = i % 4 === 0 ? [unnamed, ''] : [named, '{name:echo}'];
        handle.record(service, lateness);
        rec(`service_time${tag}`, service);
        rec(`latency${tag}`, service + lateness);
        // The untagged series hold every sample, the named step's included.
        if (tag) {
          rec('service_time', service);
          rec('latency', service + lateness);
        }
      }
      const snap = reg.takeSnapshot();
      expect(Object.keys(snap.trends).sort()).toEqual(Object.keys(want).sort());
      for (const [key, h] of Object.entries(want)) {
        const got = decodeHistogram(snap.trends[key]!);
        expect(got.totalCount, key).toBe(h.totalCount);
        for (const p of [1, 25, 50, 75, 90, 99, 100]) expect(got.getValueAtPercentile(p), `${key} p${p}`).toBe(h.getValueAtPercentile(p));
      }
    }
    expect(reg.takeSnapshot().trends).toEqual({});
  });
});
