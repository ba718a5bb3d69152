// The metrics a scenario's report always holds, measured or not. A run in which a step never got
// its answer (a silent server, a refused target) still reports `latency{name:say}` with count 0,
// as it reports counters at 0: a pipeline that reads report.metrics["latency{name:say}"].count,
// or joins a threshold to its metric, finds the key instead of nothing.

import type { MetricJson } from '../report/types.js';
import type { Scenario } from '../scenario/types.js';
import { newHistogram, trendJsonFrom } from './hdr.js';
import { TREND, metricKey, metricTypeOf, parseMetricKey } from './names.js';

/**
 * Adds, at zero, every trend the scenario records into and every trend or counter a threshold
 * names, where the run measured none. Keys are sorted as the aggregator sorts them.
 */
export function withExpectedMetrics(
  metrics: Record<string, MetricJson>,
  scenario: Pick<Scenario, 'recordedTrendKeys' | 'thresholds'>,
): Record<string, MetricJson> {
  const missing: [string, MetricJson][] = [];
  // connect and session_duration come from every session; the others from the steps, as the
  // loader recorded them while building them (the rule thresholds are validated against).
  const want = new Set<string>([TREND.connect, TREND.sessionDuration, ...scenario.recordedTrendKeys]);
  for (const t of scenario.thresholds) want.add(metricKey(t.metricName, t.tags));
  for (const key of want) {
    if (key in metrics) continue;
    const name = parseMetricKey(key)?.name;
    const type = name === undefined ? undefined : metricTypeOf(name);
    if (type === 'trend') missing.push([key, trendJsonFrom(newHistogram())]);
    else if (type === 'counter') missing.push([key, { type: 'counter', count: 0, rate: 0 }]);
  }
  if (missing.length === 0) return metrics;
  const all = [...Object.entries(metrics), ...missing];
  // Trends first, then counters, then gauges, each sorted by key: the aggregator's order.
  const rank = (m: MetricJson): number => (m.type === 'trend' ? 0 : m.type === 'counter' ? 1 : 2);
  all.sort(([ka, a], [kb, b]) => rank(a) - rank(b) || (ka < kb ? -1 : ka > kb ? 1 : 0));
  return Object.fromEntries(all);
}
