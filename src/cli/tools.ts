// The commands around a run: re-render a report, compare two runs, merge shards, turn a HAR or a
// recording into a scenario. Each is a thin call into the library plus file I/O and an exit code.

import { existsSync } from 'node:fs';
import path from 'node:path';
import { VolleyError } from '../errors.js';
import { parseMetricKey } from '../metrics/names.js';
import { compareReports, formatComparison, renderComparisonReportHtml } from '../report/compare.js';
import { formatSummary } from '../report/console.js';
import { noConnectionOpened } from '../report/format.js';
import { renderReportHtml } from '../report/html.js';
import { mergeReports, missingSegments } from '../report/merge.js';
import { readReport } from '../report/read.js';
import type { ReportJson } from '../report/types.js';
import type { ThresholdSpec } from '../scenario/types.js';
import { evaluateThresholds } from '../thresholds/evaluate.js';
import { parseThresholdExpression } from '../thresholds/parse.js';
import type { CliIO } from './io.js';
import { CliExit, colorEnabled, waitForStop, writeOutputFile } from './io.js';

/** `-o FILE` of import and record: absent or `-` means stdout (the scenario is the output; notes
 *  and warnings go to stderr). */
function toStdout(out: string | undefined): boolean {
  return out === undefined || out === '' || out === '-';
}

export function reportCommand(file: string, htmlOut: string | undefined, io: CliIO): number {
  const report = readReport(file);
  const out = htmlOut ?? path.join(path.dirname(file), 'report.html');
  writeOutputFile('--html', out, renderReportHtml(report));
  io.stdout.write(formatSummary(report, { color: colorEnabled(io.stdout, io.env) }) + '\n');
  io.stdout.write(`report: ${out}\n`);
  return 0;
}

export function parsePercent(flag: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const m = /^\s*(\d+(?:\.\d+)?)\s*%?\s*$/.exec(text);
  if (!m) throw new CliExit(2, `${flag}: expected a percentage like 10%, got ${JSON.stringify(text)}`);
  return Number(m[1]);
}

export function compareCommand(a: string, b: string, failOnRegression: string | undefined, htmlOut: string | undefined, io: CliIO): number {
  const limitPct = parsePercent('--fail-on-regression', failOnRegression);
  const ra = readReport(a);
  const rb = readReport(b);
  const c = compareReports(ra, rb, { failOnRegressionPct: limitPct });
  // Comparing an edited scenario with its baseline is the point; two different scenarios are
  // more likely a wrong file, whose "regression" would mean nothing.
  if (ra.scenario.name !== rb.scenario.name)
    io.stderr.write(
      `volley: warning: ${a} and ${b} ran different scenarios ("${ra.scenario.name}" and "${rb.scenario.name}"): their metrics may not measure the same thing\n`,
    );
  io.stdout.write(formatComparison(c, { color: colorEnabled(io.stdout, io.env) }) + '\n');
  if (htmlOut) {
    writeOutputFile('--html', htmlOut, renderComparisonReportHtml(c));
    io.stdout.write(`comparison: ${htmlOut}\n`);
  }
  return c.regressed ? 1 : 0;
}

/** Rebuilds threshold specs from a report's results (metric + verbatim expression). */
function thresholdSpecsOf(report: ReportJson, file: string): ThresholdSpec[] {
  const specs: ThresholdSpec[] = [];
  for (const t of report.thresholds) {
    const key = parseMetricKey(t.metric);
    const parsed = parseThresholdExpression(t.expression);
    if (!key || !parsed.ok) throw new VolleyError('INVALID_INPUT', `${file}: threshold ${t.metric}: "${t.expression}" does not parse`);
    specs.push({
      metric: t.metric,
      metricName: key.name,
      tags: key.tags,
      expression: t.expression,
      parsed: parsed.value,
      abortOnFail: Boolean(t.abortOnFail),
      delayAbortEvalMs: 0,
      pos: { line: 1, col: 1 },
    });
  }
  return specs;
}

