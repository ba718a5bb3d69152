// `volley run`: flags -> RunOptions, live progress, reports on disk, exit code. Everything that
// measures lives in the engine; this file only orchestrates and prints.

import { mkdirSync, unlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { VolleyError, exitCodeFor, formatProblem } from '../errors.js';
import type { Stripe } from '../load/stripe.js';
import { peakConnections } from '../load/plan.js';
import { ownedCount } from '../load/stripe.js';
import type { ProgressEvent, RunHandle, RunResult } from '../engine/coordinator.js';
import { prepareScenario, startRun } from '../engine/coordinator.js';
import { applyOverrides } from '../engine/overrides.js';
import { stagesOverrideWarning } from '../load/flags.js';
import type { RunOverrides } from '../engine/overrides.js';
import { buildComparison, formatComparisonTable, renderComparisonHtml } from '../report/comparison.js';
import { formatProgressLine, formatSummary } from '../report/console.js';
import { renderReportHtml } from '../report/html.js';
import { renderJUnit } from '../report/junit.js';
import { renderMarkdownSummary } from '../report/markdown.js';
import type { ReportJson } from '../report/types.js';
import type { TransportName } from '../scenario/types.js';
import { formatProblems } from '../scenario/describe.js';
import type { CliIO } from './io.js';
import { CliExit, colorEnabled, errorCode, makeDirs, writeOutputFile } from './io.js';
import { checkConnectionBudget, readOpenFileLimit } from './limits.js';
import { takeEarlySignals } from './signals.js';
import { stdinStartGate } from './start-gate.js';
import { jsonSummary } from './summary.js';
import type { JsonSummary } from './summary.js';

export interface RunCommandOptions {
  scenario: string;
  out?: string;
  sets: string[];
  overrides: Omit<RunOverrides, 'transport'>;
  transports: TransportName[];
  workers?: number;
  segment?: Stripe;
  quiet: boolean;
  json: boolean;
  html: boolean;
  junit?: string;
  summaryMd?: string;
  debug: boolean;
  /** Stop the run when a worker dies (--fail-fast). */
  failFast?: boolean;
  /** Run the segments as this many child processes and merge their reports. */
  processes?: number;
  /** Arguments for child processes (--processes): the scenario and the load flags. */
  childArgs?: string[];
  /** Machine-readable progress: one {"progress": …} JSON line per second on stderr. */
  progressJson?: boolean;
  /** A child of --processes: wait for the parent's go (stdin) before starting the load. */
  startGate?: boolean;
}

export function timestampForPath(d: Date): string {
  return d.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
}

/**
 * reports/<name>-<UTC timestamp>, with -2, -3… when that folder already exists: two runs in the
 * same second (a CI matrix, a quick script) must not write into one folder.
 */
function freshReportDir(reportsDir: string, name: string): string {
  const base = path.join(reportsDir, `${name}-${timestampForPath(new Date())}`);
  try {
    makeDirs(reportsDir);
  } catch {
    return base; // ensureWritableDir says what is wrong with it
  }
  for (let n = 1; ; n++) {
    const dir = n === 1 ? base : `${base}-${n}`;
    try {
      mkdirSync(dir); // atomic: of two runs racing for one name, one gets EEXIST and moves on
      return dir;
    } catch (err) {
      if ((err as { code?: string }).code !== 'EEXIST' || n >= 1000) return dir;
    }
  }
}

function safeName(name: string): string {
  return name.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^-+|-+$/g, '') || 'scenario';
}

/** Checks a folder can be created and written before the run spends minutes measuring. */
function ensureWritableDir(dir: string): void {
  try {
    makeDirs(dir);
    // access() says yes to root everywhere; only a real write proves the folder takes files.
    const probe = path.join(dir, `.volley-write-check-${process.pid}`);
    writeFileSync(probe, '');
    unlinkSync(probe);
  } catch (err) {
    throw new CliExit(2, `--out ${dir}: cannot write there (${errorCode(err)})`);
  }
}

function ensureWritableFile(flag: string, file: string): void {
  try {
    makeDirs(path.dirname(file));
    writeFileSync(file, '', { flag: 'a' });
  } catch (err) {
    throw new CliExit(2, `${flag} ${file}: cannot write there (${errorCode(err)})`);
  }
}

export interface WrittenReport {
  dir: string;
  json: string;
  html?: string;
}

// Outputs written after the run go through writeOutputFile: the up-front checks wrote nothing,
// so they cannot see a disk that fills during the run, and such a failure is still one line.
export function writeReportFiles(dir: string, report: ReportJson, html: boolean): WrittenReport {
  const json = path.join(dir, 'report.json');
  writeOutputFile('report', json, JSON.stringify(report, null, 2) + '\n');
  const written: WrittenReport = { dir, json };
  if (html) {
    written.html = path.join(dir, 'report.html');
    writeOutputFile('report', written.html, renderReportHtml(report));
  }
  return written;
}

