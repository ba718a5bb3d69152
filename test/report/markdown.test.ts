import { describe, expect, test } from 'vitest';
import { escapeMarkdown, renderMarkdownSummary } from '../../src/report/markdown.js';
import type { TrendJson } from '../../src/report/types.js';
import { makeReport } from '../helpers/report-fixtures.js';

const tableRows = (md: string, header: string): string[][] => {
  const lines = md.split('\n');
  const start = lines.findIndex((l) => l.startsWith(header));
  expect(start).toBeGreaterThanOrEqual(0);
  const rows: string[][] = [];
  for (const line of lines.slice(start + 2)) {
    if (!line.startsWith('|')) break;
    // Split on unescaped pipes only.
    rows.push(line.slice(1, -1).split(/(?<!\\)\|/).map((c) => c.trim()));
  }
  return rows;
};

describe('renderMarkdownSummary', () => {
  test('heads with the verdict and lists thresholds with their actual values', () => {
    const report = makeReport({ failThreshold: true });
    const md = renderMarkdownSummary(report);
    expect(md.split('\n')[0]).toBe('### volley: chat-room ❌ failed');
    const rows = tableRows(md, '| | Metric |');
    expect(rows.map((r) => r[0])).toEqual(['✅', '✅', '❌']);
    const say = report.metrics['latency{name:say}'] as TrendJson;
    expect(rows[0]).toEqual(['✅', 'latency{name:say}', 'p(99) &lt; 50ms', `${say.p99} ms`]);
    expect(md.endsWith('\n')).toBe(true);
  });

  test('timings table shows the JSON percentiles', () => {
    const report = makeReport();
    const rows = tableRows(renderMarkdownSummary(report), '| Timing (ms)');
    const latency = report.metrics['latency'] as TrendJson;
    const row = rows.find((r) => r[0] === 'latency')!;
    expect(row.slice(2).map(Number)).toEqual([latency.p50, latency.p90, latency.p95, latency.p99, latency.max]);
  });

  test('passed, interrupted and harness-limited runs say so', () => {
    expect(renderMarkdownSummary(makeReport())).toMatch(/^### volley: chat-room ✅ passed/);
    const interrupted = renderMarkdownSummary(makeReport({ interrupted: true }));
    expect(interrupted).toMatch(/^### .*⚠️ interrupted/);
    expect(interrupted).toContain('> [!WARNING]\n> The run was interrupted');
    expect(renderMarkdownSummary(makeReport({ limited: true }))).toMatch(/> results are limited by the load generator/);
    expect(renderMarkdownSummary(makeReport({ noThresholds: true }))).toContain('No thresholds were set.');
  });

  test('server data cannot inject HTML or break a table', () => {
    const md = renderMarkdownSummary(makeReport({ errorMessage: '<script>x</script> a|b\nnext *line*' }));
    expect(md).not.toContain('<script>');
    const rows = tableRows(md, '| Error kind');
    expect(rows).toHaveLength(1);
    expect(rows[0]).toHaveLength(3);
    expect(rows[0]![2]).toBe('&lt;script&gt;x&lt;/script&gt; a\\|b next \\*line\\*');
  });

  test('escapeMarkdown leaves plain words alone', () => {
    expect(escapeMarkdown('hello world 1.5')).toBe('hello world 1.5');
  });
});
