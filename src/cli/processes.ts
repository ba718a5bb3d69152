// `volley run --processes N`: the N segments of one load as child processes of one command (one
// machine past one process's open-file limit and one heap). Each child is an ordinary
// `volley run --segment i/N` writing its own report; this parent sums their live progress,
// forwards Ctrl-C, and merges what they wrote into one report with one exit code.

import { takeEarlySignals } from './signals.js';
import { READY_LINE, goLine } from './start-gate.js';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { formatProgressLine, formatSummary } from '../report/console.js';
import { noConnectionOpened, noConnectionReason } from '../report/format.js';
import { renderReportHtml } from '../report/html.js';
import { renderJUnit } from '../report/junit.js';
import { renderMarkdownSummary } from '../report/markdown.js';
import { mergeReports } from '../report/merge.js';
import { readReport } from '../report/read.js';
import type { ReportJson } from '../report/types.js';
import type { Scenario } from '../scenario/types.js';
import { evaluateThresholds } from '../thresholds/evaluate.js';
import type { CliIO } from './io.js';
import { colorEnabled, writeOutputFile } from './io.js';
import { jsonSummary } from './summary.js';

export interface ProcessesOptions {
  processes: number;
  /** Arguments every child gets (scenario, flags), without --segment/--out/--quiet/--json. */
  childArgs: string[];
  runDir: string;
  html: boolean;
  quiet: boolean;
  json: boolean;
  junit?: string;
  summaryMd?: string;
  scenario: Scenario;
}

interface ChildProgress {
  second: number;
  active: number;
  framesSent: number;
  framesReceived: number;
  errors: number;
  p50: number | null;
  p99: number | null;
}

const binPath = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../bin/volley.js');

/** The go line names an instant this far ahead, so every child has read it before then. */
const GO_DELAY_MS = 250;

