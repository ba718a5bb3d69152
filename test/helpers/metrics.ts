// Reading metrics out of a report (or its `metrics` object) in tests, one way everywhere.

import type { ReportJson, TrendJson } from '../../src/report/types.js';

type Metrics = ReportJson['metrics'];
export type MetricsSource = ReportJson | Metrics | Record<string, unknown> | undefined;

function metricsOf(src: MetricsSource): Record<string, unknown> {
  if (src === undefined) return {};
  // A report has "format" and "metrics"; no metric is named either.
  if ('format' in src && 'metrics' in src && typeof src.metrics === 'object') return src.metrics as Record<string, unknown>;
  return src as Record<string, unknown>;
}

/** A counter's count; 0 when the key is absent. Throws when the key is some other kind. */
export function counter(src: MetricsSource, key: string): number {
  const m = metricsOf(src)[key] as Metrics[string] | undefined;
  if (m === undefined) return 0;
  if (m.type !== 'counter') throw new Error(`${key} is a ${m.type}, not a counter`);
  return m.count;
}

/** A trend; throws naming the keys there are when it is absent. */
export function trend(src: MetricsSource, key: string): TrendJson {
  const metrics = metricsOf(src);
  const m = metrics[key] as Metrics[string] | undefined;
  if (m === undefined) throw new Error(`no trend ${key} in ${Object.keys(metrics).join(', ')}`);
  if (m.type !== 'trend') throw new Error(`${key} is a ${m.type}, not a trend`);
  return m;
}

/** A trend's sample count; 0 when the key is absent. */
export function trendCount(src: MetricsSource, key: string): number {
  const m = metricsOf(src)[key] as Metrics[string] | undefined;
  return m !== undefined && m.type === 'trend' ? m.count : 0;
}
