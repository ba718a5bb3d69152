// report.html: one self-contained page rendered from report.json. No script and no network: a
// Content-Security-Policy of default-src 'none' guarantees it, charts are SVG drawn here, and
// every string from the report (user or server data) is escaped. Elements carry data-*
// attributes with the JSON's exact numbers so tests and scripts can read the page.

import { decodeHistogram, encodeHistogram, newHistogram } from '../metrics/hdr.js';
import { TREND, metricKey, parseMetricKey } from '../metrics/names.js';
import { percentileCurve, renderHdrChart, renderTimeChart, type CurvePoint, type HdrSeries } from './charts.js';
import {
  countersOf,
  describeLoad,
  escapeHtml,
  formatActual,
  formatCount,
  formatMs,
  formatRate,
  formatSeconds,
  gaugesOf,
  harnessWarning,
  limitedCause,
  noConnectionOpened,
  trendsOf,
  verdictOf,
} from './format.js';
import type { ReportJson, TrendJson } from './types.js';

export const REPORT_CSS = `
:root{--fg:#1f2328;--muted:#59636e;--line:#d1d9e0;--bg:#fff;--soft:#f6f8fa;--ok:#1a7f37;--bad:#cf222e;--warn:#9a6700}
*{box-sizing:border-box}
body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);background:var(--bg)}
main{max-width:1120px;margin:0 auto;padding:16px}
h1{font-size:1.5em;margin:0 0 4px;overflow-wrap:anywhere}
h2{font-size:1.15em;margin:28px 0 8px;padding-bottom:4px;border-bottom:1px solid var(--line)}
p.note{color:var(--muted);margin:4px 0 8px;max-width:75ch}
.status{display:inline-block;padding:2px 10px;border-radius:12px;font-weight:600;color:#fff;font-size:.9em;vertical-align:middle}
.status.passed{background:var(--ok)}.status.failed{background:var(--bad)}.status.interrupted{background:var(--warn)}
dl.meta{display:grid;grid-template-columns:repeat(auto-fill,minmax(160px,1fr));gap:4px 16px;margin:12px 0}
dl.meta div{min-width:0}dl.meta dt{color:var(--muted);font-size:.85em}dl.meta dd{margin:0;overflow-wrap:anywhere}
.banner{border:1px solid;border-radius:6px;padding:8px 12px;margin:10px 0;font-weight:500;overflow-wrap:anywhere}
.banner.warn{background:#fff8c5;border-color:#d4a72c;color:#4d2d00}
.banner.bad{background:#ffebe9;border-color:#ff8182;color:#82071e}
.scroll{overflow-x:auto;max-width:100%}
table{border-collapse:collapse;font-variant-numeric:tabular-nums;width:100%}
th,td{padding:4px 10px;border-bottom:1px solid var(--line);text-align:right;white-space:nowrap}
th{background:var(--soft);font-weight:600;font-size:.9em}
th:first-child,td:first-child,th.text,td.text{text-align:left}
td.msg{white-space:normal;overflow-wrap:anywhere;text-align:left;min-width:16ch}
td.ok{color:var(--ok);font-weight:600}td.bad{color:var(--bad);font-weight:600}
tr.sub td:first-child{padding-left:22px}
code{font:12px ui-monospace,SFMono-Regular,Menlo,monospace}dd code{overflow-wrap:anywhere}
.charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(min(100%,440px),1fr));gap:16px 24px}
figure.chart{margin:0;min-width:0}figure.chart.wide{grid-column:1/-1;max-width:880px}
figcaption{font-weight:600;margin-bottom:2px}
svg{width:100%;height:auto;display:block}
svg text{font-size:12px;fill:var(--muted)}svg.hdr text{font-size:13px}
svg .ylabel{text-anchor:end;dominant-baseline:middle}svg .xlabel{text-anchor:middle}
svg .grid{stroke:#eaeef2;stroke-width:1}svg .axis{stroke:#8c959f;stroke-width:1}
ul.legend{list-style:none;margin:2px 0 0;padding:0;display:flex;flex-wrap:wrap;gap:2px 14px;font-size:.85em;color:var(--muted)}
.swatch{display:inline-block;width:18px;border-top:3px solid;margin-right:5px;vertical-align:middle}.swatch.dashed{border-top-style:dashed}
footer{color:var(--muted);font-size:.85em;margin:28px 0 8px}
/* A long step or metric name wraps instead of pushing max out of the table's box. */
#latency td:first-child,#thresholds td:first-child{white-space:normal;overflow-wrap:anywhere;min-width:14ch}
/* Tablets: nine columns do not fit; the middle percentiles give way (JSON and data-* keep them). */
@media (max-width:900px){.opt{display:none}}
@media (max-width:520px){main{padding:10px}th,td{padding:3px 5px}table{font-size:12px}
/* Narrow: the middle percentiles give way so p50, p99 and max fit without scrolling. */
.opt{display:none}td:first-child{white-space:normal}code{font-size:11px}
/* SVG text scales with the chart: enlarge it where the chart is drawn small. */
svg.ts text{font-size:16px}svg.hdr text{font-size:20px}}
`;

