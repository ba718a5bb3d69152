// `volley compare a.json b.json`: run b against baseline a, metric by metric. A regression is a
// latency-like trend percentile (p50/p90/p95/p99) in b worse than in a by more than the limit;
// the CLI exits 1 when `regressed` is true. Pure functions of two reports.

import { parseMetricKey } from '../metrics/names.js';
import { percentileCurve, renderHdrChart, type CurvePoint } from './charts.js';
import { REPORT_CSS } from './html.js';
import { escapeHtml, formatCount, formatMs, formatPct, formatRate, formatSeconds, verdictOf, type Verdict } from './format.js';
import type { CounterJson, ReportJson, TrendJson } from './types.js';

export const COMPARED_PERCENTILES = ['p50', 'p90', 'p95', 'p99'] as const;
export type ComparedPercentile = (typeof COMPARED_PERCENTILES)[number];

// Timings that get worse when the server does: session_duration is mostly scripted think time.
const LATENCY_LIKE = new Set(['connect', 'latency', 'service_time', 'wait', 'ping']);

export interface RunSide {
  name: string;
  file: string;
  startedAt: string;
  durationS: number;
  transport: string;
  target: string;
  verdict: Verdict;
}

export interface TrendStats {
  count: number;
  p50: number;
  p90: number;
  p95: number;
  p99: number;
  max: number;
}

export interface TrendComparison {
  metric: string;
  /** null when the metric is only in the other report. */
  a: TrendStats | null;
  b: TrendStats | null;
  /** (b - a) / a × 100 per percentile; null when either side is missing, empty or a is 0. */
  deltaPct: Record<ComparedPercentile, number | null>;
  /** Whether a regression in this metric can fail the comparison. */
  latencyLike: boolean;
}

export interface CounterComparison {
  metric: string;
  a: { count: number; rate: number } | null;
  b: { count: number; rate: number } | null;
  /** Change in rate (per second), so runs of different lengths compare. */
  rateDeltaPct: number | null;
}

export interface ErrorComparison {
  kind: string;
  a: number;
  b: number;
}

export interface Regression {
  metric: string;
  percentile: ComparedPercentile;
  aMs: number;
  bMs: number;
  deltaPct: number;
}

/** A latency-like metric with samples in a and none in b: nothing to compare, the worst case. */
export interface LostMetric {
  metric: string;
  aCount: number;
}

export interface Comparison {
  a: RunSide;
  b: RunSide;
  /** The --fail-on-regression limit in percent; null = report deltas, never fail. */
  limitPct: number | null;
  trends: TrendComparison[];
  counters: CounterComparison[];
  errors: ErrorComparison[];
  /** Every latency-like percentile beyond the limit (empty without a limit). */
  regressions: Regression[];
  /**
   * Latency-like metrics measured in a but with no sample in b (every request failed or timed
   * out, or the step no longer runs). With a limit, each is a regression: no percentage can
   * be worse than no answer at all.
   */
  lost: LostMetric[];
  /** The exit decision: true = exit 1. */
  regressed: boolean;
  /** Percentile curves of the `latency` trend (or the first shared latency-like trend) for the chart. */
  curves: { metric: string; a: CurvePoint[]; b: CurvePoint[] } | null;
}

function side(r: ReportJson, fallbackFile: string): RunSide {
  return {
    name: r.scenario.name,
    file: r.scenario.file || fallbackFile,
    startedAt: r.startedAt,
    durationS: r.durationS,
    transport: r.transport,
    target: r.target,
    verdict: verdictOf(r),
  };
}

function stats(t: TrendJson | undefined): TrendStats | null {
  if (!t) return null;
  return { count: t.count, p50: t.p50, p90: t.p90, p95: t.p95, p99: t.p99, max: t.max };
}

function pctChange(a: number, b: number): number | null {
  if (!Number.isFinite(a) || !Number.isFinite(b)) return null;
  if (a === 0) return b === 0 ? 0 : null;
  return ((b - a) / a) * 100;
}

function metricsOfType<T extends 'trend' | 'counter'>(
  r: ReportJson,
  type: T,
): Map<string, T extends 'trend' ? TrendJson : CounterJson> {
  const out = new Map<string, T extends 'trend' ? TrendJson : CounterJson>();
  for (const [key, m] of Object.entries(r.metrics)) {
    if (m.type === type) out.set(key, m as T extends 'trend' ? TrendJson : CounterJson);
  }
  return out;
}

/** Keys of both maps: a's order first, then b's extras. */
function unionKeys(a: Map<string, unknown>, b: Map<string, unknown>): string[] {
  return [...new Set([...a.keys(), ...b.keys()])];
}