export async function runProcesses(opts: ProcessesOptions, io: CliIO): Promise<number> {
  const n = opts.processes;
  const live = !opts.quiet && Boolean(io.stderr.isTTY);
  const bySecond = new Map<number, ChildProgress[]>();
  const children: ChildProcess[] = [];
  const exitCodes: number[] = new Array(n).fill(-1);
  const shardDirs: string[] = [];
  let interrupts = 0;
  const onSignal = (): void => {
    interrupts++;
    if (!opts.quiet) io.stderr.write(interrupts === 1 ? '\nstopping every process (Ctrl-C again to stop at once)\n' : '\nstopping now\n');
    for (const c of children) if (c.exitCode === null) c.kill('SIGINT');
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const exitCleanup = (): void => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGTERM');
  };
  process.on('exit', exitCleanup);
  // The start barrier: once every child has loaded (or is gone), all get one start time.
  const readyChildren = new Set<number>();
  const goneChildren = new Set<number>();
  let released = false;
  const release = (): void => {
    if (released || readyChildren.size + goneChildren.size < n) return;
    released = true;
    const line = goLine(Date.now() + GO_DELAY_MS);
    for (const i of readyChildren) if (!goneChildren.has(i)) children[i]!.stdin!.end(line);
  };
  const gate = {
    ready: (i: number): void => {
      readyChildren.add(i);
      release();
    },
    gone: (i: number): void => {
      goneChildren.add(i);
      readyChildren.delete(i);
      release();
    },
  };
  try {
    const done: Promise<void>[] = [];
    for (let i = 0; i < n; i++) {
      const dir = path.join(opts.runDir, `shard-${i + 1}-of-${n}`);
      shardDirs.push(dir);
      const args = [binPath, 'run', ...opts.childArgs, '--segment', `${i + 1}/${n}`, '--out', dir, '--quiet', '--progress-json', '--start-gate'];
      if (!opts.html) args.push('--no-html');
      // Each child in a process group of its own: a terminal's Ctrl-C goes to the whole
      // foreground group, so children in ours got it from the terminal and again from
      // onSignal, and took the second as "stop now" (sessions cut, gracefulStop skipped).
      // Signals reach them from onSignal alone, once; exitCleanup ends them if this process
      // goes first.
      const child = spawn(process.execPath, args, { stdio: ['pipe', 'ignore', 'pipe'], env: io.env, detached: true });
      // A child that has gone never reads its go line.
      child.stdin!.on('error', () => {});
      children.push(child);
      let buffered = '';
      const stderr = child.stderr!;
      stderr.setEncoding('utf8');
      stderr.on('data', (chunk: string) => {
        buffered += chunk;
        let nl: number;
        while ((nl = buffered.indexOf('\n')) >= 0) {
          const line = buffered.slice(0, nl);
          buffered = buffered.slice(nl + 1);
          if (line === READY_LINE) {
            gate.ready(i);
          } else if (line.startsWith('{"progress":')) {
            const p = (JSON.parse(line) as { progress: ChildProgress }).progress;
            const list = bySecond.get(p.second) ?? [];
            list.push(p);
            bySecond.set(p.second, list);
            if (list.length === n && !opts.quiet) printSummed(p.second, list, live, io);
          } else if (line.trim() !== '') io.stderr.write(`[${i + 1}/${n}] ${line}\n`);
        }
      });
      done.push(
        new Promise<void>((resolve) => {
          child.on('exit', (code, signal) => {
            exitCodes[i] = code ?? (signal ? 130 : 1);
            gate.gone(i);
            resolve();
          });
        }),
      );
    }
    // Ctrl-C while volley was starting: the children stop at once and still write their reports.
    for (let k = takeEarlySignals(); k > 0; k--) onSignal();
    await Promise.all(done);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    process.off('exit', exitCleanup);
  }
  if (live) io.stderr.write('\r\x1b[K');

  // Merge whatever the shards wrote, even after Ctrl-C or a failed shard.
  const files = shardDirs.map((d) => path.join(d, 'report.json')).filter((f) => existsSync(f));
  if (files.length === 0) {
    const worst = Math.max(...exitCodes);
    io.stderr.write(`volley: no shard wrote a report (exit codes ${exitCodes.join(', ')})\n`);
    return worst === 130 ? 130 : worst >= 2 ? worst : 3;
  }
  const reports: ReportJson[] = files.map((f) => readReport(f));
  const merged = mergeReports(reports, files.map((f) => path.relative(opts.runDir, f)));
  merged.thresholds = evaluateThresholds(opts.scenario.thresholds, merged.metrics);
  if (interrupts > 0) merged.interrupted = true;
  writeOutputFile('report', path.join(opts.runDir, 'report.json'), JSON.stringify(merged, null, 2) + '\n');
  if (opts.html) writeOutputFile('report', path.join(opts.runDir, 'report.html'), renderReportHtml(merged));
  if (opts.junit) writeOutputFile('--junit', opts.junit, renderJUnit(merged));
  if (opts.summaryMd) writeOutputFile('--summary-md', opts.summaryMd, renderMarkdownSummary(merged), true);

  // The verdict of the merged run (the children's own exit codes judged each slice alone).
  const problems: string[] = [];
  let exit: number;
  if (interrupts > 0 || exitCodes.includes(130)) exit = 130;
  else if (files.length < n) {
    problems.push(`volley: ${n - files.length} of ${n} processes wrote no report (exit codes ${exitCodes.join(', ')})`);
    exit = 3;
  } else if (noConnectionOpened(merged)) {
    problems.push(`volley: the run could not proceed: no connection to ${merged.target} could be opened (${noConnectionReason(merged, opts.scenario.connect.timeoutMs)})`);
    exit = 3;
  } else exit = merged.thresholds.some((t) => !t.ok) || merged.aborted ? 1 : 0;

  const reportFile = path.join(opts.runDir, 'report.json');
  if (opts.json) {
    // The same document as a single-process run, for the merged report; `processes` adds each
    // child's segment, report and own exit code.
    const summary = {
      ...jsonSummary({
        report: merged,
        transport: merged.transport,
        passed: exit === 0,
        interrupted: merged.interrupted === true,
        aborted: merged.aborted === true,
        reportFile,
        htmlFile: opts.html ? path.join(opts.runDir, 'report.html') : undefined,
      }),
      processes: shardDirs.map((dir, i) => ({
        segment: `${i + 1}/${n}`,
        report: existsSync(path.join(dir, 'report.json')) ? path.join(dir, 'report.json') : null,
        // Judged on its slice alone (a count threshold sees a share): the run's verdict is `passed`.
        ownExitCode: exitCodes[i],
      })),
    };
    io.stdout.write(JSON.stringify(summary, null, 2) + '\n');
  } else {
    io.stdout.write(formatSummary(merged, { color: colorEnabled(io.stdout, io.env) }) + '\n');
    io.stdout.write(`report: ${path.relative(io.cwd, reportFile)} (merged from ${files.length} of ${n} processes)\n`);
  }
  for (const line of problems) io.stderr.write(`${line}\n`);
  return exit;
}

function printSummed(second: number, list: ChildProgress[], live: boolean, io: CliIO): void {
  const line = formatProgressLine({
    elapsedS: second,
    active: list.reduce((a, p) => a + p.active, 0),
    framesSentPerS: list.reduce((a, p) => a + p.framesSent, 0),
    framesReceivedPerS: list.reduce((a, p) => a + p.framesReceived, 0),
    // Exact per-second percentiles would need the shards' histograms: the worst shard is shown.
    p50: maxOrNull(list.map((p) => p.p50)),
    p99: maxOrNull(list.map((p) => p.p99)),
    errors: list.reduce((a, p) => a + p.errors, 0),
  });
  io.stderr.write(live ? `\r\x1b[K${line}` : `${line}\n`);
}

function maxOrNull(values: (number | null)[]): number | null {
  const v = values.filter((x): x is number => x !== null);
  return v.length ? Math.max(...v) : null;
}
