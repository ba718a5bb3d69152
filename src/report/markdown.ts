// A Markdown summary fit for $GITHUB_STEP_SUMMARY (GitHub-flavoured: tables, alerts). The CLI
// appends it, so it starts with a heading and ends with a blank line to sit beside others.

import {
  countersOf,
  describeLoad,
  formatActual,
  formatCount,
  formatMs,
  formatRate,
  formatSeconds,
  harnessWarning,
  trendsOf,
  verdictOf,
} from './format.js';
import type { ReportJson } from './types.js';

/**
 * Text from the report (scenario names, server error messages) as inert Markdown: HTML is
 * entity-escaped (GitHub renders raw HTML), Markdown punctuation is backslash-escaped, and
 * newlines become spaces so a table cell stays one cell.
 */
export function escapeMarkdown(text: string): string {
  return text
    .replace(/[\r\n\t]+/g, ' ')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/[\\`*_[\]|~#!]/g, (ch) => `\\${ch}`);
}

const VERDICT_LINE = {
  passed: '✅ passed',
  failed: '❌ failed',
  interrupted: '⚠️ interrupted',
} as const;

/** The run as GitHub-flavoured Markdown: verdict, thresholds, timings, counts, errors, warnings. */
export function renderMarkdownSummary(report: ReportJson): string {
  const out: string[] = [];
  out.push(`### volley: ${escapeMarkdown(report.scenario.name)} ${VERDICT_LINE[verdictOf(report)]}`, '');
  out.push(
    `${escapeMarkdown(report.target)} over ${escapeMarkdown(report.transport)}, ${escapeMarkdown(describeLoad(report))}; ` +
      `ran ${formatSeconds(report.durationS)} (volley ${escapeMarkdown(report.environment.volley)}, Node ${escapeMarkdown(report.environment.node)}).`,
    '',
  );
  if (report.interrupted) out.push('> [!WARNING]', '> The run was interrupted: these are partial results.', '');
  if (report.aborted) out.push('> [!CAUTION]', '> A threshold with abortOnFail stopped the run early.', '');
  const warning = harnessWarning(report);
  if (warning) out.push('> [!WARNING]', `> ${escapeMarkdown(warning)}.`, '');

  if (report.thresholds.length > 0) {
    out.push('| | Metric | Threshold | Actual |', '|---|---|---|---:|');
    for (const t of report.thresholds) {
      out.push(
        `| ${t.ok ? '✅' : '❌'} | ${escapeMarkdown(t.metric)} | ${escapeMarkdown(t.expression)} | ${escapeMarkdown(formatActual(t))}${t.aborted ? ' (aborted)' : ''} |`,
      );
    }
    out.push('');
  } else {
    out.push('No thresholds were set.', '');
  }

  const trends = trendsOf(report);
  if (trends.length > 0) {
    out.push('| Timing (ms) | count | p50 | p90 | p95 | p99 | max |', '|---|---:|---:|---:|---:|---:|---:|');
    for (const { key, metric } of trends) {
      const cells = metric.count === 0 ? ['–', '–', '–', '–', '–'] : [metric.p50, metric.p90, metric.p95, metric.p99, metric.max].map(formatMs);
      out.push(`| ${escapeMarkdown(key)} | ${formatCount(metric.count)} | ${cells.join(' | ')} |`);
    }
    out.push('');
  }

  const counters = countersOf(report).filter(({ key }) => !key.startsWith('errors{'));
  if (counters.length > 0) {
    out.push('<details><summary>Counts</summary>', '', '| Counter | count | per s |', '|---|---:|---:|');
    for (const { key, metric } of counters) {
      out.push(`| ${escapeMarkdown(key)} | ${formatCount(metric.count)} | ${formatRate(metric.rate)} |`);
    }
    out.push('', '</details>', '');
  }

  if (report.errors.length > 0) {
    out.push('| Error kind | count | first message |', '|---|---:|---|');
    for (const e of report.errors) {
      out.push(`| ${escapeMarkdown(e.kind)} | ${formatCount(e.count)} | ${escapeMarkdown(e.first)} |`);
    }
    out.push('');
  }
  return out.join('\n') + '\n';
}
