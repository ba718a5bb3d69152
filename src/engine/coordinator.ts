// The coordinator: main-thread side of a run. It validates the scenario, resolves builtin
// targets, spreads the load over worker threads (stripes that add up to the whole), merges
// their metric snapshots, evaluates thresholds (continuously for abortOnFail, then at the
// end) and returns the report. It never touches a frame and never writes a file.

import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { VolleyError } from '../errors.js';
import { peakConnections, plannedDurationMs, totalArrivals } from '../load/plan.js';
import type { Stripe } from '../load/stripe.js';
import { formatSegment, nthOwned, ownedCount } from '../load/stripe.js';
import { MetricsAggregator } from '../metrics/aggregate.js';
import { GAUGE, HARNESS_CPU_PEGGED_PERCENT, HARNESS_LAG_LIMIT_MS } from '../metrics/names.js';
import type { ErrorKind } from '../metrics/names.js';
import { limitedCause, noConnectionOpened, noConnectionReason } from '../report/format.js';
import type { HarnessJson, LoadAppliedJson, MetricJson, ReportJson, TimeseriesPoint } from '../report/types.js';
import { loadScenario } from '../scenario/load.js';
import type { Scenario } from '../scenario/types.js';
import { withExpectedMetrics } from '../metrics/expected.js';
import { VOLLEY_VERSION } from '../version.js';
import { evaluateThresholds } from '../thresholds/evaluate.js';
import { cpuBusyPercent, runHealth, summariseHealth } from './health.js';
import { SHARED_SLOTS, liveArrivalsOf, openConnectionsOf, sharedSlotCount } from './messages.js';
import type { FromWorker, ToWorker, WorkerHealth, WorkerInit } from './messages.js';
import type { RunOverrides } from './overrides.js';
import { applyOverrides, overrideSets, relabelFlagProblems } from './overrides.js';
import { runSetup } from './setup.js';
import { resolveTarget } from './targets.js';
import { resolveTls } from '../transport/tls-options.js';

export interface RunOptions {
  file: string;
  /** YAML text; read from `file` when absent. */
  source?: string;
  sets?: string[];
  env?: NodeJS.ProcessEnv;
  overrides?: RunOverrides;
  /** Worker threads (default: one per CPU, never more than there are connections). */
  workers?: number;
  /** This process's shard of the load (--segment i/n). */
  segment?: Stripe;
  debug?: boolean;
  onProgress?: (p: ProgressEvent) => void;
  onDebug?: (line: string) => void;
  /** Called once with a warning line (e.g. the load generator is saturated). */
  onWarning?: (line: string) => void;
  /** Stop the whole run when a worker dies (--fail-fast); by default the others carry on. */
  failFast?: boolean;
  /**
   * Called once every worker has loaded; the run starts when it resolves, at the epoch time it
   * gives (if later than now). --processes uses it so that all its children start together.
   */
  startGate?: () => Promise<number | undefined>;
}

/** A worker thread that threw or exited before finishing its share of the load. */
export interface WorkerFailure {
  worker: number;
  /** One line: why it died. */
  message: string;
  /** The sessions it owned (its stripe, as the first vus) and how many were running. */
  vus: string;
  sessionsRunning: number;
}

export interface ProgressEvent {
  second: number;
  point: TimeseriesPoint;
  elapsedS: number;
  plannedDurationS: number | undefined;
  health: { eventLoopLagP99Ms: number; cpuPercent: number };
}

export interface RunResult {
  report: ReportJson;
  scenario: Scenario;
  thresholdsFailed: boolean;
  interrupted: boolean;
  aborted: boolean;
  /** Sessions were started but not a single connection opened: the run could not proceed. */
  noConnection: boolean;
  /** The first error message when noConnection (e.g. "connection refused by ws://…"). */
  failureReason?: string;
  /** Workers that died; their metrics up to their last report are kept. */
  workerFailures?: WorkerFailure[];
}

