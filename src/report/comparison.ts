// The transport comparison (DESIGN.md "Long-poll transport and the comparison"): one scenario
// run once per transport, reduced to what tells transports apart, bytes on the wire per
// delivered message above all. Pure functions of the reports: build -> JSON, JSON -> HTML or
// a console table. The CLI writes the files.

import { COUNTER, TREND } from '../metrics/names.js';
import { VolleyError } from '../errors.js';
import type { MetricJson, ReportJson } from './types.js';

export interface TransportComparisonEntry {
  transport: string;
  /** Messages delivered, both directions: frames_sent + frames_received. */
  messages: number;
  /**
   * (bytes_sent + bytes_received) / messages: handshakes, headers, polls and framing included.
   * null when no message was delivered: there is no per-message cost to state (as for latency).
   */
  bytesPerMessage: number | null;
  bytesSent: number;
  bytesReceived: number;
  /** From the `latency` trend (request/response steps), else `wait` (pushed frames). */
  latency: { p50: number | null; p99: number | null };
  messagesPerSecond: number;
  /** The load generator's CPU (report.harness.cpuPercent). */
  cpuPercent: number;
  reportFile?: string;
}

export interface ComparisonJson {
  format: 1;
  scenario: string;
  transports: TransportComparisonEntry[];
}

export interface ComparisonInput {
  transport: string;
  report: ReportJson;
  reportFile?: string;
}

export function buildComparison(reports: ComparisonInput[]): ComparisonJson {
  if (reports.length === 0) throw new VolleyError('INVALID_INPUT', 'a comparison needs at least one report');
  return {
    format: 1,
    scenario: reports[0]!.report.scenario.name,
    transports: reports.map(entryOf),
  };
}

function entryOf(input: ComparisonInput): TransportComparisonEntry {
  const { report } = input;
  const metrics = report.metrics;
  const messages = counterOf(metrics[COUNTER.framesSent]) + counterOf(metrics[COUNTER.framesReceived]);
  const bytesSent = counterOf(metrics[COUNTER.bytesSent]);
  const bytesReceived = counterOf(metrics[COUNTER.bytesReceived]);
  const trend = measuredTrend(metrics[TREND.latency]) ?? measuredTrend(metrics[TREND.wait]);
  const entry: TransportComparisonEntry = {
    transport: input.transport,
    messages,
    bytesPerMessage: messages > 0 ? round((bytesSent + bytesReceived) / messages, 2) : null,
    bytesSent,
    bytesReceived,
    latency: { p50: trend?.p50 ?? null, p99: trend?.p99 ?? null },
    messagesPerSecond: report.durationS > 0 ? round(messages / report.durationS, 1) : 0,
    cpuPercent: report.harness.cpuPercent,
  };
  if (input.reportFile !== undefined) entry.reportFile = input.reportFile;
  return entry;
}

function counterOf(metric: MetricJson | undefined): number {
  return metric?.type === 'counter' ? metric.count : 0;
}

function measuredTrend(metric: MetricJson | undefined): { p50: number; p99: number } | undefined {
  return metric?.type === 'trend' && metric.count > 0 ? metric : undefined;
}

function round(value: number, decimals: number): number {
  const f = 10 ** decimals;
  return Math.round(value * f) / f;
}

// ---- the sentence ---------------------------------------------------------------------------

/** The baseline the others are measured against: ws, else socket.io (its websocket), else the first. */
export function baselineOf(c: ComparisonJson): TransportComparisonEntry | undefined {
  const usable = c.transports.filter((t) => t.bytesPerMessage !== null && t.bytesPerMessage > 0);
  return usable.find((t) => t.transport === 'ws') ?? usable.find((t) => t.transport === 'socket.io') ?? usable[0];
}

/** Bytes per message relative to the baseline, e.g. "8.3" for 8.3×; "–" when not comparable. */
export function formatRatio(ratio: number): string {
  if (!Number.isFinite(ratio)) return '–';
  return ratio >= 10 ? String(Math.round(ratio)) : ratio.toFixed(1);
}

