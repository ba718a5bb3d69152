import { describe, expect, test } from 'vitest';
import { compareReports, formatComparison, renderComparisonReportHtml } from '../../src/report/compare.js';
import type { TrendJson } from '../../src/report/types.js';
import { makeReport } from '../helpers/report-fixtures.js';

const baseline = makeReport({ seed: 1 });
const slower = makeReport({ seed: 1, latencyScale: 1.5 });

describe('compareReports', () => {
  test('identical runs: zero deltas, no regression at any limit', () => {
    const c = compareReports(baseline, baseline, { failOnRegressionPct: 0 });
    expect(c.regressed).toBe(false);
    expect(c.regressions).toEqual([]);
    const latency = c.trends.find((t) => t.metric === 'latency')!;
    expect(latency.deltaPct).toEqual({ p50: 0, p90: 0, p95: 0, p99: 0 });
  });

  test('a 50% slower run regresses beyond a 10% limit, with deltas computed from the JSON', () => {
    const c = compareReports(baseline, slower, { failOnRegressionPct: 10 });
    expect(c.regressed).toBe(true);
    const a = baseline.metrics['latency'] as TrendJson;
    const b = slower.metrics['latency'] as TrendJson;
    const p99 = c.regressions.find((r) => r.metric === 'latency' && r.percentile === 'p99')!;
    expect(p99).toEqual({ metric: 'latency', percentile: 'p99', aMs: a.p99, bMs: b.p99, deltaPct: ((b.p99 - a.p99) / a.p99) * 100 });
    expect(p99.deltaPct).toBeGreaterThan(40);
    // session_duration is compared but never counts as a regression.
    expect(c.regressions.some((r) => r.metric.startsWith('session_duration'))).toBe(false);
    expect(c.trends.find((t) => t.metric === 'session_duration')!.latencyLike).toBe(false);
  });

  test('the same slowdown passes a limit above it', () => {
    const c = compareReports(baseline, slower, { failOnRegressionPct: 100 });
    expect(c.regressed).toBe(false);
  });

  test('getting faster is never a regression', () => {
    const c = compareReports(slower, baseline, { failOnRegressionPct: 1 });
    expect(c.regressed).toBe(false);
    expect(c.trends.find((t) => t.metric === 'latency')!.deltaPct.p99!).toBeLessThan(-20);
  });

  test('without a limit, deltas are reported and nothing fails', () => {
    const c = compareReports(baseline, slower, {});
    expect(c.limitPct).toBeNull();
    expect(c.regressed).toBe(false);
    expect(c.trends.find((t) => t.metric === 'latency')!.deltaPct.p50!).toBeGreaterThan(0);
  });

  test('metrics in only one report are listed, not compared', () => {
    const b = makeReport({ seed: 1, latencyScale: 3 });
    delete b.metrics['latency{name:join}'];
    const c = compareReports(baseline, b, { failOnRegressionPct: 10 });
    const join = c.trends.find((t) => t.metric === 'latency{name:join}')!;
    expect(join.b).toBeNull();
    expect(join.deltaPct.p99).toBeNull();
    expect(c.regressions.some((r) => r.metric === 'latency{name:join}')).toBe(false);
    // ...but measured in a and gone from b, it fails the gate on its own.
    expect(c.lost).toEqual([{ metric: 'latency{name:join}', aCount: (baseline.metrics['latency{name:join}'] as TrendJson).count }]);
    expect(c.regressed).toBe(true);
  });

  test('a metric only in b (a new step) is not lost, and no limit never fails', () => {
    const a = makeReport({ seed: 1 });
    delete a.metrics['latency{name:join}'];
    expect(compareReports(a, baseline, { failOnRegressionPct: 10 }).lost).toEqual([]);
    const b = makeReport({ seed: 1 });
    delete b.metrics['latency'];
    const informational = compareReports(baseline, b, {});
    expect(informational.lost.map((l) => l.metric)).toEqual(['latency']);
    expect(informational.regressed).toBe(false);
  });

  test('counters compare by rate; errors by kind; curves come from both histograms', () => {
    const c = compareReports(baseline, slower, {});
    const sent = c.counters.find((k) => k.metric === 'frames_sent')!;
    expect(sent.a!.count).toBe((baseline.metrics['frames_sent'] as { count: number }).count);
    expect(sent.rateDeltaPct).toBe(0);
    expect(c.errors).toEqual([{ kind: 'expect_timeout', a: 3, b: 3 }]);
    expect(c.curves!.metric).toBe('latency');
    expect(c.curves!.a.length).toBeGreaterThan(10);
    expect(c.curves!.b.at(-1)!.valueMs).toBeGreaterThan(c.curves!.a.at(-1)!.valueMs);
  });
});

describe('formatComparison', () => {
  test('names the regressions and the verdict; colour only when asked', () => {
    const c = compareReports(baseline, slower, { failOnRegressionPct: 10 });
    const text = formatComparison(c, { color: false });
    expect(text).toMatch(/REGRESSED: \d+ percentile\(s\) worse by more than 10%/);
    const a = baseline.metrics['latency'] as TrendJson;
    const b = slower.metrics['latency'] as TrendJson;
    expect(text).toContain(`✗ latency p99: ${a.p99} → ${b.p99} ms (+`);
    expect(text).not.toContain('\x1b[');
    expect(formatComparison(c, { color: true })).toContain('\x1b[31m');
    expect(formatComparison(compareReports(baseline, baseline, { failOnRegressionPct: 10 }), { color: false })).toContain(
      'OK: no latency percentile worse by more than 10%',
    );
  });
});

describe('renderComparisonReportHtml', () => {
  test('marks regressed rows and escapes names', () => {
    const b = makeReport({ seed: 1, latencyScale: 1.5, scenarioName: '<b>x</b>' });
    const html = renderComparisonReportHtml(compareReports(baseline, b, { failOnRegressionPct: 10 }));
    expect(html).toContain('data-verdict="regressed"');
    expect(html).toMatch(/<tr data-trend data-metric="latency" data-regressed="true">/);
    expect(html).not.toContain('<b>x</b>');
    expect(html).toContain('&lt;b&gt;x&lt;/b&gt;');
    expect(html).toMatch(/<path data-series="b" data-points="\d+"/);
  });
});