export interface RunHandle {
  /** Graceful stop (first Ctrl-C): no new sessions, running ones get gracefulStop. */
  stop(): void;
  /** Hard stop (second Ctrl-C): cut every session now; the report is still written. */
  abort(): void;
  done: Promise<RunResult>;
}


/** Worker threads need JavaScript: from the sources (under vitest) use the built twin in dist/. */
function workerScript(): string {
  const here = fileURLToPath(import.meta.url);
  if (here.endsWith('.ts')) {
    const built = path.resolve(path.dirname(here), '../../dist/engine/worker.js');
    if (!existsSync(built)) throw new Error(`${built} is missing: run \`npm run build\` first`);
    return built;
  }
  return path.join(path.dirname(here), 'worker.js');
}

/** Loads and validates the scenario, throwing VolleyError('INVALID_SCENARIO') with every problem. */
export function prepareScenario(opts: Pick<RunOptions, 'file' | 'source' | 'sets' | 'env' | 'overrides'>): Scenario {
  const userSets = opts.sets ?? [];
  const overrides = opts.overrides ?? {};
  const sets = [...userSets, ...overrideSets(overrides)];
  const loaded = loadScenario({ file: opts.file, source: opts.source, sets, env: opts.env ?? process.env, transportDecided: true });
  if (!loaded.ok) {
    const problems = relabelFlagProblems(loaded.problems, userSets.length, overrides);
    const first = problems[0];
    throw new VolleyError('INVALID_SCENARIO', first ? first.message : 'invalid scenario', problems);
  }
  return applyOverrides(loaded.scenario, overrides);
}

function workerCount(scenario: Scenario, requested: number | undefined, segment: Stripe | undefined): number {
  const cpus = typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;
  const wanted = Math.max(1, Math.floor(requested ?? cpus));
  const load = scenario.load;
  const seg = segment ? [segment] : [];
  const peak =
    load.model === 'connections' ? ownedCount(seg, peakConnections(load)) : ownedCount(seg, Math.max(load.maxConnections, 1));
  return Math.max(1, Math.min(wanted, peak));
}

function loadApplied(scenario: Scenario, segment: Stripe | undefined): LoadAppliedJson {
  const l = scenario.load;
  const durationMs = plannedDurationMs(l);
  const applied: LoadAppliedJson = {
    model: l.model,
    durationS: durationMs === undefined ? 0 : durationMs / 1000,
    gracefulStopS: l.gracefulStopMs / 1000,
  };
  // A shard reports its own share, so the shards' loads add up to the whole when merged.
  const seg = segment ? [segment] : [];
  if (l.model === 'connections') {
    applied.connections = ownedCount(seg, peakConnections(l));
    if (l.iterations !== undefined || durationMs === undefined) applied.iterations = l.iterations ?? 1;
  } else {
    // Arrivals are striped one by one, so a segment's rate is a fraction (25/s over 3: 8.33/s).
    const count = segment ? segment.count : 1;
    applied.rate = (l.stages ? Math.max(...l.stages.map((s) => s.target)) : l.rate) / count;
    applied.maxConnections = ownedCount(seg, l.maxConnections);
    applied.plannedSessions = ownedCount(seg, totalArrivals(l));
  }
  // What the segment really runs: whole connection slots of each target (5 over 2: 3 and 2, as
  // `connections` says), or its fraction of each stage's rate.
  if (l.stages) {
    applied.stages = l.stages.map((s) => ({
      durationS: s.durationMs / 1000,
      target: l.model === 'connections' ? ownedCount(seg, Math.floor(s.target)) : segment ? s.target / segment.count : s.target,
    }));
  }
  if (segment) applied.segment = formatSegment(segment);
  return applied;
}

interface WorkerState {
  worker: Worker;
  index: number;
  ready: boolean;
  done: boolean;
  lastSecond: number;
  /** active_connections at its last snapshot: the sessions lost if it dies. */
  lastActive: number;
  /** One sample per second of the run. */
  health: WorkerHealth[];
  /** The sample of the worker's last interval: the stop, the grace period and the teardown. */
  endHealth?: WorkerHealth;
}