/** Compares run b against baseline a. */
export function compareReports(a: ReportJson, b: ReportJson, opts: { failOnRegressionPct?: number }): Comparison {
  const limitPct = opts.failOnRegressionPct ?? null;
  const trendsA = metricsOfType(a, 'trend');
  const trendsB = metricsOfType(b, 'trend');
  const trends: TrendComparison[] = unionKeys(trendsA, trendsB).map((metric) => {
    const sa = stats(trendsA.get(metric));
    const sb = stats(trendsB.get(metric));
    const comparable = sa !== null && sb !== null && sa.count > 0 && sb.count > 0;
    const deltaPct = Object.fromEntries(
      COMPARED_PERCENTILES.map((p) => [p, comparable ? pctChange(sa[p], sb[p]) : null]),
    ) as Record<ComparedPercentile, number | null>;
    const base = parseMetricKey(metric)?.name ?? metric;
    return { metric, a: sa, b: sb, deltaPct, latencyLike: LATENCY_LIKE.has(base) };
  });

  const regressions: Regression[] = [];
  if (limitPct !== null) {
    for (const t of trends) {
      if (!t.latencyLike || !t.a || !t.b) continue;
      for (const p of COMPARED_PERCENTILES) {
        const d = t.deltaPct[p];
        if (d !== null && d > limitPct) regressions.push({ metric: t.metric, percentile: p, aMs: t.a[p], bMs: t.b[p], deltaPct: d });
      }
    }
  }

  // A metric that had data in a and has none in b (absent, or no samples) fails the gate.
  const lost: LostMetric[] = trends
    .filter((t) => t.latencyLike && t.a !== null && t.a.count > 0 && (t.b === null || t.b.count === 0))
    .map((t) => ({ metric: t.metric, aCount: t.a!.count }));

  const countersA = metricsOfType(a, 'counter');
  const countersB = metricsOfType(b, 'counter');
  const counters: CounterComparison[] = unionKeys(countersA, countersB).map((metric) => {
    const ca = countersA.get(metric);
    const cb = countersB.get(metric);
    return {
      metric,
      a: ca ? { count: ca.count, rate: ca.rate } : null,
      b: cb ? { count: cb.count, rate: cb.rate } : null,
      rateDeltaPct: ca && cb ? pctChange(ca.rate, cb.rate) : null,
    };
  });

  const kinds = [...new Set([...a.errors.map((e) => e.kind), ...b.errors.map((e) => e.kind)])];
  const errors = kinds.map((kind) => ({
    kind,
    a: a.errors.find((e) => e.kind === kind)?.count ?? 0,
    b: b.errors.find((e) => e.kind === kind)?.count ?? 0,
  }));

  const curveMetric =
    ['latency', 'service_time', 'wait', 'connect', 'ping'].find((m) => trendsA.has(m) && trendsB.has(m)) ?? null;
  const curves = curveMetric
    ? { metric: curveMetric, a: percentileCurve(trendsA.get(curveMetric)!.hdr), b: percentileCurve(trendsB.get(curveMetric)!.hdr) }
    : null;

  return {
    a: side(a, 'a'),
    b: side(b, 'b'),
    limitPct,
    trends,
    counters,
    errors,
    regressions,
    lost,
    regressed: limitPct !== null && (regressions.length > 0 || lost.length > 0),
    curves,
  };
}

// ---- text ----

const sgr = (open: number, close: number) => (text: string) => `\x1b[${open}m${text}\x1b[${close}m`;