function attr(name: string, value: string | number | boolean | null | undefined): string {
  if (value === undefined) return '';
  return ` ${name}="${escapeHtml(value === null ? '' : String(value))}"`;
}

function section(id: string, title: string, body: string): string {
  return `<section id="${id}"><h2>${escapeHtml(title)}</h2>${body}</section>`;
}

function headerHtml(report: ReportJson): string {
  const verdict = verdictOf(report);
  const label = { passed: 'PASSED', failed: 'FAILED', interrupted: 'INTERRUPTED' }[verdict];
  const meta: [string, string][] = [
    ['Target', report.target],
    ['Transport', report.transport],
    ['Load', describeLoad(report)],
    ['Duration', formatSeconds(report.durationS)],
    ['Started', report.startedAt],
    ['Ended', report.endedAt],
    ['Scenario file', report.scenario.file],
  ];
  if (report.mergedFrom?.length) meta.push(['Merged from', report.mergedFrom.join(', ')]);
  const banners: string[] = [];
  if (report.interrupted) {
    banners.push(
      `<div class="banner warn" data-banner="interrupted">Interrupted: the run was stopped (SIGINT/SIGTERM) before its end; these are partial results.</div>`,
    );
  }
  if (report.aborted) {
    const which = report.thresholds.filter((t) => t.aborted).map((t) => `${t.metric}: ${t.expression}`);
    banners.push(
      `<div class="banner bad" data-banner="aborted">Aborted: a threshold with abortOnFail stopped the run early${
        which.length ? ` (${escapeHtml(which.join('; '))})` : ''
      }.</div>`,
    );
  }
  if (noConnectionOpened(report)) {
    banners.push(
      `<div class="banner bad" data-banner="no-connection">No connection could be opened: every session failed to connect${
        report.errors[0] ? ` (${escapeHtml(report.errors[0].first)})` : ''
      }.</div>`,
    );
  }
  const warning = harnessWarning(report);
  if (warning) {
    banners.push(`<div class="banner warn" data-banner="harness-limited">Warning: ${escapeHtml(warning)}.</div>`);
  }
  return (
    `<header><h1>${escapeHtml(report.scenario.name)} <span class="status ${verdict}" data-status="${verdict}">${label}</span></h1>` +
    `<dl class="meta">${meta.map(([k, v]) => `<div><dt>${k}</dt><dd>${escapeHtml(v)}</dd></div>`).join('')}</dl>` +
    banners.join('') +
    `</header>`
  );
}

function thresholdsHtml(report: ReportJson): string {
  if (report.thresholds.length === 0) {
    return section('thresholds', 'Thresholds', '<p class="note">No thresholds were set: the run passes unless it is interrupted.</p>');
  }
  const rows = report.thresholds
    .map(
      (t) =>
        `<tr data-threshold${attr('data-metric', t.metric)}${attr('data-expression', t.expression)}${attr('data-actual', t.actual)}${attr('data-ok', t.ok)}>` +
        `<td class="text"><code>${escapeHtml(t.metric)}</code></td><td class="text"><code>${escapeHtml(t.expression)}</code></td>` +
        `<td>${formatActual(t)}</td>` +
        `<td class="${t.ok ? 'ok' : 'bad'}">${t.ok ? '✓ pass' : '✗ fail'}${t.aborted ? ' (aborted run)' : ''}</td></tr>`,
    )
    .join('');
  return section(
    'thresholds',
    'Thresholds',
    `<div class="scroll"><table><thead><tr><th>Metric</th><th class="text">Expression</th><th>Actual</th><th>Result</th></tr></thead><tbody>${rows}</tbody></table></div>`,
  );
}

const TREND_FIELDS: [keyof TrendJson & string, string][] = [
  ['count', 'count'],
  ['mean', 'mean'],
  ['p50', 'p50'],
  ['p90', 'p90'],
  ['p95', 'p95'],
  ['p99', 'p99'],
  ['p999', 'p99.9'],
  ['max', 'max'],
];