const HARD_STOP_GRACE_MS = 2000;

/** "vu 2, 4, 6, … (50 sessions)": the slice of the load a worker owns, for messages. */
function describeVus(workers: number, index: number, scenario: Scenario, segment: Stripe | undefined): string {
  const path: Stripe[] = segment ? [segment, { index, count: workers }] : [{ index, count: workers }];
  const load = scenario.load;
  const total = load.model === 'connections' ? peakConnections(load) : Math.max(1, totalArrivals(load));
  const owned = ownedCount(path, total);
  const first: number[] = [];
  for (let j = 0; j < Math.min(3, owned); j++) first.push(nthOwned(path, j) + 1);
  return `vu ${first.join(', ')}${owned > 3 ? ', …' : ''} of ${total}`;
}

export function startRun(opts: RunOptions): RunHandle {
  let stopRequested = false;
  let abortRequested = false;
  let stopHook: (() => void) | undefined;
  let abortHook: (() => void) | undefined;
  const done = (async (): Promise<RunResult> => {
    const scenario = prepareScenario(opts);
    const target = await resolveTarget(scenario.target);
    try {
      const baseDir = opts.file === '<inline>' ? process.cwd() : path.dirname(path.resolve(opts.file));
      const setupVars = await runSetup(scenario, opts.env ?? process.env, resolveTls(scenario.connect.tls, baseDir));
      return await execute(scenario, target.url, setupVars, opts, (s, a) => {
        stopHook = s;
        abortHook = a;
        if (abortRequested) a();
        else if (stopRequested) s();
      });
    } finally {
      await target.close();
    }
  })();
  return {
    stop() {
      stopRequested = true;
      stopHook?.();
    },
    abort() {
      abortRequested = true;
      abortHook?.();
    },
    done,
  };
}

/** Runs a scenario to the end and returns its report (the library entry point tests call). */
export function runScenario(opts: RunOptions): Promise<RunResult> {
  return startRun(opts).done;
}

