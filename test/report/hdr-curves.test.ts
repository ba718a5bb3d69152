// The percentile chart pairs latency with service_time. Delivery latencies of pushes (a lone
// expect with latencyFrom) are in `latency` but have no service_time: mixed in, the solid curve
// sat below the dashed one (feed: 0.1-3 ms against 8-13 ms). They get a curve of their own.

import { describe, expect, it } from 'vitest';
import { newHistogram, recordMs, trendJsonFrom } from '../../src/metrics/hdr.js';
import { hdrCurvesOf } from '../../src/report/html.js';
import { makeReport } from '../helpers/report-fixtures.js';

function trendOf(valuesMs: number[]) {
  const h = newHistogram();
  for (const v of valuesMs) recordMs(h, v);
  return trendJsonFrom(h);
}

describe('hdrCurvesOf', () => {
  it('splits named delivery latencies off the request/response latency', () => {
    const pairs = Array.from({ length: 50 }, (_, i) => 10 + i * 0.1); // 10-15 ms round trips
    const pushes = Array.from({ length: 500 }, (_, i) => 0.5 + i * 0.001); // ~0.5 ms deliveries
    const report = makeReport();
    report.metrics = {
      latency: trendOf([...pairs, ...pushes]),
      'latency{name:say}': trendOf(pairs),
      'latency{name:tick}': trendOf(pushes),
      service_time: trendOf(pairs),
      'service_time{name:say}': trendOf(pairs),
    };
    const curves = hdrCurvesOf(report);
    expect(curves.map((c) => c.metric)).toEqual(['latency', 'service_time', 'delivery']);
    const [latency, service, delivery] = curves;
    // The solid curve is the round trips' own: never below service_time at the same percentile.
    expect(latency!.curve).toEqual(service!.curve);
    expect(Math.max(...delivery!.curve.map((p) => p.valueMs))).toBeLessThan(1);
  });

  it('draws latency and service_time as they are when they hold the same samples', () => {
    const pairs = [1, 2, 3, 4];
    const report = makeReport();
    report.metrics = { latency: trendOf(pairs), service_time: trendOf(pairs) };
    expect(hdrCurvesOf(report).map((c) => c.metric)).toEqual(['latency', 'service_time']);
  });

  it('a run with no request/response sample shows what it measured (connect), not empty curves', () => {
    const report = makeReport();
    report.metrics = { latency: trendOf([]), service_time: trendOf([]), connect: trendOf([1, 2]) };
    expect(hdrCurvesOf(report).map((c) => c.metric)).toEqual(['connect']);
  });
});