const OPTIONAL_FIELDS = new Set<string>(['mean', 'p90', 'p95', 'p999']);

// Lets a long tagged key break before its tags in a narrow window.
function metricCode(key: string): string {
  return `<code>${escapeHtml(key).replace(/_/g, '_<wbr>').replace('{', '<wbr>{')}</code>`;
}

function trendsHtml(report: ReportJson): string {
  const trends = trendsOf(report);
  if (trends.length === 0) return section('latency', 'Latency', '<p class="note">No timing samples were recorded.</p>');
  const rows = trends
    .map(({ key, metric }) => {
      const dataAttrs = TREND_FIELDS.map(([f]) => attr(`data-${f}`, metric[f] as number)).join('') + attr('data-min', metric.min);
      const cells = TREND_FIELDS.map(
        ([f]) =>
          `<td${OPTIONAL_FIELDS.has(f) ? ' class="opt"' : ''}>${f === 'count' ? formatCount(metric.count) : metric.count === 0 ? '–' : formatMs(metric[f] as number)}</td>`,
      ).join('');
      const sub = key.includes('{') ? ' class="sub"' : '';
      return `<tr${sub} data-trend${attr('data-metric', key)}${dataAttrs}><td>${metricCode(key)}</td>${cells}</tr>`;
    })
    .join('');
  const head = TREND_FIELDS.map(([f, label]) => `<th${OPTIONAL_FIELDS.has(f) ? ' class="opt"' : ''}>${label}</th>`).join('');
  return section(
    'latency',
    'Latency by step (ms)',
    `<p class="note"><code>latency</code> counts from the intended send time (coordinated omission corrected); ` +
      `<code>service_time</code> from the actual send; <code>wait</code> is time until a pushed frame.</p>` +
      `<div class="scroll"><table><thead><tr><th>Metric</th>${head}</tr></thead><tbody>${rows}</tbody></table></div>`,
  );
}

/** The HDR curves to draw together: latency and service_time (so the CO correction shows). */
export function hdrCurvesOf(report: ReportJson): { metric: string; curve: CurvePoint[] }[] {
  const trends = trendsOf(report).filter(({ key }) => !key.includes('{'));
  let chosen = trends.filter(({ key, metric }) => (key === 'latency' || key === 'service_time') && metric.count > 0);
  // A push-only scenario has no latency: show what it has (wait, connect).
  if (chosen.length === 0) chosen = trends.filter(({ key, metric }) => key !== 'session_duration' && metric.count > 0).slice(0, 2);
  const split = splitDeliveryLatency(report);
  if (split) {
    return [
      { metric: 'latency', curve: percentileCurve(split.requestResponse) },
      { metric: 'service_time', curve: percentileCurve((report.metrics['service_time'] as TrendJson).hdr) },
      { metric: 'delivery', curve: percentileCurve(split.delivery) },
    ];
  }
  return chosen.map(({ key, metric }) => ({ metric: key, curve: percentileCurve(metric.hdr) }));
}

/**
 * `latency` holds request/response latencies and, from lone expects with latencyFrom, the
 * delivery latency of pushes (chat fan-out, feed ticks), which have no service_time. Drawn as
 * one curve beside service_time it sat far below it, as if answers came before they were sent.
 * When the delivery part can be told apart (its steps are named), the chart shows the
 * request/response latency, which pairs with service_time, and delivery on its own curve.
 */
function splitDeliveryLatency(report: ReportJson): { requestResponse: string; delivery: string } | undefined {
  const latency = report.metrics['latency'];
  const service = report.metrics['service_time'];
  if (latency?.type !== 'trend' || service?.type !== 'trend' || latency.count === service.count) return undefined;
  const deliveryKeys = Object.keys(report.metrics).filter((key) => {
    const parsed = parseMetricKey(key);
    const step = parsed?.name === TREND.latency ? parsed.tags['name'] : undefined;
    return step !== undefined && report.metrics[metricKey(TREND.serviceTime, { name: step })] === undefined && report.metrics[key]!.type === 'trend';
  });
  if (deliveryKeys.length === 0) return undefined;
  try {
    const requestResponse = decodeHistogram(latency.hdr);
    const delivery = newHistogram();
    for (const key of deliveryKeys) {
      const h = decodeHistogram((report.metrics[key] as TrendJson).hdr);
      requestResponse.subtract(h);
      delivery.add(h);
    }
    // Only when what is left is exactly the request/response pairs (no unnamed delivery step).
    if (requestResponse.totalCount !== service.count) return undefined;
    return { requestResponse: encodeHistogram(requestResponse), delivery: encodeHistogram(delivery) };
  } catch {
    return undefined;
  }
}

