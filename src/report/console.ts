// What the terminal shows: the end-of-run summary (a pure report -> string, like autocannon's
// printResult) and the once-a-second progress line. Colour is decided by the caller (useColor).

import {
  countersOf,
  describeLoad,
  formatActual,
  formatCount,
  formatMs,
  formatRate,
  formatSeconds,
  gaugesOf,
  harnessWarning,
  noConnectionOpened,
  trendsOf,
  verdictOf,
} from './format.js';
import type { ReportJson } from './types.js';

type Paint = (text: string) => string;

interface Palette {
  green: Paint;
  red: Paint;
  yellow: Paint;
  bold: Paint;
  dim: Paint;
}

const sgr =
  (open: number, close: number): Paint =>
  (text) =>
    `\x1b[${open}m${text}\x1b[${close}m`;
const plain: Paint = (text) => text;

function palette(color: boolean): Palette {
  return color
    ? { green: sgr(32, 39), red: sgr(31, 39), yellow: sgr(33, 39), bold: sgr(1, 22), dim: sgr(2, 22) }
    : { green: plain, red: plain, yellow: plain, bold: plain, dim: plain };
}

/**
 * Whether to colour output on `stream`: FORCE_COLOR wins when set (0/false turn colour off, as in
 * Node's own tty.getColorDepth), then a non-empty NO_COLOR turns it off (no-color.org), then it
 * takes a TTY that is not TERM=dumb.
 */
export function useColor(stream: NodeJS.WriteStream, env: NodeJS.ProcessEnv): boolean {
  const force = env['FORCE_COLOR'];
  if (force !== undefined) return !(force === '0' || force.toLowerCase() === 'false');
  if (env['NO_COLOR'] !== undefined && env['NO_COLOR'] !== '') return false;
  if (env['TERM'] === 'dumb') return false;
  return stream.isTTY === true;
}

// Width without ANSI escapes, so coloured cells still line up.
// eslint-disable-next-line no-control-regex
const ANSI = /\x1b\[[0-9;]*m/g;
function visibleLength(text: string): number {
  return [...text.replace(ANSI, '')].length;
}

/** Columns two spaces apart; by default the first is left-aligned and the rest right-aligned. */
function table(rows: string[][], leftColumns: readonly number[] = [0], indent = '  '): string[] {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, visibleLength(cell))));
  return rows.map(
    (row) =>
      indent +
      row
        .map((cell, i) => {
          const pad = ' '.repeat(widths[i]! - visibleLength(cell));
          return leftColumns.includes(i) ? cell + pad : pad + cell;
        })
        .join('  ')
        .trimEnd(),
  );
}

/** The end-of-run summary: verdict, metrics, thresholds, errors, harness warning. */
export function formatSummary(report: ReportJson, opts: { color: boolean }): string {
  const c = palette(opts.color);
  const lines: string[] = [];
  const verdict = verdictOf(report);
  const verdictText =
    verdict === 'passed' ? c.green('PASSED') : verdict === 'failed' ? c.red('FAILED') : c.yellow('INTERRUPTED');
  lines.push(`${c.bold(report.scenario.name)}  ${verdictText}`);
  lines.push(
    c.dim(`${report.target} over ${report.transport}, ${describeLoad(report)}; ran ${formatSeconds(report.durationS)}`),
  );
  if (report.interrupted) lines.push(c.yellow('! interrupted: partial results'));
  if (report.aborted) lines.push(c.red('! aborted by a threshold with abortOnFail'));
  if (noConnectionOpened(report)) lines.push(c.red(`! no connection could be opened${report.errors[0] ? `: ${report.errors[0].first}` : ''}`));

  const trends = trendsOf(report);
  if (trends.length > 0) {
    lines.push('', c.bold('Timings (ms)'));
    lines.push(
      ...table([
        ['', 'count', 'p50', 'p90', 'p99', 'max'].map((h) => c.dim(h)),
        ...trends.map(({ key, metric }) => [
          key.includes('{') ? `  ${key}` : key,
          formatCount(metric.count),
          // A trend that measured nothing has no percentiles (its JSON holds 0s beside count 0).
          ...(metric.count === 0 ? ['–', '–', '–', '–'] : [formatMs(metric.p50), formatMs(metric.p90), formatMs(metric.p99), formatMs(metric.max)]),
        ]),
      ]),
    );
  }

  const counters = countersOf(report);
  const gauges = gaugesOf(report);
  if (counters.length + gauges.length > 0) {
    lines.push('', c.bold('Counts'));
    lines.push(
      ...table([
        ['', 'count', 'per s'].map((h) => c.dim(h)),
        ...counters.map(({ key, metric }) => [
          key.includes('{') ? `  ${key}` : key,
          formatCount(metric.count),
          formatRate(metric.rate),
        ]),
        ...gauges.map(({ key, metric }) => [key, formatCount(metric.value), `max ${formatCount(metric.max)}`]),
      ]),
    );
  }

  if (report.thresholds.length > 0) {
    lines.push('', c.bold('Thresholds'));
    lines.push(
      ...table(
        report.thresholds.map((t) => [
          t.ok ? c.green('✓') : c.red('✗'),
          t.metric,
          t.expression,
          `actual ${formatActual(t)}${t.aborted ? ' (aborted the run)' : ''}`,
        ]),
        [0, 1, 2, 3],
      ),
    );
  }

  if (report.errors.length > 0) {
    lines.push('', c.bold('Errors'));
    lines.push(...table(report.errors.map((e) => [c.red(e.kind), formatCount(e.count), oneLine(e.first)]), [0, 2]));
  }

  const warning = harnessWarning(report);
  if (warning) lines.push('', c.yellow(`! ${warning}`));
  return lines.join('\n');
}

// A server's error message may hold newlines or control characters: keep the table one line each.
function oneLine(text: string, maxChars = 120): string {
  // eslint-disable-next-line no-control-regex
  const flat = text.replace(/[\u0000-\u001f\u007f]+/g, ' ');
  return flat.length > maxChars ? `${flat.slice(0, maxChars - 1)}…` : flat;
}

export interface ProgressSnapshot {
  elapsedS: number;
  active: number;
  framesSentPerS: number;
  framesReceivedPerS: number;
  p50: number | null;
  p99: number | null;
  errors: number;
}

/** One progress line (no newline): "  12s  active 100  sent 1,200/s  recv 1,198/s  p50 0.7ms  p99 2.9ms  errors 0". */
export function formatProgressLine(p: ProgressSnapshot): string {
  const latency = (label: string, v: number | null): string => `${label} ${v === null ? '–' : `${formatMs(v)}ms`}`;
  return [
    `${String(Math.round(p.elapsedS)).padStart(4)}s`,
    `active ${formatCount(p.active)}`,
    `sent ${formatRate(p.framesSentPerS)}/s`,
    `recv ${formatRate(p.framesReceivedPerS)}/s`,
    latency('p50', p.p50),
    latency('p99', p.p99),
    `errors ${formatCount(p.errors)}`,
  ].join('  ');
}
