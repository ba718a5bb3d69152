import { describe, expect, test } from 'vitest';
import { decodeFromCompressedBase64 } from 'hdr-histogram-js';
import { percentileAxisX, percentileCurve } from '../../src/report/charts.js';
import { renderReportHtml } from '../../src/report/html.js';
import type { TrendJson } from '../../src/report/types.js';
import { makeReport, newHistogram, trendFromHistogram } from '../helpers/report-fixtures.js';

function attrsOf(html: string, selector: RegExp): Record<string, string>[] {
  return [...html.matchAll(selector)].map((m) =>
    Object.fromEntries([...m[0].matchAll(/([\w-]+)="([^"]*)"/g)].map((a) => [a[1]!, a[2]!])),
  );
}

describe('renderReportHtml', () => {
  const report = makeReport({ failThreshold: true });
  const html = renderReportHtml(report);

  test('every trend row carries the JSON numbers exactly', () => {
    const rows = attrsOf(html, /<tr[^>]* data-trend [^>]*>/g);
    expect(rows.map((r) => r['data-metric'])).toContain('latency{name:say}');
    for (const row of rows) {
      const trend = report.metrics[row['data-metric']!.replace(/&#39;/g, "'")] as TrendJson;
      for (const f of ['count', 'p50', 'p90', 'p95', 'p99', 'p999', 'max'] as const) {
        expect(Number(row[`data-${f}`]), `${row['data-metric']} ${f}`).toBe(trend[f]);
      }
    }
    expect(rows).toHaveLength(Object.values(report.metrics).filter((m) => m.type === 'trend').length);
  });

  test('thresholds and verdict', () => {
    expect(html).toMatch(/<main data-report data-status="failed">/);
    const rows = attrsOf(html, /<tr data-threshold[^>]*>/g);
    expect(rows.map((r) => r['data-ok'])).toEqual(['true', 'true', 'false']);
    expect(Number(rows[0]!['data-actual'])).toBe(report.thresholds[0]!.actual);
  });

  test('no script runs and nothing is fetched: CSP, no external references', () => {
    expect(html).toContain(`content="default-src 'none'; style-src 'unsafe-inline'; img-src data:"`);
    expect(html).not.toMatch(/<script(?! type="application\/json")/);
    expect(html).not.toMatch(/(?:src|href)="(?!#)/);
    expect(html).not.toMatch(/url\(/);
  });

  test('user and server strings are escaped', () => {
    const evil = makeReport({
      scenarioName: '<img src=x onerror=alert(1)>',
      errorMessage: '</script><script>alert(2)</script>"\'',
    });
    evil.errors[0]!.kind = 'x" onmouseover="alert(3)';
    evil.metrics['latency{name:</script><b>}'] = evil.metrics['latency']!;
    const out = renderReportHtml(evil);
    expect(out).not.toContain('<img');
    expect(out).not.toContain('<script>');
    expect(out).not.toContain('</script><b>');
    expect(out).not.toContain('" onmouseover="');
    expect(out).toContain('&lt;img src=x onerror=alert(1)&gt;');
    // The embedded curve data stays inside its block.
    expect(out.match(/<\/script>/g)).toHaveLength(1);
  });

  test('banners for interrupted, aborted and a limited harness', () => {
    expect(html).not.toContain('data-banner');
    const flagged = renderReportHtml(makeReport({ interrupted: true, failThreshold: true, aborted: true, limited: true }));
    expect(flagged).toContain('data-banner="interrupted"');
    expect(flagged).toContain('data-banner="aborted"');
    expect(flagged).toContain('data-banner="harness-limited"');
    expect(flagged).toContain('data-status="interrupted"');
    const unreachable = makeReport();
    delete unreachable.metrics['connect'];
    unreachable.thresholds = [];
    const page = renderReportHtml(unreachable);
    expect(page).toContain('data-banner="no-connection"');
    expect(page).toContain('data-status="failed"');
    expect(html).not.toContain('no-connection');
  });

  test('charts: HDR curves for latency and service_time and four time series', () => {
    const paths = attrsOf(html, /<path data-series="[^"]*" data-points="\d+"/g);
    const series = paths.map((p) => p['data-series']);
    expect(series).toEqual(['latency', 'service_time', 'framesSent', 'framesReceived', 'p50', 'p99', 'active', 'errors']);
    // The first second has no latency samples: one point fewer than seconds.
    expect(Number(paths.find((p) => p['data-series'] === 'p99')!['data-points'])).toBe(report.timeseries.length - 1);
    expect(Number(paths.find((p) => p['data-series'] === 'active')!['data-points'])).toBe(report.timeseries.length);
  });

  test('a report with no samples at all still renders', () => {
    const empty = makeReport({ noThresholds: true });
    empty.metrics = {};
    empty.timeseries = [];
    empty.errors = [];
    const out = renderReportHtml(empty);
    expect(out).toContain('No timing samples were recorded.');
    expect(out).toContain('No histogram data to plot.');
    expect(out).toContain('data-status="passed"');
  });
});

describe('percentileCurve', () => {
  test('passes through the histogram percentiles and ends at max', () => {
    const h = newHistogram();
    for (let v = 1; v <= 10_000; v++) h.recordValue(v * 10); // 10 µs .. 100 ms
    const trend = trendFromHistogram(h);
    const curve = percentileCurve(trend.hdr);
    const at = (p: number) => curve.find((c) => Math.abs(c.percentile - p) < 1e-12)!.valueMs;
    expect(at(0.5)).toBe(h.getValueAtPercentile(50) / 1000);
    expect(at(0.99)).toBe(h.getValueAtPercentile(99) / 1000);
    expect(at(0.999)).toBe(h.getValueAtPercentile(99.9) / 1000);
    expect(curve.at(-1)!.percentile).toBe(1 - 1 / 10_000);
    expect(curve.at(-1)!.valueMs).toBeGreaterThanOrEqual(trend.max);
    // Monotone in both coordinates.
    for (let i = 1; i < curve.length; i++) {
      expect(curve[i]!.percentile).toBeGreaterThan(curve[i - 1]!.percentile);
      expect(curve[i]!.valueMs).toBeGreaterThanOrEqual(curve[i - 1]!.valueMs);
    }
    // The axis puts 99% at 2 and the last point near log10(count).
    expect(percentileAxisX(0.99)).toBeCloseTo(2, 10);
    expect(percentileAxisX(curve.at(-1)!.percentile)).toBeCloseTo(4, 10);
    expect(decodeFromCompressedBase64(trend.hdr).totalCount).toBe(10_000);
  });

  test('empty or damaged histograms give no points', () => {
    expect(percentileCurve('')).toEqual([]);
    expect(percentileCurve('not base64 at all')).toEqual([]);
    expect(percentileCurve(trendFromHistogram(newHistogram()).hdr)).toEqual([]);
  });
});
