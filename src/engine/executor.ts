// Executors turn a load plan into session starts inside one worker. They own only timing and
// the set of running sessions; sessions do the work. Every start is timed from the run's origin
// (never from the previous start), so drift never builds up (k6 constant_arrival_rate).

import { performance } from 'node:perf_hooks';
import { arrivalTimeMs, connectionsAt, plannedDurationMs } from '../load/plan.js';
import type { StripePath } from '../load/stripe.js';
import { nthOwned, ownedCount } from '../load/stripe.js';
import type { MetricsRegistry } from '../metrics/registry.js';
import type { LoadSpec } from '../scenario/types.js';
import type { SessionOutcome } from './session.js';

/** New connections opened per executor tick, so a ramp of thousands never stalls the loop. */
const OPEN_BATCH = 250;
/**
 * ...and at most this long spent opening them per tick: starting a ws handshake costs tens of
 * µs when the machine is idle but far more when it is loaded, so a fixed count alone let an
 * 18k ramp hold the loop for hundreds of ms (measured in bench/run.js --only hold).
 */
const OPEN_BUDGET_MS = 4;
const TICK_MS = 20;
/** How long sessions cut at the end of gracefulStop may take to close politely (see abort). */
const POLITE_CLOSE_LIMIT_MS = 500;
const BACKOFF_MIN_MS = 100;
const BACKOFF_MAX_MS = 5000;

export interface RunningSession {
  run(): Promise<SessionOutcome>;
  /** Ends the session now; `politely`: close the connection (frames in flight still counted). */
  abort(politely?: boolean): void;
}

export interface ExecutorDeps {
  load: LoadSpec;
  stripePath: StripePath;
  metrics: MetricsRegistry;
  /** performance.now() of the run's origin (t = 0). */
  originMs: number;
  newSession: (vu: number, startLatenessMs: number) => RunningSession;
  /**
   * Open-model sessions running in the whole process (every worker adds and subtracts with
   * Atomics), checked against the process's share of maxConnections.
   */
  /** The process's count of running open-model sessions (slot) and this worker's share (ownSlot). */
  liveArrivals: { counter: Int32Array; slot: number; ownSlot: number };
}

export class Executor {
  private readonly deps: ExecutorDeps;
  private readonly live = new Set<RunningSession>();
  private stopping = false;
  private aborted = false;
  private timer: NodeJS.Timeout | undefined;
  private graceTimer: NodeJS.Timeout | undefined;
  private cutTimer: NodeJS.Timeout | undefined;
  private finish: (() => void) | undefined;
  private readonly done: Promise<void>;
  private schedulingDone = false;
  // closed model
  private readonly slotRunning: boolean[] = [];
  private readonly slotFinished: boolean[] = [];
  private wantedSlots = 0;
  // open model
  private nextArrival = 0;
  private readonly maxLive: number;

  constructor(deps: ExecutorDeps) {
    this.deps = deps;
    this.done = new Promise<void>((resolve) => {
      this.finish = resolve;
    });
    // The cap is the process's share of maxConnections (its segment's, not this worker's stripe),
    // counted across workers, so a worker with room is never refused because another is full.
    const processPath = deps.stripePath.slice(0, -1);
    this.maxLive = deps.load.model === 'arrival-rate' ? ownedCount(processPath, deps.load.maxConnections) : Infinity;
  }

  /** Sessions running now (for byte flushing). */
  sessions(): Iterable<RunningSession> {
    return this.live;
  }

  start(): Promise<void> {
    this.tick();
    return this.done;
  }

  /** Stop starting sessions; running ones get gracefulStop, then are aborted. */
  stop(): void {
    if (this.stopping) return;
    this.stopping = true;
    this.schedulingDone = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const graceMs = this.deps.load.gracefulStopMs;
    if (this.live.size > 0) {
      // Past gracefulStop the sessions are cut, but each closes its connection politely, so the
      // frames the server already sent still arrive and are counted.
      this.graceTimer = setTimeout(() => this.abort(true), graceMs);
      this.graceTimer.unref?.();
    }
    this.maybeFinish();
  }

  /** Cut every running session now (a hard stop), or close them politely (gracefulStop is over). */
  abort(politely = false): void {
    this.aborted = true;
    this.stopping = true;
    this.schedulingDone = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    for (const s of this.live) s.abort(politely);
    if (politely && this.live.size > 0 && this.cutTimer === undefined) {
      // A polite close waits for the server's close answer (and counts the frames before it),
      // but a server that never answers, or keeps pushing, held the run up to 10 s past
      // gracefulStop. Past this bound the connections are cut.
      this.cutTimer = setTimeout(() => {
        for (const s of this.live) s.abort(false);
      }, POLITE_CLOSE_LIMIT_MS);
      this.cutTimer.unref?.();
    }
    this.maybeFinish();
  }

  private elapsedMs(): number {
    return performance.now() - this.deps.originMs;
  }

  private tick = (): void => {
    this.timer = undefined;
    if (this.stopping) return;
    const load = this.deps.load;
    const t = this.elapsedMs();
    const durationMs = plannedDurationMs(load);
    if (durationMs !== undefined && t >= durationMs) {
      // Arrivals due before the end whose timer fired late (a busy worker) still start, late
      // (their connect says by how much): every planned arrival is started or dropped, none lost.
      if (load.model === 'arrival-rate') this.tickOpen(t);
      this.stop();
      return;
    }
    let nextMs = TICK_MS;
    if (load.model === 'connections') this.tickClosed(t);
    else nextMs = this.tickOpen(t);
    if (!this.schedulingDone) {
      this.timer = setTimeout(this.tick, Math.max(0, nextMs));
    } else this.maybeFinish();
  };

