import { describe, expect, it } from 'vitest';
import { MetricsAggregator } from '../../src/metrics/aggregate.js';
import { MetricsRegistry } from '../../src/metrics/registry.js';
import type { GaugeJson } from '../../src/report/types.js';

describe('active_connections keeps peaks that open and close between two snapshots', () => {
  it('three sessions shorter than a second show as a peak of 3 although every sample reads 0', () => {
    const reg = new MetricsRegistry();
    const agg = new MetricsAggregator({ startedAtEpochMs: 0 });
    for (let i = 0; i < 3; i++) reg.connectionOpened();
    for (let i = 0; i < 3; i++) reg.connectionClosed();
    agg.add(0, 1, reg.takeSnapshot());
    agg.add(0, 2, reg.takeSnapshot());
    const gauge = agg.metrics(2)['active_connections'] as GaugeJson;
    expect(agg.timeseries().map((p) => p.active)).toEqual([0, 0]);
    expect(gauge.value).toBe(0);
    expect(gauge.max).toBe(3);
  });

  it('two workers: the peak adds each worker’s interval max', () => {
    const a = new MetricsRegistry();
    const b = new MetricsRegistry();
    const agg = new MetricsAggregator({ startedAtEpochMs: 0 });
    a.connectionOpened();
    a.connectionOpened();
    b.connectionOpened();
    b.connectionClosed();
    agg.add(0, 1, a.takeSnapshot());
    agg.add(1, 1, b.takeSnapshot());
    expect((agg.metrics(1)['active_connections'] as GaugeJson).max).toBe(3);
  });
});