/** One sentence per non-baseline transport: "long-poll uses 8.3× the bytes per message of ws". */
export function comparisonSentences(c: ComparisonJson): string[] {
  const base = baselineOf(c);
  if (base === undefined || base.bytesPerMessage === null) return [];
  const lines: string[] = [];
  for (const t of c.transports) {
    if (t === base || t.bytesPerMessage === null) continue;
    lines.push(`${t.transport} uses ${formatRatio(t.bytesPerMessage / base.bytesPerMessage)}× the bytes per message of ${base.transport}`);
  }
  return lines;
}

// ---- console ------------------------------------------------------------------------------

const num = (n: number, digits = 0): string =>
  n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
const msOrDash = (v: number | null): string => (v === null ? '–' : `${Number(v.toFixed(3))} ms`);

function tableRows(c: ComparisonJson): string[][] {
  return c.transports.map((t) => [
    t.transport,
    num(t.messages),
    t.bytesPerMessage === null ? '–' : num(t.bytesPerMessage, 1),
    num(t.bytesSent),
    num(t.bytesReceived),
    msOrDash(t.latency.p50),
    msOrDash(t.latency.p99),
    num(t.messagesPerSecond, t.messagesPerSecond < 100 ? 1 : 0),
    `${num(t.cpuPercent)}%`,
  ]);
}

const HEADERS = ['transport', 'messages', 'bytes/msg', 'bytes sent', 'bytes received', 'p50', 'p99', 'msg/s', 'client CPU'];

/** A plain-text table (first column left-aligned, numbers right-aligned) and the N× sentences. */
export function formatComparisonTable(c: ComparisonJson): string {
  const rows = [HEADERS, ...tableRows(c)];
  const widths = HEADERS.map((_, col) => Math.max(...rows.map((r) => r[col]!.length)));
  const lines = rows.map((r) =>
    r.map((cell, col) => (col === 0 ? cell.padEnd(widths[col]!) : cell.padStart(widths[col]!))).join('  ').trimEnd(),
  );
  lines.splice(1, 0, widths.map((w) => '-'.repeat(w)).join('  '));
  const out = [`Transports compared on scenario "${c.scenario}"`, '', ...lines];
  const sentences = comparisonSentences(c);
  if (sentences.length > 0) out.push('', ...sentences.map((s) => `${s}.`));
  return out.join('\n') + '\n';
}

// ---- HTML ---------------------------------------------------------------------------------