/** The comparison as a terminal table: per trend p50/p99 a → b with Δ%, counters by rate, verdict. */
export function formatComparison(c: Comparison, opts: { color: boolean }): string {
  const red = opts.color ? sgr(31, 39) : (t: string) => t;
  const green = opts.color ? sgr(32, 39) : (t: string) => t;
  const bold = opts.color ? sgr(1, 22) : (t: string) => t;
  const dim = opts.color ? sgr(2, 22) : (t: string) => t;
  const isRegressed = (metric: string, p: ComparedPercentile) => c.regressions.some((r) => r.metric === metric && r.percentile === p);
  const delta = (metric: string, p: ComparedPercentile, d: number | null) => {
    const text = formatPct(d);
    if (isRegressed(metric, p)) return red(text);
    return d !== null && c.limitPct !== null && d < -c.limitPct ? green(text) : text;
  };

  const lines: string[] = [];
  lines.push(bold(`a: ${c.a.name} (${c.a.transport}, ${formatSeconds(c.a.durationS)}, ${c.a.startedAt})`));
  lines.push(bold(`b: ${c.b.name} (${c.b.transport}, ${formatSeconds(c.b.durationS)}, ${c.b.startedAt})`));
  lines.push('');

  const rows: string[][] = [['timing (ms)', 'p50 a', 'p50 b', 'Δ', 'p90 Δ', 'p95 Δ', 'p99 a', 'p99 b', 'Δ'].map((h) => dim(h))];
  for (const t of c.trends) {
    rows.push([
      t.metric + (t.a ? '' : ' (only b)') + (t.b ? '' : ' (only a)'),
      formatMs(measured(t.a)?.p50),
      formatMs(measured(t.b)?.p50),
      delta(t.metric, 'p50', t.deltaPct.p50),
      delta(t.metric, 'p90', t.deltaPct.p90),
      delta(t.metric, 'p95', t.deltaPct.p95),
      formatMs(measured(t.a)?.p99),
      formatMs(measured(t.b)?.p99),
      delta(t.metric, 'p99', t.deltaPct.p99),
    ]);
  }
  rows.push(['', '', '', '', '', '', '', '', '']);
  rows.push(['counter (per s)', 'a', 'b', 'Δ', '', '', '', '', ''].map((h) => dim(h)));
  for (const k of c.counters) {
    rows.push([k.metric, k.a ? formatRate(k.a.rate) : '–', k.b ? formatRate(k.b.rate) : '–', formatPct(k.rateDeltaPct), '', '', '', '', '']);
  }
  lines.push(...alignRows(rows));

  if (c.errors.length > 0) {
    lines.push('', bold('errors'));
    lines.push(...alignRows(c.errors.map((e) => [e.kind, formatCount(e.a), '→', formatCount(e.b)])));
  }

  lines.push('');
  if (c.limitPct === null) {
    lines.push(dim('no --fail-on-regression limit: deltas are informational'));
    for (const l of c.lost) lines.push(`  ! ${l.metric}: ${lostText(l)}`);
  } else if (c.regressed) {
    lines.push(red(`REGRESSED: ${regressionHeadline(c)}`));
    for (const r of c.regressions) {
      lines.push(red(`  ✗ ${r.metric} ${r.percentile}: ${formatMs(r.aMs)} → ${formatMs(r.bMs)} ms (${formatPct(r.deltaPct)})`));
    }
    for (const l of c.lost) lines.push(red(`  ✗ ${l.metric}: ${lostText(l)}`));
  } else {
    lines.push(green(`OK: no latency percentile worse by more than ${c.limitPct}%`));
  }
  return lines.join('\n');
}

function lostText(l: LostMetric): string {
  return `${formatCount(l.aCount)} samples in a, none in b (every request failed or timed out, or the step did not run)`;
}

/** "2 percentile(s) worse by more than 10%, 1 metric with no samples in b". */
function regressionHeadline(c: Comparison): string {
  const parts: string[] = [];
  if (c.regressions.length > 0) parts.push(`${c.regressions.length} percentile(s) worse by more than ${c.limitPct}%`);
  if (c.lost.length > 0) parts.push(`${c.lost.length} latency metric(s) with samples in a and none in b`);
  return parts.join(', ');
}

// eslint-disable-next-line no-control-regex
const ANSI = /\x1b\[[0-9;]*m/g;
function alignRows(rows: string[][]): string[] {
  const width = (s: string) => [...s.replace(ANSI, '')].length;
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, width(cell))));
  return rows.map((row) =>
    ('  ' + row.map((cell, i) => (i === 0 ? cell + ' '.repeat(widths[i]! - width(cell)) : ' '.repeat(widths[i]! - width(cell)) + cell)).join('  ')).trimEnd(),
  );
}

// ---- HTML ----

function attr(name: string, value: string | number | boolean | null | undefined): string {
  return value === undefined ? '' : ` ${name}="${escapeHtml(value === null ? '' : String(value))}"`;
}