const HDR_STYLE: Record<string, { color: string; dashed?: boolean; label: string }> = {
  latency: { color: '#d9480f', label: 'latency (from intended send; CO-corrected)' },
  service_time: { color: '#1c7ed6', dashed: true, label: 'service_time (from actual send)' },
  delivery: { color: '#2f9e44', label: 'delivery latency of pushes (latencyFrom)' },
};
const FALLBACK_COLORS = ['#d9480f', '#1c7ed6', '#2f9e44'];

// Inside <script type="application/json"> only "</script" could end the block early.
function jsonForScript(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c');
}

function hdrHtml(report: ReportJson): string {
  const curves = hdrCurvesOf(report);
  const series: HdrSeries[] = curves
    .filter((c) => c.curve.length > 0)
    .map((c, i) => ({
      id: c.metric,
      label: HDR_STYLE[c.metric]?.label ?? c.metric,
      color: HDR_STYLE[c.metric]?.color ?? FALLBACK_COLORS[i % FALLBACK_COLORS.length]!,
      dashed: HDR_STYLE[c.metric]?.dashed,
      curve: c.curve,
    }));
  if (series.length === 0) {
    return section('distribution', 'Latency distribution', '<p class="note">No histogram data to plot.</p>');
  }
  const data = Object.fromEntries(curves.map((c) => [c.metric, c.curve.map((p) => [p.percentile, p.valueMs])]));
  return section(
    'distribution',
    'Latency by percentile',
    `<p class="note">Each curve shows the latency (y) that the given share of samples (x) stayed under; ` +
      `the x axis stretches the tail so 90%, 99% and 99.9% are evenly spaced. Where <code>latency</code> rises ` +
      `above <code>service_time</code>, requests waited behind a slow server: time a closed-loop tool would not have measured.</p>` +
      renderHdrChart({ id: 'hdr', title: 'Percentile distribution (ms)', series }) +
      `<script type="application/json" id="volley-hdr-curves">${jsonForScript(data)}</script>`,
  );
}

function timeseriesHtml(report: ReportJson): string {
  const ts = report.timeseries;
  if (ts.length === 0) return section('timeseries', 'Over time', '<p class="note">No per-second data.</p>');
  const charts = [
    renderTimeChart({
      id: 'frames',
      title: 'Frames per second',
      unit: '/s',
      series: [
        { id: 'framesSent', label: 'sent', color: '#1c7ed6', points: ts.map((p) => [p.t, p.framesSent]) },
        { id: 'framesReceived', label: 'received', color: '#2f9e44', dashed: true, points: ts.map((p) => [p.t, p.framesReceived]) },
      ],
    }),
    renderTimeChart({
      id: 'latency',
      title: 'Latency per second (ms)',
      unit: 'ms',
      series: [
        { id: 'p50', label: 'p50', color: '#0c8599', points: ts.map((p) => [p.t, p.p50]) },
        { id: 'p99', label: 'p99', color: '#d9480f', points: ts.map((p) => [p.t, p.p99]) },
      ],
    }),
    renderTimeChart({
      id: 'active',
      title: 'Active connections',
      unit: '',
      series: [{ id: 'active', label: 'active connections', color: '#7048e8', points: ts.map((p) => [p.t, p.active]) }],
    }),
    renderTimeChart({
      id: 'errors',
      title: 'Errors per second',
      unit: '/s',
      series: [{ id: 'errors', label: 'errors', color: '#e03131', points: ts.map((p) => [p.t, p.errors]) }],
    }),
  ];
  return section('timeseries', 'Over time', `<div class="charts">${charts.join('')}</div>`);
}

