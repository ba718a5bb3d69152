// Threshold evaluation: k6's third phase (Parse -> Validate -> Run), against the report's
// metrics. Pure: the same specs and metrics always give the same results, so the engine can
// call it every few seconds for abortOnFail and once at the end, and `volley merge`'s caller
// can re-evaluate a merged report.

import { decodeHistogram, usToMs } from '../metrics/hdr.js';
import type { Histogram } from '../metrics/hdr.js';
import { metricKey, metricTypeOf } from '../metrics/names.js';
import type { MetricType } from '../metrics/names.js';
import type { MetricJson, ThresholdResultJson, TrendJson } from '../report/types.js';
import type { ThresholdExpression, ThresholdOp, ThresholdSpec } from '../scenario/types.js';

/**
 * One result per spec, in order. Actual values are in the metric's unit (ms for trends, per
 * second for a counter's `rate`). Rules for what was not measured:
 * - a trend with no samples: actual null, ok false (nothing measured cannot pass a latency
 *   gate), except `count`, which is honestly 0;
 * - a missing counter counts as 0 (count and rate), a missing gauge as 0;
 * - a method that does not suit the metric's type (parse.ts's validation should have caught
 *   it), or a metric of unknown type: actual null, ok false.
 */
export function evaluateThresholds(
  specs: readonly ThresholdSpec[],
  metrics: Readonly<Record<string, MetricJson>>,
): ThresholdResultJson[] {
  const decoded = new Map<string, Histogram | null>();
  const histogramOf = (key: string, trend: TrendJson): Histogram | null => {
    let h = decoded.get(key);
    if (h === undefined) {
      try {
        h = decodeHistogram(trend.hdr);
      } catch {
        h = null; // a report whose hdr is damaged: fall back to the JSON's own percentiles
      }
      decoded.set(key, h);
    }
    return h;
  };

  return specs.map((spec) => {
    const key = metricKey(spec.metricName, spec.tags);
    const metric = metrics[key] ?? metrics[spec.metric];
    const type: MetricType | undefined = metric?.type ?? metricTypeOf(spec.metricName);
    const actual = actualValue(type, metric, spec.parsed, (t) => histogramOf(key, t));
    const result: ThresholdResultJson = {
      // The key as report.metrics spells it ("latency{name: say}" as written is latency{name:say}).
      metric: key,
      expression: spec.expression,
      actual,
      ok: actual !== null && compare(actual, spec.parsed.op, spec.parsed.value),
    };
    if (spec.abortOnFail) result.abortOnFail = true;
    return result;
  });
}

/** True when any threshold failed. */
export function thresholdsFailed(results: readonly ThresholdResultJson[]): boolean {
  return results.some((r) => !r.ok);
}

function actualValue(
  type: MetricType | undefined,
  metric: MetricJson | undefined,
  expr: ThresholdExpression,
  histogramOf: (t: TrendJson) => Histogram | null,
): number | null {
  switch (type) {
    case 'trend': {
      const trend = metric?.type === 'trend' ? metric : undefined;
      if (expr.method === 'count') return trend?.count ?? 0;
      if (trend === undefined || trend.count === 0) return null;
      switch (expr.method) {
        case 'p':
          return percentileOf(trend, expr.percentile ?? 50, histogramOf);
        case 'avg':
          return trend.mean;
        case 'min':
          return trend.min;
        case 'max':
          return trend.max;
        case 'med':
          return trend.p50;
        default:
          return null;
      }
    }
    case 'counter': {
      const counter = metric?.type === 'counter' ? metric : undefined;
      if (expr.method === 'count') return counter?.count ?? 0;
      if (expr.method === 'rate') return counter?.rate ?? 0;
      return null;
    }
    case 'gauge': {
      const gauge = metric?.type === 'gauge' ? metric : undefined;
      if (expr.method === 'value') return gauge?.value ?? 0;
      if (expr.method === 'min') return gauge?.min ?? 0;
      if (expr.method === 'max') return gauge?.max ?? 0;
      return null;
    }
    default:
      return null;
  }
}

// The JSON's own fields, for when the histogram cannot be decoded.
const STORED_PERCENTILES: ReadonlyMap<number, keyof TrendJson> = new Map([
  [50, 'p50'],
  [90, 'p90'],
  [95, 'p95'],
  [99, 'p99'],
  [99.9, 'p999'],
  [100, 'max'],
] as const);

/** Any p(N), from the histogram (the same bucket rule trendJsonFrom uses for p50..max). */
function percentileOf(trend: TrendJson, percentile: number, histogramOf: (t: TrendJson) => Histogram | null): number | null {
  const h = histogramOf(trend);
  if (h !== null && h.totalCount > 0) return usToMs(h.getValueAtPercentile(percentile));
  const field = STORED_PERCENTILES.get(percentile);
  if (field === undefined) return null;
  const v = trend[field];
  return typeof v === 'number' ? v : null;
}

function compare(actual: number, op: ThresholdOp, expected: number): boolean {
  switch (op) {
    case '<':
      return actual < expected;
    case '<=':
      return actual <= expected;
    case '>':
      return actual > expected;
    case '>=':
      return actual >= expected;
    case '==':
      return actual === expected;
    case '!=':
      return actual !== expected;
  }
}