  // Closed model: keep the wanted number of slots busy; a finished session is replaced.
  private tickClosed(t: number): void {
    const load = this.deps.load;
    if (load.model !== 'connections') return;
    this.wantedSlots = ownedCount(this.deps.stripePath, connectionsAt(load, t));
    let opened = 0;
    const budgetEndMs = performance.now() + OPEN_BUDGET_MS;
    for (let j = 0; j < this.wantedSlots && opened < OPEN_BATCH; j++) {
      if ((opened & 15) === 15 && performance.now() > budgetEndMs) break;
      if (this.slotRunning[j] || this.slotFinished[j]) continue;
      this.slotRunning[j] = true;
      opened++;
      void this.runSlot(j);
    }
    if (load.durationMs === undefined && !load.stages) {
      // Iteration-bounded: scheduling is over once every slot has been started.
      let all = true;
      for (let j = 0; j < this.wantedSlots; j++) if (!this.slotRunning[j] && !this.slotFinished[j]) all = false;
      if (all) this.schedulingDone = true;
    }
  }

  private async runSlot(j: number): Promise<void> {
    const load = this.deps.load;
    if (load.model !== 'connections') return;
    const vu = nthOwned(this.deps.stripePath, j) + 1;
    const iterations = load.iterations ?? (load.durationMs === undefined && !load.stages ? 1 : undefined);
    let n = 0;
    let backoffMs = 0;
    const endMs = plannedDurationMs(load);
    while (!this.stopping && (iterations === undefined || n < iterations) && j < this.wantedSlots) {
      // A session that ends just before the tick that stops the run is not replaced after the
      // planned end (it started up to a tick, 20 ms, late and ran into gracefulStop).
      if (endMs !== undefined && this.elapsedMs() >= endMs) break;
      const outcome = await this.runOne(vu, 0);
      n++;
      if (outcome === 'connect_failed') {
        // Back off instead of spinning against a server that refuses.
        backoffMs = Math.min(BACKOFF_MAX_MS, Math.max(BACKOFF_MIN_MS, backoffMs * 2));
        await this.pause(backoffMs);
      } else backoffMs = 0;
    }
    this.slotRunning[j] = false;
    if (iterations !== undefined && n >= iterations) this.slotFinished[j] = true;
    this.maybeFinish();
  }

  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const check = setInterval(() => {
        if (this.stopping) {
          clearInterval(check);
          clearTimeout(timer);
          resolve();
        }
      }, 50);
      const timer = setTimeout(() => {
        clearInterval(check);
        resolve();
      }, ms);
    });
  }

  // Open model: start each owned arrival at its time; over the cap it is dropped, never queued.
  private tickOpen(t: number): number {
    const load = this.deps.load;
    if (load.model !== 'arrival-rate') return TICK_MS;
    const path = this.deps.stripePath;
    for (;;) {
      const k = nthOwned(path, this.nextArrival);
      const at = arrivalTimeMs(load, k);
      if (at === undefined) {
        // No arrival left: the schedule still runs to its planned end (a rate of 10/s for 3 s
        // lasts 3 s, not until its last arrival at 2.9 s), so rates read per planned second.
        const endMs = plannedDurationMs(load);
        if (endMs !== undefined && t < endMs) return endMs - t;
        this.schedulingDone = true;
        return TICK_MS;
      }
      if (at > t) return Math.min(at - t, 1000);
      this.nextArrival++;
      if (!this.takeArrivalSlot()) {
        this.deps.metrics.add('sessions_dropped');
        continue;
      }
      void this.runOne(k + 1, Math.max(0, t - at)).finally(this.releaseArrivalSlot);
    }
  }

  /** A place under maxConnections for one more open-model session, or false (dropped). */
  private takeArrivalSlot(): boolean {
    const { counter, slot, ownSlot } = this.deps.liveArrivals;
    if (Atomics.add(counter, slot, 1) >= this.maxLive) {
      Atomics.sub(counter, slot, 1);
      return false;
    }
    Atomics.add(counter, ownSlot, 1);
    return true;
  }

  private readonly releaseArrivalSlot = (): void => {
    const { counter, slot, ownSlot } = this.deps.liveArrivals;
    Atomics.sub(counter, ownSlot, 1);
    Atomics.sub(counter, slot, 1);
  };

  private async runOne(vu: number, startLatenessMs: number): Promise<SessionOutcome> {
    const session = this.deps.newSession(vu, startLatenessMs);
    this.live.add(session);
    try {
      return await session.run();
    } finally {
      this.live.delete(session);
      this.maybeFinish();
    }
  }

  private maybeFinish(): void {
    if (!this.schedulingDone || this.live.size > 0) return;
    if (this.deps.load.model === 'connections' && !this.aborted && !this.stopping) {
      for (let j = 0; j < this.slotRunning.length; j++) if (this.slotRunning[j]) return;
    }
    if (this.timer) clearTimeout(this.timer);
    if (this.graceTimer) clearTimeout(this.graceTimer);
    if (this.cutTimer) clearTimeout(this.cutTimer);
    const f = this.finish;
    this.finish = undefined;
    f?.();
  }
}