async function execute(
  scenario: Scenario,
  targetUrl: string,
  setupVars: Record<string, string>,
  opts: RunOptions,
  setHooks: (stop: () => void, abort: () => void) => void,
): Promise<RunResult> {
  const n = workerCount(scenario, opts.workers, opts.segment);
  const baseDir = opts.file === '<inline>' ? process.cwd() : path.dirname(path.resolve(opts.file));
  const envOverrides: Record<string, string | undefined> = {};
  if (opts.env) for (const [k, v] of Object.entries(opts.env)) envOverrides[k] = v;
  const script = workerScript();
  const states: WorkerState[] = [];
  // The origin is fixed once every worker has loaded, so no worker starts late.
  let startedAtEpochMs = Date.now();
  let aggregator = new MetricsAggregator({ startedAtEpochMs });
  const plannedMs = plannedDurationMs(scenario.load);
  const errorsSeen: { kind: ErrorKind; message: string }[] = [];
  let interrupted = false;
  let aborted = false;
  /** metric + expression of the abortOnFail thresholds that stopped the run. */
  const abortedBy = new Set<string>();
  let warnedLimited = false;

  const thresholdsToWatch = scenario.thresholds.filter((t) => t.abortOnFail);
  const reportedSecond = new Map<number, number>();

  return await new Promise<RunResult>((resolve, reject) => {
    let finished = false;
    let started = false;

    const sendAll = (msg: ToWorker): void => {
      for (const s of states) if (!s.done) s.worker.postMessage(msg);
    };
    // A stop that comes while the workers are still loading reaches none of them: maybeStart
    // passes it on right after 'start'.
    let stopSent: 'stop' | 'abort' | undefined;
    setHooks(
      () => {
        interrupted = true;
        stopSent ??= 'stop';
        sendAll({ type: 'stop' });
      },
      () => {
        interrupted = true;
        stopSent = 'abort';
        sendAll({ type: 'abort' });
        // A worker whose event loop is stuck never reads 'abort': a hard stop must not wait on it.
        setTimeout(() => {
          for (const s of states) if (!s.done) workerDied(s, 'did not stop within 2s of the hard stop');
        }, HARD_STOP_GRACE_MS).unref();
      },
    );

    // One set of counters for the whole process: maxConnections and the data rows are the
    // process's (its segment's), not split between workers in fixed shares.
    const shared = new SharedArrayBuffer(sharedSlotCount(n) * Int32Array.BYTES_PER_ELEMENT);
    const sharedCounters = new Int32Array(shared);

    // active_connections.max: the exact peak the workers counted together (SHARED_SLOTS.openPeak).
    const withProcessPeak = (metrics: Record<string, MetricJson>): Record<string, MetricJson> => {
      const gauge = metrics[GAUGE.activeConnections];
      if (gauge?.type === 'gauge') gauge.max = Math.max(gauge.max ?? gauge.value, Atomics.load(sharedCounters, SHARED_SLOTS.openPeak));
      return metrics;
    };

    const workerFailures: WorkerFailure[] = [];
    const workerDied = (state: WorkerState, why: string): void => {
      if (state.done) return;
      state.done = true;
      // Its open-model sessions died with it: give their places under maxConnections back.
      const held = Atomics.exchange(sharedCounters, liveArrivalsOf(state.index), 0);
      Atomics.sub(sharedCounters, SHARED_SLOTS.liveArrivals, held);
      const open = Atomics.exchange(sharedCounters, openConnectionsOf(state.index), 0);
      Atomics.sub(sharedCounters, SHARED_SLOTS.openConnections, open);
      const message = why.split('\n')[0]!;
      const failure: WorkerFailure = {
        worker: state.index,
        message,
        vus: describeVus(states.length, state.index, scenario, opts.segment),
        // The shared count is exact at this moment; the last snapshot may be a second old (or
        // not have come at all, for a worker that died in its first second).
        sessionsRunning: Math.max(open, state.lastActive),
      };
      workerFailures.push(failure);
      aggregator.add(state.index, state.lastSecond + 1, {
        trends: {},
        counters: { 'errors{kind:worker_died}': 1, errors: 1 },
        errorFirst: { worker_died: `worker ${state.index} (${failure.vus}) died: ${message}` },
        active: { value: 0, min: 0, max: 0 },
      });
      errorsSeen.push({ kind: 'worker_died', message });
      void state.worker.terminate();
      if (opts.failFast) {
        opts.onWarning?.(`worker ${state.index} died (${message}): stopping the run (--fail-fast)`);
        sendAll({ type: 'stop' });
      }
      maybeStart();
      finish();
    };

    const maybeStart = (): void => {
      // A worker that died while loading must not hold the others back.
      if (started || !states.every((s) => s.ready || s.done)) return;
      started = true;
      const go = (atEpochMs: number | undefined): void => {
        startedAtEpochMs = Math.max(Date.now() + 50, atEpochMs ?? 0);
        aggregator = new MetricsAggregator({ startedAtEpochMs });
        sendAll({ type: 'start', startAtEpochMs: startedAtEpochMs });
        if (stopSent) sendAll({ type: stopSent });
      };
      if (opts.startGate) opts.startGate().then(go, () => go(undefined));
      else go(undefined);
    };

    const onSecondComplete = (second: number): void => {
      const point = aggregator.point(second);
      if (!point) return;
      const latest = states.map((s) => s.health[s.health.length - 1]).filter((h): h is WorkerHealth => h !== undefined);
      const health = {
        eventLoopLagP99Ms: Math.max(0, ...latest.map((h) => h.eventLoopLagP99Ms)),
        cpuPercent: latest.length ? latest.reduce((a, h) => a + h.cpuPercent, 0) / latest.length : 0,
      };
      const busiest = Math.max(0, ...latest.map((h) => h.cpuPercent));
      if (!warnedLimited && second > 2 && (health.eventLoopLagP99Ms > HARNESS_LAG_LIMIT_MS || busiest >= HARNESS_CPU_PEGGED_PERCENT)) {
        warnedLimited = true;
        // Quote the figure over its limit (the mean CPU of all workers can be well under it).
        const cause =
          health.eventLoopLagP99Ms > HARNESS_LAG_LIMIT_MS
            ? `event-loop lag p99 ${health.eventLoopLagP99Ms.toFixed(1)} ms, over ${HARNESS_LAG_LIMIT_MS} ms`
            : `a worker at ${busiest.toFixed(0)}% CPU`;
        opts.onWarning?.(`warning: the load generator is saturated (${cause}): results may be limited by volley, not the server`);
      }
      opts.onProgress?.({
        second,
        point,
        elapsedS: second,
        plannedDurationS: plannedMs === undefined ? undefined : plannedMs / 1000,
        health,
      });
      if (thresholdsToWatch.length > 0 && !aborted) {
        const due = thresholdsToWatch.filter((t) => second * 1000 >= t.delayAbortEvalMs);
        if (due.length > 0) {
          // Mid-run, a metric with no samples yet (a step that has not run so far) is not judged:
          // only the final verdict fails a threshold for having no data.
          const failing = evaluateThresholds(due, withProcessPeak(aggregator.metrics(second))).filter((r) => !r.ok && r.actual !== null);
          if (failing.length > 0) {
            aborted = true;
            for (const r of failing) abortedBy.add(`${r.metric}\u0000${r.expression}`);
            const first = failing[0]!;
            opts.onWarning?.(`threshold ${first.metric}: ${first.expression} failed (actual ${first.actual}): aborting the run`);
            sendAll({ type: 'stop' });
          }
        }
      }
    };

    const finish = (): void => {
      if (finished || !states.every((s) => s.done)) return;
      finished = true;
      const endedAtEpochMs = Date.now();
      // Rounded as the report shows it, so every counter's rate is exactly count / durationS.
      const durationS = Math.max(0.01, round2((endedAtEpochMs - startedAtEpochMs) / 1000));
      const metrics = withExpectedMetrics(withProcessPeak(aggregator.metrics(durationS)), scenario);
      const thresholds = evaluateThresholds(scenario.thresholds, metrics);
      if (aborted) {
        for (const [i, t] of thresholds.entries()) {
          const spec = scenario.thresholds[i]; // one result per spec, in order
          if (spec?.abortOnFail) t.abortOnFail = true;
          // Only the thresholds that stopped the run (not others that fail by the end).
          if (abortedBy.has(`${t.metric}\u0000${t.expression}`)) t.aborted = true;
        }
      }
      const perWorkerSamples = states.map((s) => runHealth(s.health, s.endHealth));
      const perWorker = perWorkerSamples.map(summariseHealth);
      const whole = summariseHealth(perWorkerSamples.flat());
      const harness: HarnessJson = {
        eventLoopLagP99Ms: round2(whole.lagP99Ms),
        cpuPercent: Math.round(perWorker.length ? perWorker.reduce((a, w) => a + w.cpuPercent, 0) / perWorker.length : 0),
        // Any one worker over a limit limits the results it measured: pooling every worker's
        // seconds diluted one lagging worker (14 ms) under the others (9.4 ms over all).
        limited: whole.lagP99Ms > HARNESS_LAG_LIMIT_MS || perWorker.some((w) => w.pegged || w.lagP99Ms > HARNESS_LAG_LIMIT_MS),
        workers: states.map((s, i) => ({
          worker: s.index,
          eventLoopLagP99Ms: round2(perWorker[i]!.lagP99Ms),
          cpuPercent: Math.round(perWorker[i]!.cpuPercent),
          cpuBusyPercent: Math.round(cpuBusyPercent(perWorkerSamples[i]!)),
        })),
      };
      if (harness.limited) harness.warnings = [`results may be limited by the load generator, not the server: ${limitedCause(harness)}`];
      const report: ReportJson = {
        format: 1,
        scenario: { name: scenario.name, file: scenario.file, sha256: scenario.sha256 },
        target: targetUrl,
        startedAt: new Date(startedAtEpochMs).toISOString(),
        endedAt: new Date(endedAtEpochMs).toISOString(),
        durationS: round2(durationS),
        transport: scenario.transport,
        environment: {
          volley: VOLLEY_VERSION,
          node: process.version,
          platform: `${process.platform}-${process.arch}`,
          cpus: typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length,
          workers: n,
          hostname: os.hostname(),
        },
        load: loadApplied(scenario, opts.segment),
        metrics,
        timeseries: aggregator.timeseries(),
        thresholds,
        errors: aggregator.errors(),
        harness,
      };
      // Always present, so a pipeline can test `interrupted == false` as well as `== true`.
      report.interrupted = interrupted && !aborted;
      report.aborted = aborted;
      const noConnection = noConnectionOpened(report);
      const result: RunResult = {
        report,
        scenario,
        thresholdsFailed: thresholds.some((t) => !t.ok),
        interrupted: interrupted && !aborted,
        aborted,
        noConnection,
        workerFailures,
      };
      if (noConnection) result.failureReason = report.errors.length === 0 && errorsSeen[0] ? errorsSeen[0].message : noConnectionReason(report, scenario.connect.timeoutMs);
      resolve(result);
    };

    const segmentPath: Stripe[] = opts.segment ? [opts.segment] : [];
    for (let i = 0; i < n; i++) {
      const init: WorkerInit = {
        workerIndex: i,
        file: opts.file,
        source: scenario.source,
        sets: opts.sets ?? [],
        overrides: opts.overrides ?? {},
        env: envOverrides,
        targetUrl,
        stripePath: [...segmentPath, { index: i, count: n }],
        debug: Boolean(opts.debug) && i === 0 && (!opts.segment || opts.segment.index === 0),
        baseDir,
        setupVars,
        shared,
      };
      const worker = new Worker(script, { workerData: init, name: `volley-worker-${i}-${randomUUID().slice(0, 4)}` });
      const state: WorkerState = { worker, index: i, ready: false, done: false, lastSecond: 0, lastActive: 0, health: [] };
      states.push(state);
      worker.on('message', (msg: FromWorker) => {
        switch (msg.type) {
          case 'ready':
            state.ready = true;
            maybeStart();
            break;
          case 'loadFailed':
            for (const s of states) void s.worker.terminate();
            reject(new VolleyError('INVALID_SCENARIO', msg.message));
            break;
          case 'debug':
            opts.onDebug?.(msg.line);
            break;
          case 'metrics':
          case 'done': {
            aggregator.add(i, msg.second, msg.snapshot);
            if (msg.type === 'metrics') state.health.push(msg.health);
            else state.endHealth = msg.health;
            state.lastSecond = msg.second;
            state.lastActive = msg.snapshot.active.value;
            if (msg.type === 'metrics') {
              const count = (reportedSecond.get(msg.second) ?? 0) + 1;
              reportedSecond.set(msg.second, count);
              if (count === states.filter((s) => !s.done).length) onSecondComplete(msg.second);
            } else {
              state.done = true;
              void worker.terminate();
              finish();
            }
            break;
          }
          case 'fatal':
            workerDied(state, msg.message);
            break;
        }
      });
      worker.on('error', (err) => workerDied(state, `${err.name}: ${err.message}`));
      worker.on('exit', (code) => workerDied(state, `exited with code ${code} before finishing`));
    }
  });
}

function round2(x: number): number {
  return Math.round(x * 100) / 100;
}
