// Load plans: pure functions from a load model to "how many connections at time t" (closed
// model) or "when does arrival k start" (open model). No clock, no I/O: executors in the
// engine ask these questions, and tests check the schedule without running anything.
//
// Stage semantics follow k6: each stage ramps linearly from the previous stage's target (the
// first from 0) to its own target over its duration.

import type { ArrivalRateLoad, ConnectionsLoad, LoadSpec, Stage } from '../scenario/types.js';

/** Stages of a load, with the constant form expressed as a single flat stage. */
export function stagesOf(load: LoadSpec): Stage[] | undefined {
  if (load.stages && load.stages.length > 0) return load.stages;
  return undefined;
}

/** Planned run length in ms (stages summed), or undefined for iteration-bounded runs. */
export function plannedDurationMs(load: LoadSpec): number | undefined {
  const stages = stagesOf(load);
  if (stages) return stages.reduce((sum, s) => sum + s.durationMs, 0);
  return load.durationMs;
}

/** Value of a staged target at time t (ms from start), k6 ramping semantics. */
export function stagedValueAt(stages: readonly Stage[], tMs: number): number {
  let from = 0;
  let start = 0;
  for (const stage of stages) {
    const end = start + stage.durationMs;
    if (tMs < end) {
      if (stage.durationMs <= 0) return stage.target;
      const fraction = (tMs - start) / stage.durationMs;
      return from + (stage.target - from) * Math.max(0, fraction);
    }
    from = stage.target;
    start = end;
  }
  return from;
}

/**
 * Global number of connection slots wanted at time t (closed model), stepping as k6's
 * ramping-vus does: the count moves away from the stage's starting value one whole slot at a
 * time, once the ramp has fully reached it. Up from 0 to 4 over 4 s: 1 at 1 s ... 4 at 4 s;
 * down from 4 to 0 over 4 s: 3 at 1 s ... 0 only at 4 s (a slot closes on the next one's time,
 * so the peak is held for its share of the ramp too).
 */
export function connectionsAt(load: ConnectionsLoad, tMs: number): number {
  const stages = stagesOf(load);
  if (!stages) return load.connections;
  let from = 0;
  let start = 0;
  for (const stage of stages) {
    const end = start + stage.durationMs;
    if (tMs < end) {
      if (stage.durationMs <= 0) return Math.floor(stage.target);
      const fraction = Math.max(0, (tMs - start) / stage.durationMs);
      const moved = Math.floor(Math.abs(stage.target - from) * fraction + 1e-9);
      return Math.floor(stage.target >= from ? from + moved : from - moved);
    }
    from = stage.target;
    start = end;
  }
  return Math.floor(from);
}

/** Largest number of connection slots the closed model ever asks for. */
export function peakConnections(load: ConnectionsLoad): number {
  const stages = stagesOf(load);
  if (!stages) return load.connections;
  return stages.reduce((m, s) => Math.max(m, Math.floor(s.target)), 0);
}

/**
 * Arrival schedule of the open model: arrival k (0-based, global) starts at the time when the
 * cumulative number of arrivals, the integral of the rate, reaches k. Returns undefined when
 * arrival k falls after the end of the schedule.
 */
export function arrivalTimeMs(load: ArrivalRateLoad, k: number): number | undefined {
  const stages = stagesOf(load);
  if (!stages) {
    if (load.rate <= 0) return undefined;
    const t = (k * 1000) / load.rate;
    return t < load.durationMs ? t : undefined;
  }
  let remaining = k; // arrivals still to pass before arrival k
  let start = 0;
  let from = 0;
  for (const stage of stages) {
    const d = stage.durationMs / 1000; // seconds
    const r0 = from;
    const r1 = stage.target;
    const inStage = ((r0 + r1) / 2) * d; // arrivals this stage holds
    if (remaining < inStage - 1e-9) {
      // Solve r0*τ + (r1-r0)/(2d) τ² = remaining for τ in [0, d].
      const a = (r1 - r0) / (2 * d);
      let tau: number;
      if (Math.abs(a) < 1e-12) tau = remaining / r0;
      else {
        const disc = r0 * r0 + 4 * a * remaining;
        tau = (-r0 + Math.sqrt(Math.max(0, disc))) / (2 * a);
      }
      return start + Math.min(Math.max(tau, 0), d) * 1000;
    }
    remaining -= inStage;
    start += stage.durationMs;
    from = r1;
  }
  return undefined;
}

/** Total arrivals the open model schedules over its whole duration (global). */
export function totalArrivals(load: ArrivalRateLoad): number {
  const stages = stagesOf(load);
  if (!stages) return Math.ceil((load.rate * load.durationMs) / 1000 - 1e-9);
  let total = 0;
  let from = 0;
  for (const s of stages) {
    total += ((from + s.target) / 2) * (s.durationMs / 1000);
    from = s.target;
  }
  return Math.ceil(total - 1e-9);
}
