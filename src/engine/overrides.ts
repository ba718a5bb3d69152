// Command-line overrides of the scenario's target, transport and load (--target, --transport,
// --connections, --duration, --rate). Applied after the scenario validated, identically on the
// coordinator and on every worker, so all see the same load.

import { VolleyError } from '../errors.js';
import type { Problem } from '../errors.js';
import { peakConnections } from '../load/plan.js';
import type { LoadSpec, Scenario, TransportName } from '../scenario/types.js';

export interface RunOverrides {
  target?: string;
  transport?: TransportName;
  connections?: number;
  durationMs?: number;
  rate?: number;
}

function overrideLoad(load: LoadSpec, o: RunOverrides): LoadSpec {
  let next: LoadSpec = { ...load };
  if (o.rate !== undefined) {
    const durationMs = o.durationMs ?? load.durationMs ?? (load.stages ? undefined : undefined);
    if (durationMs === undefined)
      throw new VolleyError('INVALID_INPUT', '--rate needs a duration: add --duration (e.g. --duration 30s) or a load.duration');
    next = {
      model: 'arrival-rate',
      rate: o.rate,
      durationMs,
      maxConnections: o.connections ?? (load.model === 'arrival-rate' ? load.maxConnections : 10_000),
      gracefulStopMs: load.gracefulStopMs,
    };
    return next;
  }
  if (next.model === 'connections') {
    if (o.connections !== undefined) {
      next.connections = o.connections;
      delete next.stages;
    }
    if (o.durationMs !== undefined) {
      if (next.stages) {
        next.connections = peakConnections(next);
        delete next.stages;
      }
      next.durationMs = o.durationMs;
      delete next.iterations;
    }
  } else {
    if (o.connections !== undefined) next.maxConnections = o.connections;
    if (o.durationMs !== undefined) {
      if (next.stages) {
        next.rate = next.stages.reduce((m, s) => Math.max(m, s.target), 0);
        delete next.stages;
      }
      next.durationMs = o.durationMs;
    }
  }
  return next;
}

/**
 * --target and --transport also enter the scenario as --set values, so a scenario that leaves
 * its target to the command line validates (and the checks that depend on the transport see the
 * one that will run). JSON strings are valid YAML flow scalars: URLs with ':' or '#' stay intact.
 */
export function overrideSets(o: RunOverrides): string[] {
  return overrideFlags(o).map((f) => f.set);
}

/** The flags behind overrideSets(), in the same order, so a problem names the flag given. */
export function overrideFlags(o: RunOverrides): { flag: string; set: string }[] {
  const flags: { flag: string; set: string }[] = [];
  if (o.target !== undefined) flags.push({ flag: '--target', set: `target=${JSON.stringify(o.target)}` });
  if (o.transport !== undefined) flags.push({ flag: '--transport', set: `transport=${JSON.stringify(o.transport)}` });
  return flags;
}

/**
 * A problem with a value that came from --target or --transport names that flag, not the
 * `--set:N:1` it entered the scenario through (the user gave no --set).
 */
export function relabelFlagProblems(problems: Problem[], userSets: number, o: RunOverrides): Problem[] {
  const flags = overrideFlags(o);
  return problems.map((p) => {
    if (p.file !== '--set' || !p.pos || p.pos.line <= userSets) return p;
    const flag = flags[p.pos.line - userSets - 1];
    return flag ? { ...p, file: flag.flag, pos: undefined, sourceLine: undefined } : p;
  });
}

export function applyOverrides(scenario: Scenario, o: RunOverrides): Scenario {
  const next: Scenario = { ...scenario, load: overrideLoad(scenario.load, o) };
  if (o.target !== undefined) next.target = o.target;
  if (o.transport !== undefined) next.transport = o.transport;
  // The transport names pick Engine.IO's transports (DESIGN.md): socket.io is websocket only,
  // socket.io/polling is polling only, whatever the scenario's socketio.transports says.
  if (o.transport === 'socket.io') next.socketio = { ...scenario.socketio, transports: ['websocket'] };
  if (o.transport === 'socket.io/polling') next.socketio = { ...scenario.socketio, transports: ['polling'] };
  return next;
}