export async function runCommand(opts: RunCommandOptions, io: CliIO): Promise<number> {
  // Scenario paths are as the user typed them (messages quote them), resolved against cwd.
  const scenarioFileArg = path.isAbsolute(opts.scenario) || io.cwd === process.cwd() ? opts.scenario : path.resolve(io.cwd, opts.scenario);
  const transports: (TransportName | undefined)[] = opts.transports.length > 0 ? opts.transports : [undefined];
  // Validate first (exit 2 with every problem) before anything opens.
  let scenario;
  let stagesWarning: string | undefined;
  try {
    // Loaded without the load flags first, to tell the user when they replace the stages.
    const { connections, durationMs, rate } = opts.overrides;
    const loadFlags = { connections, durationMs, rate };
    const asWritten = prepareScenario({
      file: scenarioFileArg,
      sets: opts.sets,
      env: io.env,
      overrides: { ...opts.overrides, connections: undefined, durationMs: undefined, rate: undefined, transport: transports[0] },
    });
    // Every transport of a comparison must suit the steps before the first one runs.
    for (const t of transports.slice(1))
      prepareScenario({ file: scenarioFileArg, sets: opts.sets, env: io.env, overrides: { ...opts.overrides, transport: t } });
    stagesWarning = stagesOverrideWarning(asWritten.load, loadFlags);
    scenario = applyOverrides(asWritten, { ...loadFlags });
  } catch (err) {
    if (err instanceof VolleyError && err.problems.length > 0) {
      io.stderr.write(formatProblems(err.problems, { tty: Boolean(io.stderr.isTTY) }) + '\n');
      return exitCodeFor(err.code);
    }
    throw err;
  }

  if (stagesWarning && !opts.quiet) io.stderr.write(`${stagesWarning}\n`);

  // Connections this process will hold at the peak, against its open-file limit.
  const load = scenario.load;
  // With --processes the children split the load: each holds about 1/N (segment 1/N the most).
  const seg = opts.segment ? [opts.segment] : opts.processes && opts.processes > 1 ? [{ index: 0, count: opts.processes }] : [];
  const peak = load.model === 'connections' ? ownedCount(seg, peakConnections(load)) : ownedCount(seg, load.maxConnections);
  for (const t of transports) {
    const problem = checkConnectionBudget(peak, t ?? scenario.transport, readOpenFileLimit(), scenario.target.startsWith('builtin:'));
    if (problem) throw new CliExit(2, problem);
  }

  const runDir = opts.out !== undefined ? path.resolve(io.cwd, opts.out) : freshReportDir(path.resolve(io.cwd, 'reports'), safeName(scenario.name));
  ensureWritableDir(runDir);
  if (opts.junit) ensureWritableFile('--junit', path.resolve(io.cwd, opts.junit));
  if (opts.summaryMd) ensureWritableFile('--summary-md', path.resolve(io.cwd, opts.summaryMd));

  if (opts.processes !== undefined && opts.processes > 1) {
    if (transports.length > 1) throw new CliExit(2, '--processes runs one transport at a time: drop --processes or give one --transport');
    if (opts.segment) throw new CliExit(2, '--processes and --segment do not combine: --processes N runs segments 1/N..N/N itself');
    const { runProcesses } = await import('./processes.js');
    return runProcesses(
      {
        processes: opts.processes,
        childArgs: opts.childArgs ?? [opts.scenario],
        runDir,
        html: opts.html,
        quiet: opts.quiet,
        json: opts.json,
        junit: opts.junit ? path.resolve(io.cwd, opts.junit) : undefined,
        summaryMd: opts.summaryMd ? path.resolve(io.cwd, opts.summaryMd) : undefined,
        scenario,
      },
      io,
    );
  }

  const color = colorEnabled(io.stdout, io.env);
  const progressOut = io.stderr;
  const live = !opts.quiet && Boolean(progressOut.isTTY);

  const results: { transport: string; result: RunResult; written: WrittenReport }[] = [];
  let interruptedAll = false;
  let handle: RunHandle | undefined;
  let sigints = 0;
  const onSignal = (): void => {
    sigints++;
    interruptedAll = true;
    if (!opts.quiet) progressOut.write(sigints === 1 ? '\nstopping: finishing running sessions (Ctrl-C again to stop at once)\n' : '\nstopping now\n');
    if (sigints === 1) handle?.stop();
    else handle?.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  // Ctrl-C while volley was starting: the first run still starts and stops at once, so the
  // report (interrupted, nothing or little measured) is written as on every other exit path.
  for (let n = takeEarlySignals(); n > 0; n--) onSignal();
  try {
    for (const transport of transports) {
      if (interruptedAll && results.length > 0) break;
      const multi = transports.length > 1;
      if (multi && !opts.quiet) progressOut.write(`== ${transport} ==\n`);
      handle = startRun({
        file: scenarioFileArg,
        sets: opts.sets,
        env: io.env,
        overrides: { ...opts.overrides, transport },
        workers: opts.workers,
        segment: opts.segment,
        debug: opts.debug,
        failFast: opts.failFast,
        startGate: opts.startGate ? stdinStartGate(progressOut, process.stdin) : undefined,
        onDebug: (line) => progressOut.write(`${line}\n`),
        onWarning: (line) => progressOut.write(`${live ? '\r\x1b[K' : ''}${line}\n`),
        onProgress: opts.progressJson
          ? (p: ProgressEvent) => progressOut.write(JSON.stringify({ progress: { second: p.second, ...p.point } }) + '\n')
          : opts.quiet
            ? undefined
            : (p: ProgressEvent) => printProgress(p, live, progressOut),
      });
      if (sigints > 0) handle.stop();
      if (sigints > 1) handle.abort();
      let result: RunResult;
      try {
        result = await handle.done;
      } catch (err) {
        if (err instanceof VolleyError) throw new CliExit(exitCodeFor(err.code), err.message);
        throw err;
      }
      if (live) progressOut.write('\r\x1b[K');
      const dir = multi ? path.join(runDir, (transport ?? result.scenario.transport).replace(/[^A-Za-z0-9.-]+/g, '-')) : runDir;
      const written = writeReportFiles(dir, result.report, opts.html);
      results.push({ transport: transport ?? result.scenario.transport, result, written });
      if (!opts.json) {
        io.stdout.write(formatSummary(result.report, { color }) + '\n');
        io.stdout.write(`report: ${path.relative(io.cwd, written.json) || written.json}${written.html ? `, ${path.relative(io.cwd, written.html)}` : ''}\n`);
      }
      if (result.noConnection) break;
    }
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }

  if (results.length > 1) {
    const comparison = buildComparison(
      results.map((r) => ({ transport: r.transport, report: r.result.report, reportFile: path.relative(runDir, r.written.json) })),
    );
    const comparisonJson = path.join(runDir, 'comparison.json');
    writeOutputFile('comparison', comparisonJson, JSON.stringify(comparison, null, 2) + '\n');
    // --no-html leaves out every page, the comparison's too.
    const comparisonHtml = opts.html ? path.join(runDir, 'comparison.html') : undefined;
    if (comparisonHtml) writeOutputFile('comparison', comparisonHtml, renderComparisonHtml(comparison));
    if (!opts.json) io.stdout.write(formatComparisonTable(comparison) + '\n' + `comparison: ${path.relative(io.cwd, comparisonHtml ?? comparisonJson)}\n`);
  }

  const last = results[results.length - 1];
  if (last) {
    if (opts.junit) writeOutputFile('--junit', path.resolve(io.cwd, opts.junit), renderJUnit(last.result.report));
    if (opts.summaryMd) writeOutputFile('--summary-md', path.resolve(io.cwd, opts.summaryMd), renderMarkdownSummary(last.result.report), true);
    if (opts.json) {
      const summary = results.length === 1 ? summaryOf(last) : results.map(summaryOf);
      io.stdout.write(JSON.stringify(summary, null, 2) + '\n');
    }
  }

  // A worker that died leaves the results incomplete: say which sessions, and fail the run.
  for (const r of results)
    for (const f of r.result.workerFailures ?? [])
      io.stderr.write(
        `volley: worker ${f.worker} died (${f.message}); its sessions (${f.vus}, ${f.sessionsRunning} running) were lost, ${opts.failFast ? 'the run was stopped (--fail-fast)' : 'the other workers carried on'}\n`,
      );
  if (interruptedAll) return 130;
  if (results.some((r) => (r.result.workerFailures ?? []).length > 0)) return 3;
  const noConnection = results.find((r) => r.result.noConnection);
  if (noConnection) {
    io.stderr.write(`volley: the run could not proceed: no connection to ${noConnection.result.report.target} could be opened (${noConnection.result.failureReason ?? 'unknown reason'})\n`);
    return 3;
  }
  if (results.some((r) => r.result.thresholdsFailed || r.result.aborted)) return 1;
  return 0;
}

function summaryOf(r: { transport: string; result: RunResult; written: WrittenReport }): JsonSummary {
  return jsonSummary({
    report: r.result.report,
    transport: r.transport,
    passed: !r.result.thresholdsFailed && !r.result.aborted && !r.result.interrupted && !r.result.noConnection,
    interrupted: r.result.interrupted,
    aborted: r.result.aborted,
    reportFile: r.written.json,
    htmlFile: r.written.html,
  });
}

function printProgress(p: ProgressEvent, live: boolean, out: CliIO['stderr']): void {
  const line = formatProgressLine({
    elapsedS: p.elapsedS,
    active: p.point.active,
    framesSentPerS: p.point.framesSent,
    framesReceivedPerS: p.point.framesReceived,
    p50: p.point.p50,
    p99: p.point.p99,
    errors: p.point.errors,
  });
  const planned = p.plannedDurationS ? `/${p.plannedDurationS}s` : '';
  if (live) out.write(`\r\x1b[K${line.replace(/^(\S+)/, `$1${planned}`)}`);
  else out.write(`${line}\n`);
}

export { formatProblem };
