// Small, shared helpers for everything that renders a report for people: number formatting,
// escaping, the run's verdict and the order metrics are listed in. Pure functions only.

import {
  COUNTER_NAMES,
  HARNESS_CPU_PEGGED_PERCENT,
  HARNESS_LAG_LIMIT_MS,
  metricTypeOf,
  parseMetricKey,
  TREND_NAMES,
} from '../metrics/names.js';
import type { CounterJson, GaugeJson, MetricJson, ReportJson, TrendJson } from './types.js';
import { plural } from '../text.js';

/** Milliseconds as the report holds them: microsecond resolution, so at most 3 decimals. */
export function formatMs(valueMs: number | null | undefined): string {
  if (valueMs === null || valueMs === undefined || !Number.isFinite(valueMs)) return '–';
  return String(Number(valueMs.toFixed(3)));
}

/** Whole counts with thousands separators (1,234,567). */
export function formatCount(count: number): string {
  if (!Number.isFinite(count)) return '–';
  return Math.round(count).toLocaleString('en-US');
}

/** Rates (per second): one decimal below 100/s, none above, with separators. */
export function formatRate(perS: number): string {
  if (!Number.isFinite(perS)) return '–';
  const digits = Math.abs(perS) < 100 ? 1 : 0;
  return perS.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

/**
 * A load figure (a rate in sessions/s, a stage target): a shard's share of 25/s is 8.333…/s and
 * three of them add to 24.999999999999996, so at most two decimals, none when whole (25, 8.33,
 * 2.5), with separators.
 */
export function formatAmount(value: number): string {
  if (!Number.isFinite(value)) return '–';
  return value.toLocaleString('en-US', { maximumFractionDigits: 2 });
}

/** A signed percentage: +12.3%, -4.0%; "–" when not comparable. */
export function formatPct(pct: number | null): string {
  if (pct === null || !Number.isFinite(pct)) return '–';
  const sign = pct > 0 ? '+' : '';
  return `${sign}${pct.toFixed(1)}%`;
}

export function formatSeconds(seconds: number): string {
  if (!Number.isFinite(seconds)) return '–';
  if (seconds < 60) return `${Number(seconds.toFixed(1))}s`;
  const m = Math.floor(seconds / 60);
  const s = Math.round(seconds - m * 60);
  return s === 0 ? `${m}m` : `${m}m${s}s`;
}

const HTML_ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

/** Escapes text for HTML element content and quoted attribute values alike. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (ch) => HTML_ESCAPES[ch]!);
}

// XML 1.0 forbids most control characters even as entities; a server's error message may carry
// them, so they are replaced rather than escaped.
// eslint-disable-next-line no-control-regex
const XML_INVALID = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/g;

export function escapeXml(text: string): string {
  return escapeHtml(text.replace(XML_INVALID, '\uFFFD'));
}

export type Verdict = 'passed' | 'failed' | 'interrupted';

/**
 * One word for the run, matching the CLI's exit codes: interrupted (130) wins, then any failed or
 * aborting threshold (1), else passed (0). A run with no thresholds passes.
 */
export function verdictOf(report: ReportJson): Verdict {
  if (report.interrupted) return 'interrupted';
  if (report.aborted || report.thresholds.some((t) => !t.ok) || noConnectionOpened(report)) return 'failed';
  return 'passed';
}

/**
 * Sessions started but not one connection opened: the run could not proceed (exit 3), whatever
 * its thresholds said (with no traffic, `p(99) < 50ms` has nothing to fail on).
 */
export function noConnectionOpened(report: Pick<ReportJson, 'metrics'>): boolean {
  const started = report.metrics['sessions_started'];
  const connect = report.metrics['connect'];
  return started?.type === 'counter' && started.count > 0 && !(connect?.type === 'trend' && connect.count > 0);
}

/**
 * Why no connection opened: the first error's message; when no attempt failed, the sessions were
 * cut while still connecting (connect.timeout outlasting the run), which the line then names
 * instead of repeating itself.
 */
export function noConnectionReason(report: Pick<ReportJson, 'metrics' | 'errors'>, connectTimeoutMs: number): string {
  const first = report.errors[0]?.first;
  if (first) return first;
  const m = report.metrics['sessions_interrupted'];
  const cut = m?.type === 'counter' ? m.count : 0;
  const timeout = formatSeconds(connectTimeoutMs / 1000);
  if (cut > 0)
    return `${cut === 1 ? 'the session was' : `all ${cut} sessions were`} still connecting when the run ended, before connect.timeout ${timeout} ran out`;
  return 'no session reported why';
}

/** A one-line description of the load actually applied ("100 connections for 30s"). */
export function describeLoad(report: ReportJson): string {
  const load = report.load;
  let text: string;
  if (load.stages && load.stages.length > 0) {
    const unit = load.model === 'arrival-rate' ? '/s' : '';
    text = `${load.model}, stages ${load.stages.map((s) => `${formatSeconds(s.durationS)}→${formatAmount(s.target)}${unit}`).join(', ')}`;
  } else if (load.model === 'arrival-rate') {
    text = `${load.rate === undefined ? '?' : formatAmount(load.rate)} sessions/s for ${formatSeconds(load.durationS)}`;
  } else if (load.iterations !== undefined && load.durationS === 0) {
    // Bounded by iterations, not time: "3 connections × 1 session".
    text = `${plural(load.connections ?? 0, 'connection')} × ${plural(load.iterations, 'session')}`;
  } else {
    text = `${plural(load.connections ?? 0, 'connection')} for ${formatSeconds(load.durationS)}`;
    if (load.iterations !== undefined) text += ` (at most ${plural(load.iterations, 'session')} each)`;
  }
  if (load.maxConnections !== undefined) text += `, max ${formatCount(load.maxConnections)} connections`;
  if (load.segment) text += `, segment ${load.segment}`;
  if (load.segments && !isWholeSplit(load.segments)) text += `, only shards ${load.segments.join(', ')}`;
  return text;
}

/** Whether merged segments make one whole split (1/n..n/n, one n). */
function isWholeSplit(segments: readonly string[]): boolean {
  const ns = new Set(segments.map((s) => s.split('/')[1]));
  if (ns.size !== 1) return false;
  const n = Number([...ns][0]);
  return new Set(segments).size === n;
}

export interface NamedMetric<M extends MetricJson> {
  key: string;
  metric: M;
}

/** Contract order for base names, then tagged variants after their base, then anything unknown. */
function metricOrder(key: string): [number, string] {
  const parsed = parseMetricKey(key);
  const base = parsed?.name ?? key;
  const all: readonly string[] = [...TREND_NAMES, ...COUNTER_NAMES];
  const idx = all.indexOf(base);
  return [idx === -1 ? all.length : idx, key];
}

function sortedEntries(report: ReportJson): [string, MetricJson][] {
  return Object.entries(report.metrics).sort(([ka], [kb]) => {
    const [ia, sa] = metricOrder(ka);
    const [ib, sb] = metricOrder(kb);
    if (ia !== ib) return ia - ib;
    // The untagged total first, then its tagged parts alphabetically.
    const ta = sa.includes('{') ? 1 : 0;
    const tb = sb.includes('{') ? 1 : 0;
    if (ta !== tb) return ta - tb;
    return sa < sb ? -1 : sa > sb ? 1 : 0;
  });
}

export function trendsOf(report: ReportJson): NamedMetric<TrendJson>[] {
  return sortedEntries(report)
    .filter((e): e is [string, TrendJson] => e[1].type === 'trend')
    .map(([key, metric]) => ({ key, metric }));
}

export function countersOf(report: ReportJson): NamedMetric<CounterJson>[] {
  return sortedEntries(report)
    .filter((e): e is [string, CounterJson] => e[1].type === 'counter')
    .map(([key, metric]) => ({ key, metric }));
}

export function gaugesOf(report: ReportJson): NamedMetric<GaugeJson>[] {
  return sortedEntries(report)
    .filter((e): e is [string, GaugeJson] => e[1].type === 'gauge')
    .map(([key, metric]) => ({ key, metric }));
}

/**
 * Why `harness.limited` is true, quoting the figure over its limit: the lag when it passed 10 ms,
 * else each pegged worker's busy CPU (the CPU a tenth of its seconds reached), never the mean
 * CPU, which can be far below the limit that was crossed.
 */
export function limitedCause(harness: ReportJson['harness']): string {
  if (harness.eventLoopLagP99Ms > HARNESS_LAG_LIMIT_MS) {
    return `event-loop lag p99 ${formatMs(harness.eventLoopLagP99Ms)} ms, over the ${HARNESS_LAG_LIMIT_MS} ms limit`;
  }
  const lagging = (harness.workers ?? []).filter((w) => w.eventLoopLagP99Ms > HARNESS_LAG_LIMIT_MS);
  if (lagging.length > 0) {
    const which = lagging.map((w) => `worker ${w.worker} at ${formatMs(w.eventLoopLagP99Ms)} ms`).join(', ');
    return `event-loop lag p99 over the ${HARNESS_LAG_LIMIT_MS} ms limit (${which})`;
  }
  const pegged = (harness.workers ?? []).filter((w) => w.cpuBusyPercent !== undefined && w.cpuBusyPercent >= HARNESS_CPU_PEGGED_PERCENT);
  if (pegged.length > 0) {
    const which = pegged.map((w) => `worker ${w.worker} at ${w.cpuBusyPercent}%`).join(', ');
    return `CPU at ${HARNESS_CPU_PEGGED_PERCENT}% or more in at least a tenth of the seconds (${which})`;
  }
  // A report without the per-worker figure (older, or merged from such shards).
  return `a worker's CPU at ${HARNESS_CPU_PEGGED_PERCENT}% or more in at least a tenth of its seconds`;
}

/** The harness warning every renderer shows when the load generator, not the server, was the limit. */
export function harnessWarning(report: ReportJson): string | null {
  if (!report.harness.limited) return null;
  return (
    `results are limited by the load generator, not the server: ${limitedCause(report.harness)} ` +
    `(use more --workers or --processes, or fewer connections per machine)`
  );
}

/**
 * A threshold's actual value in the unit its expression speaks: ms for p(N)/avg/min/max/med,
 * a plain number for count and rate (rates below 1 keep 3 significant digits: 0.000123).
 */
export function formatActual(t: { metric: string; expression: string; actual: number | null }): string {
  if (t.actual === null || !Number.isFinite(t.actual)) return 'no data';
  const method = /^\s*([a-z]+)/.exec(t.expression)?.[1] ?? '';
  // Gauges (active_connections) count connections: their min/max/value carry no unit.
  const name = parseMetricKey(t.metric)?.name ?? t.metric;
  if (method === 'count' || metricTypeOf(name) === 'gauge') return formatCount(t.actual);
  if (method === 'rate') {
    return Math.abs(t.actual) < 1 && t.actual !== 0 ? String(Number(t.actual.toPrecision(3))) : formatRate(t.actual);
  }
  return `${formatMs(t.actual)} ms`;
}