function countersHtml(report: ReportJson): string {
  const counters = countersOf(report);
  const gauges = gaugesOf(report);
  if (counters.length === 0 && gauges.length === 0) return '';
  const rows =
    counters
      .map(
        ({ key, metric }) =>
          `<tr${key.includes('{') ? ' class="sub"' : ''} data-counter${attr('data-metric', key)}${attr('data-count', metric.count)}${attr('data-rate', metric.rate)}>` +
          `<td>${metricCode(key)}</td><td>${formatCount(metric.count)}</td><td>${formatRate(metric.rate)}</td></tr>`,
      )
      .join('') +
    gauges
      .map(
        ({ key, metric }) =>
          `<tr data-gauge${attr('data-metric', key)}${attr('data-value', metric.value)}${attr('data-max', metric.max)}>` +
          `<td><code>${escapeHtml(key)}</code></td><td>${formatCount(metric.value)}</td><td class="text">min ${formatCount(metric.min)}, max ${formatCount(metric.max)}</td></tr>`,
      )
      .join('');
  return section(
    'counters',
    'Counters',
    `<div class="scroll"><table><thead><tr><th>Metric</th><th>Count</th><th>Rate /s</th></tr></thead><tbody>${rows}</tbody></table></div>`,
  );
}

function errorsHtml(report: ReportJson): string {
  if (report.errors.length === 0) return section('errors', 'Errors', '<p class="note" data-errors="0">No errors.</p>');
  const rows = report.errors
    .map(
      (e) =>
        `<tr data-error${attr('data-kind', e.kind)}${attr('data-count', e.count)}><td><code>${escapeHtml(e.kind)}</code></td>` +
        `<td>${formatCount(e.count)}</td><td class="msg">${escapeHtml(e.first)}</td></tr>`,
    )
    .join('');
  return section(
    'errors',
    'Errors by kind',
    `<div class="scroll"><table><thead><tr><th>Kind</th><th>Count</th><th class="text">First message</th></tr></thead><tbody>${rows}</tbody></table></div>`,
  );
}

function harnessHtml(report: ReportJson): string {
  const h = report.harness;
  const summary =
    `<p class="note" data-harness${attr('data-limited', h.limited)}>Load generator: event-loop lag p99 ` +
    `<strong>${formatMs(h.eventLoopLagP99Ms)} ms</strong>, CPU <strong>${Math.round(h.cpuPercent)}%</strong>. ` +
    (h.limited
      ? `<strong>Limited:</strong> the load generator was saturated (${escapeHtml(limitedCause(h))}), so latencies include its own delay.`
      : `Healthy: lag stayed under 10 ms, so the numbers describe the server.`) +
    `</p>`;
  const warnings = (h.warnings ?? []).map((w) => `<li>${escapeHtml(w)}</li>`).join('');
  const workers = h.workers?.length
    ? `<div class="scroll"><table><thead><tr><th>Worker</th><th>Lag p99 (ms)</th><th>CPU %</th></tr></thead><tbody>` +
      h.workers
        .map((w) => `<tr><td>${w.worker}</td><td>${formatMs(w.eventLoopLagP99Ms)}</td><td>${Math.round(w.cpuPercent)}</td></tr>`)
        .join('') +
      `</tbody></table></div>`
    : '';
  return section('harness', 'Harness health', summary + (warnings ? `<ul>${warnings}</ul>` : '') + workers);
}

function environmentHtml(report: ReportJson): string {
  const env = report.environment;
  const items: [string, string | number | undefined][] = [
    ['volley', env.volley],
    ['Node.js', env.node],
    ['Platform', env.platform],
    ['CPUs', env.cpus],
    ['Workers', env.workers],
    ['Processes', env.processes],
    ['Host', env.hostname],
    ['Scenario SHA-256', report.scenario.sha256],
  ];
  const body = items
    .filter(([, v]) => v !== undefined && v !== '')
    .map(([k, v]) => `<div><dt>${k}</dt><dd>${k === 'Scenario SHA-256' ? `<code>${escapeHtml(String(v))}</code>` : escapeHtml(String(v))}</dd></div>`)
    .join('');
  return section('environment', 'Environment', `<dl class="meta">${body}</dl>`);
}

/** The whole report page: self-contained, no script, no network. */
export function renderReportHtml(report: ReportJson): string {
  const title = `volley: ${report.scenario.name} (${verdictOf(report)})`;
  return (
    `<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">` +
    `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">` +
    `<meta name="viewport" content="width=device-width,initial-scale=1">` +
    `<title>${escapeHtml(title)}</title><style>${REPORT_CSS}</style></head><body><main data-report${attr('data-status', verdictOf(report))}>` +
    headerHtml(report) +
    thresholdsHtml(report) +
    trendsHtml(report) +
    hdrHtml(report) +
    timeseriesHtml(report) +
    countersHtml(report) +
    errorsHtml(report) +
    harnessHtml(report) +
    environmentHtml(report) +
    `<footer>Rendered by volley ${escapeHtml(report.environment.volley)} from report.json (format ${report.format}).</footer>` +
    `</main></body></html>\n`
  );
}