export function mergeCommand(files: string[], out: string, htmlOut: string | undefined, io: CliIO): number {
  if (files.length === 0) throw new CliExit(2, 'merge: name at least one report.json');
  const reports = files.map((f) => readReport(f));
  const merged = mergeReports(reports, files);
  // Still merged (a partial picture can be what was wanted), but never silently.
  const missing = missingSegments(reports);
  if (missing.length > 0) {
    io.stderr.write(
      `volley merge: warning: shard${missing.length === 1 ? '' : 's'} ${missing.join(', ')} missing: ` +
        `the merged report holds ${merged.load.segments!.join(', ')}, not the whole load\n`,
    );
  }
  // Thresholds are re-evaluated on the merged whole, never combined from the shards' verdicts.
  const specs = thresholdSpecsOf(reports[0]!, files[0]!);
  merged.thresholds = evaluateThresholds(specs, merged.metrics);
  writeOutputFile('-o', out, JSON.stringify(merged, null, 2) + '\n');
  if (htmlOut) writeOutputFile('--html', htmlOut, renderReportHtml(merged));
  io.stdout.write(formatSummary(merged, { color: colorEnabled(io.stdout, io.env) }) + '\n');
  io.stdout.write(`merged ${files.length} reports into ${out}\n`);
  // The exit codes of `volley run` (and --processes) for the same outcome: a merge Job gates on it.
  if (merged.interrupted) return 130;
  if (noConnectionOpened(merged)) {
    io.stderr.write(`volley merge: no shard opened a connection to ${merged.target}: the run could not proceed\n`);
    return 3;
  }
  return merged.aborted || merged.thresholds.some((t) => !t.ok) ? 1 : 0;
}

export async function importCommand(
  file: string,
  opts: { out?: string; urlFilter?: string; timing: 'keep' | 'none' },
  io: CliIO,
): Promise<number> {
  if (!existsSync(file)) throw new CliExit(2, `${file}: no such file`);
  const { importHar } = await import('../record/import.js');
  const generated = importHar(file, { urlFilter: opts.urlFilter, timing: opts.timing });
  if (toStdout(opts.out)) io.stdout.write(generated.yaml);
  else {
    writeOutputFile('-o', opts.out!, generated.yaml);
    io.stderr.write(`wrote ${opts.out}\n`);
  }
  for (const w of generated.warnings) io.stderr.write(`warning: ${w}\n`);
  for (const n of generated.notes) io.stderr.write(`note: ${n}\n`);
  if (generated.envVars.length > 0) io.stderr.write(`set these environment variables before running it: ${generated.envVars.join(', ')}\n`);
  return 0;
}

export async function recordCommand(
  opts: { upstream: string; listen?: string; out?: string; quiet: boolean; durationMs?: number; timing: 'keep' | 'none' },
  io: CliIO,
): Promise<number> {
  let upstream: URL;
  try {
    upstream = new URL(opts.upstream);
  } catch {
    throw new CliExit(2, `--upstream: not a URL: ${JSON.stringify(opts.upstream)}`);
  }
  if (upstream.protocol !== 'ws:' && upstream.protocol !== 'wss:') throw new CliExit(2, `--upstream: expected ws:// or wss://, got ${upstream.protocol}`);
  const { nothingRecordedMessage, startRecorder } = await import('../record/proxy.js');
  const { generateScenario } = await import('../record/generate.js');
  const { redactUrls } = await import('../record/volatile.js');
  const recorder = await startRecorder({
    upstream: opts.upstream,
    listen: opts.listen,
    onFrame: opts.quiet ? undefined : (line) => io.stderr.write(line + '\n'),
  });
  io.stderr.write(`recording: point the client at ${recorder.listenUrl} (relaying to ${redactUrls(opts.upstream)}); Ctrl-C writes the scenario\n`);
  await waitForStop(opts.durationMs);
  const flows = recorder.flows();
  const refused = recorder.refused();
  await recorder.stop();
  if (flows.length === 0) {
    io.stderr.write(`volley: ${nothingRecordedMessage(refused)}\n`);
    return 2;
  }
  const generated = generateScenario(flows, { timing: opts.timing, origin: `volley record --upstream ${opts.upstream}`, kind: 'record' });
  if (toStdout(opts.out)) io.stdout.write(generated.yaml);
  else {
    writeOutputFile('-o', opts.out!, generated.yaml);
    io.stderr.write(`wrote ${opts.out} (${flows.length} connection${flows.length === 1 ? '' : 's'})\n`);
  }
  for (const w of generated.warnings) io.stderr.write(`warning: ${w}\n`);
  for (const n of generated.notes) io.stderr.write(`note: ${n}\n`);
  if (generated.envVars.length > 0) io.stderr.write(`set these environment variables before running it: ${generated.envVars.join(', ')}\n`);
  return 0;
}