/** `volley compare` as one self-contained page: verdict, overlaid percentile curves, tables. */
export function renderComparisonReportHtml(c: Comparison): string {
  const verdict = c.limitPct === null ? 'informational' : c.regressed ? 'regressed' : 'ok';
  const badge = { informational: ['#59636e', 'NO LIMIT'], regressed: ['#cf222e', 'REGRESSED'], ok: ['#1a7f37', 'OK'] }[verdict];
  const runs = (['a', 'b'] as const)
    .map((k) => {
      const s = c[k];
      return (
        `<div><dt>${k === 'a' ? 'a (baseline)' : 'b'}</dt><dd>${escapeHtml(s.name)} · ${escapeHtml(s.transport)} · ` +
        `${escapeHtml(formatSeconds(s.durationS))} · ${escapeHtml(s.startedAt)} · ${s.verdict}<br>${escapeHtml(s.target)}</dd></div>`
      );
    })
    .join('');
  const regressed = (m: string, p: ComparedPercentile) =>
    c.limitPct !== null && (c.regressions.some((r) => r.metric === m && r.percentile === p) || c.lost.some((l) => l.metric === m));
  const deltaCell = (m: string, p: ComparedPercentile, d: number | null) =>
    `<td class="${regressed(m, p) ? 'bad' : ''}"${attr(`data-delta-${p}`, d)}>${formatPct(d)}</td>`;
  const trendRows = c.trends
    .map(
      (t) =>
        `<tr data-trend${attr('data-metric', t.metric)}${attr('data-regressed', COMPARED_PERCENTILES.some((p) => regressed(t.metric, p)))}>` +
        `<td><code>${escapeHtml(t.metric)}</code></td>` +
        COMPARED_PERCENTILES.map((p) => `<td>${formatMs(measured(t.a)?.[p])}</td><td>${formatMs(measured(t.b)?.[p])}</td>${deltaCell(t.metric, p, t.deltaPct[p])}`).join('') +
        `</tr>`,
    )
    .join('');
  const trendHead =
    '<tr><th>Timing (ms)</th>' + COMPARED_PERCENTILES.map((p) => `<th>${p} a</th><th>${p} b</th><th>Δ</th>`).join('') + '</tr>';
  const counterRows = c.counters
    .map(
      (k) =>
        `<tr data-counter${attr('data-metric', k.metric)}><td><code>${escapeHtml(k.metric)}</code></td>` +
        `<td>${k.a ? formatRate(k.a.rate) : '–'}</td><td>${k.b ? formatRate(k.b.rate) : '–'}</td><td>${formatPct(k.rateDeltaPct)}</td></tr>`,
    )
    .join('');
  const errorRows = c.errors
    .map((e) => `<tr data-error${attr('data-kind', e.kind)}><td><code>${escapeHtml(e.kind)}</code></td><td>${formatCount(e.a)}</td><td>${formatCount(e.b)}</td></tr>`)
    .join('');
  const chart = c.curves
    ? renderHdrChart({
        id: 'hdr-compare',
        title: `${c.curves.metric} by percentile (ms)`,
        series: [
          { id: 'a', label: `a: ${c.a.name}`, color: '#1c7ed6', dashed: true, curve: c.curves.a },
          { id: 'b', label: `b: ${c.b.name}`, color: '#d9480f', curve: c.curves.b },
        ].filter((s) => s.curve.length > 0),
      })
    : '';
  const limitText =
    c.limitPct === null
      ? 'No --fail-on-regression limit was given: the deltas are informational.'
      : c.regressed
        ? `Regressed: ${regressionHeadline(c)}.` + c.lost.map((l) => ` ${l.metric}: ${lostText(l)}.`).join('')
        : `No latency percentile in b is worse than a by more than ${c.limitPct}%.`;
  return (
    `<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">` +
    `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">` +
    `<meta name="viewport" content="width=device-width,initial-scale=1">` +
    `<title>volley compare: ${escapeHtml(c.a.name)} vs ${escapeHtml(c.b.name)}</title><style>${REPORT_CSS}</style></head>` +
    `<body><main data-comparison data-verdict="${verdict}">` +
    `<header><h1>Comparison <span class="status" style="background:${badge[0]}" data-status="${verdict}">${badge[1]}</span></h1>` +
    `<dl class="meta">${runs}</dl><p class="note">${escapeHtml(limitText)} Δ = (b − a) / a; positive means b is slower.</p></header>` +
    (chart ? `<section><h2>Distribution</h2>${chart}</section>` : '') +
    `<section><h2>Timings</h2><div class="scroll"><table><thead>${trendHead}</thead><tbody>${trendRows}</tbody></table></div></section>` +
    `<section><h2>Counters (per second)</h2><div class="scroll"><table><thead><tr><th>Counter</th><th>a</th><th>b</th><th>Δ</th></tr></thead><tbody>${counterRows}</tbody></table></div></section>` +
    (errorRows
      ? `<section><h2>Errors</h2><div class="scroll"><table><thead><tr><th>Kind</th><th>a</th><th>b</th></tr></thead><tbody>${errorRows}</tbody></table></div></section>`
      : '') +
    `</main></body></html>\n`
  );
}

/** A side's percentiles when it has samples: a trend with count 0 shows "–", not 0 ms. */
function measured<T extends { count: number }>(side: T | null): T | undefined {
  return side !== null && side.count > 0 ? side : undefined;
}
