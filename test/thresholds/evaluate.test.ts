import { describe, expect, test } from 'vitest';
import { evaluateThresholds, thresholdsFailed } from '../../src/thresholds/evaluate.js';
import { parseThresholdExpression } from '../../src/thresholds/parse.js';
import { MetricsRegistry } from '../../src/metrics/registry.js';
import { MetricsAggregator } from '../../src/metrics/aggregate.js';
import { decodeHistogram, newHistogram, recordMs, usToMs } from '../../src/metrics/hdr.js';
import { parseMetricKey } from '../../src/metrics/names.js';
import type { MetricJson, TrendJson } from '../../src/report/types.js';
import type { ThresholdSpec } from '../../src/scenario/types.js';

function spec(metric: string, expression: string, abortOnFail = false): ThresholdSpec {
  const parsed = parseThresholdExpression(expression);
  if (!parsed.ok) throw new Error(parsed.message);
  const key = parseMetricKey(metric);
  if (!key) throw new Error(`bad metric key ${metric}`);
  return {
    metric,
    metricName: key.name,
    tags: key.tags,
    expression,
    parsed: parsed.value,
    abortOnFail,
    delayAbortEvalMs: 0,
    pos: { line: 1, col: 1 },
  };
}

/**
 * Metrics from a real run of the registry: latency{name:say} holds 1..100 ms (one sample per
 * whole ms), connect holds 3 samples, 40 frames over 4 s, 2 expect timeouts, 7 connections
 * at peak and 5 at the end.
 */
function buildMetrics(): Record<string, MetricJson> {
  const agg = new MetricsAggregator({ startedAtEpochMs: 0 });
  const reg = new MetricsRegistry();
  const say = reg.trend('latency', 'say');
  for (let ms = 1; ms <= 100; ms++) say.recordMs(ms);
  for (const ms of [10, 20, 30]) reg.trend('connect').recordMs(ms);
  reg.add('frames_sent', 40);
  reg.error('expect_timeout', 'no frame matched');
  reg.error('expect_timeout', 'no frame matched');
  for (let i = 0; i < 7; i++) reg.connectionOpened();
  agg.add(0, 1, reg.takeSnapshot());
  reg.connectionClosed();
  reg.connectionClosed();
  agg.add(0, 4, reg.takeSnapshot());
  return agg.metrics(4);
}

/** What HDR reports for a recorded value: the top of its bucket (within 0.1% above). */
function bucketTop(ms: number): number {
  const h = newHistogram();
  recordMs(h, ms);
  return usToMs(h.getValueAtPercentile(100));
}

const metrics = buildMetrics();
const say = metrics['latency{name:say}'] as TrendJson;

describe('evaluateThresholds', () => {
  const table: [string, string, string, number | null, boolean][] = [
    ['p(99) of 1..100 ms is 99 ms, under 100 ms', 'latency{name:say}', 'p(99) < 100ms', bucketTop(99), true],
    ['p(99) under 99 ms fails', 'latency{name:say}', 'p(99) < 99ms', bucketTop(99), false],
    ['p(50) is 50 ms, and seconds convert', 'latency{name:say}', 'p(50) < 0.051s', bucketTop(50), true],
    ['an unusual percentile, p(37.5), comes from the histogram', 'latency{name:say}', 'p(37.5) < 38ms', bucketTop(38), false],
    ['p(100) is the max', 'latency{name:say}', 'p(100) >= 100ms', say.max, true],
    ['med is p50', 'latency{name:say}', 'med == 50ms', say.p50, false],
    ['avg is the mean', 'latency{name:say}', 'avg > 50ms', say.mean, true],
    ['min of a trend', 'latency{name:say}', 'min == 1ms', 1, true],
    ['max of a trend', 'latency{name:say}', 'max < 100ms', say.max, false],
    ['count of a trend', 'latency{name:say}', 'count == 100', 100, true],
    ['the untagged trend holds the tagged samples', 'latency', 'count >= 100', 100, true],
    ['tags are matched canonically, spaces and all', 'latency{ name: say }', 'p(99) < 100ms', bucketTop(99), true],
    ['a trend with no samples cannot pass a latency gate', 'latency{name:nothing}', 'p(99) < 1000s', null, false],
    ['a trend with no samples fails even a lenient > gate', 'ping', 'max >= 0ms', null, false],
    ['a trend with no samples has count 0', 'ping', 'count == 0', 0, true],
    ['counter count', 'frames_sent', 'count == 40', 40, true],
    ['counter rate is per second over the run', 'frames_sent', 'rate >= 10', 10, true],
    ['errors by kind', 'errors{kind:expect_timeout}', 'count < 2', 2, false],
    ['errors total rate', 'errors', 'rate < 0.001', 0.5, false],
    ['a counter that never counted is 0', 'sessions_dropped', 'count == 0', 0, true],
    ['an error kind that never happened is 0', 'errors{kind:reset}', 'rate == 0', 0, true],
    ['gauge value is the last', 'active_connections', 'value == 5', 5, true],
    ['gauge max is the peak', 'active_connections', 'max <= 6', 7, false],
    ['gauge min', 'active_connections', 'min >= 5', 5, true],
    ['!= compares exactly', 'frames_sent', 'count != 40', 40, false],
    ['a method that does not suit the type is not a pass', 'frames_sent', 'p(99) < 10ms', null, false],
    ['an unknown metric is not a pass', 'nonsense', 'count == 0', null, false],
  ];
  test.each(table)('%s', (_title, metric, expression, actual, ok) => {
    const [result] = evaluateThresholds([spec(metric, expression)], metrics);
    // The result names the metric as report.metrics spells it (tags without spaces).
    expect(result).toEqual({ metric: metric.replace(/\s+/g, ''), expression, actual, ok });
  });

  test('p(N) of the JSON agrees with the histogram it carries', () => {
    const h = decodeHistogram(say.hdr);
    const [p999] = evaluateThresholds([spec('latency{name:say}', 'p(99.9) < 1s')], metrics);
    expect(p999!.actual).toBe(say.p999);
    expect(p999!.actual).toBe(Math.round(h.getValueAtPercentile(99.9)) / 1000);
  });

  test('results keep spec order, the verbatim expression, and abortOnFail', () => {
    const results = evaluateThresholds(
      [spec('connect', 'p(95)<200ms', true), spec('frames_sent', 'count > 0')],
      metrics,
    );
    expect(results.map((r) => r.expression)).toEqual(['p(95)<200ms', 'count > 0']);
    expect(results[0]).toMatchObject({ metric: 'connect', ok: true, abortOnFail: true });
    expect(results[1]).not.toHaveProperty('abortOnFail');
  });

  test('a damaged hdr falls back to the stored percentiles', () => {
    const damaged: Record<string, MetricJson> = { ...metrics, 'latency{name:say}': { ...say, hdr: 'not base64!' } };
    const results = evaluateThresholds(
      [spec('latency{name:say}', 'p(99) < 100ms'), spec('latency{name:say}', 'p(42) < 100ms')],
      damaged,
    );
    expect(results.map((r) => [r.actual, r.ok])).toEqual([
      [say.p99, true],
      [null, false],
    ]);
  });
});

describe('thresholdsFailed', () => {
  test('true when any failed, false when all passed or there are none', () => {
    expect(thresholdsFailed([])).toBe(false);
    expect(thresholdsFailed(evaluateThresholds([spec('frames_sent', 'count == 40')], metrics))).toBe(false);
    expect(
      thresholdsFailed(evaluateThresholds([spec('frames_sent', 'count == 40'), spec('ping', 'p(99) < 1s')], metrics)),
    ).toBe(true);
  });
});
