// Worker thread entry: loads the scenario (the same inputs as the coordinator, so the same
// Scenario), runs its stripe of the load, and ships interval metrics to the coordinator once a
// second and at the end. Workers never write files and never render anything.

import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { parentPort, workerData } from 'node:worker_threads';
import { MetricsRegistry } from '../metrics/registry.js';
import { loadScenario } from '../scenario/load.js';
import type { Scenario } from '../scenario/types.js';
import { Executor } from './executor.js';
import { SHARED_SLOTS, liveArrivalsOf, openConnectionsOf } from './messages.js';
import type { FromWorker, ToWorker, WorkerHealth, WorkerInit } from './messages.js';
import { applyOverrides, overrideSets } from './overrides.js';
import { Session } from './session.js';
import type { SessionEnv } from './session.js';
import { createDataFeeder } from './data.js';
import { buildTransportOptions, loadTransportFactory } from './transport-options.js';

const init = workerData as WorkerInit;
const port = parentPort!;

function post(msg: FromWorker): void {
  port.postMessage(msg);
}

function prepare(): Scenario | undefined {
  const env = { ...process.env, ...init.env } as NodeJS.ProcessEnv;
  const result = loadScenario({ file: init.file, source: init.source, sets: [...init.sets, ...overrideSets(init.overrides)], env });
  if (!result.ok) {
    post({ type: 'loadFailed', message: result.problems.map((p) => p.message).join('; ') });
    return undefined;
  }
  const scenario = applyOverrides(result.scenario, init.overrides);
  scenario.target = init.targetUrl;
  return scenario;
}

async function main(): Promise<void> {
  const scenario = prepare();
  if (!scenario) return;
  const env = { ...process.env, ...init.env } as NodeJS.ProcessEnv;
  const metrics = new MetricsRegistry();
  const createTransport = await loadTransportFactory(scenario.transport);
  const shared = new Int32Array(init.shared);
  metrics.shareActive(shared, { open: SHARED_SLOTS.openConnections, peak: SHARED_SLOTS.openPeak, own: openConnectionsOf(init.workerIndex) });
  // The process's rows (its segment's, when sharded), handed out in start order across workers.
  const feeder = createDataFeeder(scenario.data, init.stripePath.slice(0, -1), shared, SHARED_SLOTS.nextDataRow);
  let debugLeft = init.debug ? 1 : 0;

  const sessionEnv: SessionEnv = {
    scenario,
    metrics,
    createTransport,
    transportOptions: buildTransportOptions(scenario, init.baseDir),
    env,
    setupVars: init.setupVars,
  };

  // The histogram holds the time between samples, resolution included: an idle loop reads
  // ~10.5 ms at a 10 ms resolution. The lag is what comes on top of the resolution.
  const LAG_RESOLUTION_MS = 10;
  const lag = monitorEventLoopDelay({ resolution: LAG_RESOLUTION_MS });
  lag.enable();
  let lastElu = performance.eventLoopUtilization();
  const health = (): WorkerHealth => {
    const elu = performance.eventLoopUtilization(lastElu);
    lastElu = performance.eventLoopUtilization();
    const p99 = lag.count > 0 ? Math.max(0, lag.percentile(99) / 1e6 - LAG_RESOLUTION_MS) : 0;
    lag.reset();
    return {
      eventLoopLagP99Ms: Math.round(p99 * 100) / 100,
      cpuPercent: Math.round(elu.utilization * 1000) / 10,
      intervalMs: Math.round(elu.idle + elu.active),
    };
  };

  let executor: Executor | undefined;
  let pendingStop: ToWorker['type'] | undefined;

  port.on('message', (msg: ToWorker) => {
    if (msg.type === 'start') void begin(msg.startAtEpochMs);
    else if (!executor) pendingStop = msg.type;
    else if (msg.type === 'stop') executor.stop();
    else executor.abort();
  });
  post({ type: 'ready' });

  async function begin(startAtEpochMs: number): Promise<void> {
    const originMs = performance.now() + (startAtEpochMs - Date.now());
    const delay = originMs - performance.now();
    if (delay > 0) await new Promise((r) => setTimeout(r, delay));
    const ex = new Executor({
      load: scenario!.load,
      stripePath: init.stripePath,
      metrics,
      originMs,
      liveArrivals: { counter: shared, slot: SHARED_SLOTS.liveArrivals, ownSlot: liveArrivalsOf(init.workerIndex) },
      newSession: (vu, startLatenessMs) => {
        const debug = debugLeft > 0 && vu === 1 ? (line: string) => post({ type: 'debug', line }) : undefined;
        if (debug) debugLeft--;
        return new Session(sessionEnv, { vu, data: feeder.next(), startLatenessMs, debug });
      },
    });
    executor = ex;
    injectFault(init.workerIndex, env.VOLLEY_FAULT);
    if (pendingStop === 'stop') ex.stop();
    else if (pendingStop === 'abort') ex.abort();

    // Interval snapshots at origin + s seconds, timed from the origin so they never drift.
    let second = 0;
    let tickTimer: NodeJS.Timeout | undefined;
    const flushBytes = (): void => {
      for (const s of ex.sessions()) (s as Session).flushBytes();
    };
    const scheduleTick = (): void => {
      const due = originMs + (second + 1) * 1000;
      tickTimer = setTimeout(() => {
        second++;
        flushBytes();
        post({ type: 'metrics', second, snapshot: metrics.takeSnapshot(), health: health() });
        scheduleTick();
      }, Math.max(0, due - performance.now()));
    };
    scheduleTick();

    await ex.start();
    if (tickTimer) clearTimeout(tickTimer);
    lag.disable();
    const finalSecond = Math.max(second + 1, Math.ceil((performance.now() - originMs) / 1000));
    post({ type: 'done', second: finalSecond, snapshot: metrics.takeSnapshot(), health: health() });
  }
}

/**
 * Fault injection for tests and drills (docs/reliability.md): VOLLEY_FAULT=worker-throw:I:MS
 * makes worker I throw an uncaught error MS ms into the run, as a bug in a callback would.
 */
function injectFault(workerIndex: number, spec: string | undefined): void {
  const m = spec ? /^worker-throw:(\d+):(\d+)$/.exec(spec) : null;
  if (!m || Number(m[1]) !== workerIndex) return;
  setTimeout(() => {
    throw new Error(`injected fault (VOLLEY_FAULT=${spec})`);
  }, Number(m[2]));
}

main().catch((err: unknown) => {
  post({ type: 'fatal', message: err instanceof Error ? (err.stack ?? err.message) : String(err) });
});