function esc(text: string): string {
  return text.replace(/[&<>"']/g, (ch) => ESCAPES[ch]!);
}
const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

const PALETTE = ['#2563eb', '#d97706', '#059669', '#7c3aed', '#dc2626', '#0891b2'];

interface Bar {
  label: string;
  value: number | null;
  color: string;
}

/** Horizontal bars, one row per bar, scaled to the largest value (or to `scaleMax` when it is
 *  larger: CPU reads against 100%, not against the busiest bar); null values show "–". */
function barChart(title: string, bars: Bar[], format: (v: number) => string, scaleMax = 0): string {
  const rowH = 26;
  const labelW = 160;
  const barW = 360;
  const valueW = 110;
  const width = labelW + barW + valueW;
  const height = bars.length * rowH + 8;
  const max = Math.max(scaleMax, ...bars.map((b) => b.value ?? 0));
  const rows = bars.map((b, i) => {
    const y = 4 + i * rowH;
    const w = b.value !== null && max > 0 ? Math.max(1, (b.value / max) * barW) : 0;
    const text = b.value === null ? '–' : format(b.value);
    return (
      `<text x="${labelW - 8}" y="${y + 17}" text-anchor="end">${esc(b.label)}</text>` +
      `<rect x="${labelW}" y="${y + 4}" width="${w.toFixed(1)}" height="${rowH - 8}" fill="${b.color}" rx="2"/>` +
      `<text x="${(labelW + w + 6).toFixed(1)}" y="${y + 17}">${esc(text)}</text>`
    );
  });
  return (
    `<figure><figcaption>${esc(title)}</figcaption>` +
    `<svg viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" aria-label="${esc(title)}">` +
    rows.join('') +
    `</svg></figure>`
  );
}

const CSS = `
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:24px auto;max-width:980px;padding:0 16px;color:#111}
h1{font-size:20px;margin:0 0 4px}
p.lead{font-size:16px;margin:12px 0 20px}
.scroll{overflow-x:auto;max-width:100%;margin:8px 0 24px}
table{border-collapse:collapse}
th,td{padding:4px 10px;border-bottom:1px solid #e5e7eb;text-align:right;white-space:nowrap}
th:first-child,td:first-child{text-align:left}
th{font-weight:600;background:#f9fafb}
.charts{display:flex;flex-wrap:wrap;gap:8px 32px}
figure{margin:0 0 16px;max-width:100%}
svg{max-width:100%;height:auto}
figcaption{font-weight:600;margin-bottom:4px}
svg text{font:12px system-ui,sans-serif;fill:#111}
.note{color:#555;font-size:12px}
`;

/**
 * One self-contained page (no network): the N× sentence, a table, and SVG bars for bytes per
 * message, messages/s, latency p50/p99 side by side, and the client's CPU.
 */
export function renderComparisonHtml(c: ComparisonJson): string {
  const colorOf = new Map(c.transports.map((t, i) => [t, PALETTE[i % PALETTE.length]!]));
  const bars = (value: (t: TransportComparisonEntry) => number | null): Bar[] =>
    c.transports.map((t) => ({ label: t.transport, value: value(t), color: colorOf.get(t)! }));
  const latencyBars: Bar[] = c.transports.flatMap((t) => [
    { label: `${t.transport} p50`, value: t.latency.p50, color: colorOf.get(t)! },
    { label: `${t.transport} p99`, value: t.latency.p99, color: colorOf.get(t)! },
  ]);
  const sentences = comparisonSentences(c);
  const lead =
    sentences.length > 0
      ? sentences.map((s) => `<p class="lead"><strong>${esc(s)}.</strong></p>`).join('')
      : '<p class="lead">Only one transport delivered messages; nothing to compare against.</p>';
  const head = HEADERS.map((h) => `<th>${esc(h)}</th>`).join('');
  const body = tableRows(c)
    .map((r, i) => {
      // The page is written only beside the transports' report.html (--no-html leaves out
      // both), so a transport links to its page, not to its JSON.
      const file = c.transports[i]!.reportFile?.replace(/report\.json$/, 'report.html');
      const cells = r.map((cell, col) =>
        col === 0 && file !== undefined ? `<td><a href="${esc(file)}">${esc(cell)}</a></td>` : `<td>${esc(cell)}</td>`,
      );
      return `<tr>${cells.join('')}</tr>`;
    })
    .join('');
  const bytesFmt = (v: number): string => `${num(v, 1)} B`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<title>${esc(`volley: transports compared on ${c.scenario}`)}</title>
<style>${CSS}</style></head>
<body>
<h1>Transports compared: ${esc(c.scenario)}</h1>
${lead}
<div class="scroll"><table><thead><tr>${head}</tr></thead><tbody>${body}</tbody></table></div>
<div class="charts">
${barChart('Bytes on the wire per message (both directions)', bars((t) => t.bytesPerMessage), bytesFmt)}
${barChart('Messages delivered per second', bars((t) => t.messagesPerSecond), (v) => num(v, v < 100 ? 1 : 0))}
${barChart('Latency p50 and p99 (ms)', latencyBars, (v) => `${Number(v.toFixed(3))} ms`)}
${barChart('Load generator CPU', bars((t) => t.cpuPercent), (v) => `${num(v)}%`, 100)}
</div>
<p class="note">Messages are frames delivered in both directions (frames_sent + frames_received). Bytes are
counted on the client's sockets: handshakes, HTTP request and status lines, headers, polls,
chunked and WebSocket framing, and TLS records when the target is https/wss. Latency is the
<code>latency</code> trend (request/response steps), else <code>wait</code> (pushed frames).</p>
</body></html>
`;
}
