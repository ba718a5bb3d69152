// What the load flags of `volley run` (--connections, --duration, --rate) do to a scenario's
// stages. The overrides replace a ramp by a constant load (src/engine/overrides.ts), which is
// what a quick "same scenario, shorter" run wants, but it must not happen silently: this says
// so in one line. Pure: the CLI prints it.

import { peakConnections } from './plan.js';
import type { LoadSpec } from '../scenario/types.js';

export interface LoadFlags {
  connections?: number;
  durationMs?: number;
  rate?: number;
}

/** "--duration 1s" / "--connections 10 and --duration 1s": the flags as typed, for the message. */
function flagText(flags: LoadFlags, which: readonly (keyof LoadFlags)[]): string {
  const parts = which.map((k) => (k === 'durationMs' ? `--duration ${formatMs(flags.durationMs!)}` : `--${k} ${flags[k]}`));
  return parts.join(' and ');
}

function formatMs(ms: number): string {
  if (ms % 60_000 === 0) return `${ms / 60_000}m`;
  if (ms % 1000 === 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}

/**
 * The warning when the flags flatten the scenario's `stages` into a constant load, or undefined
 * when they do not (no stages, or only --connections on an open model, which sets its cap).
 */
export function stagesOverrideWarning(load: LoadSpec, flags: LoadFlags): string | undefined {
  if (!load.stages || load.stages.length === 0) return undefined;
  const n = load.stages.length;
  const stages = `the scenario's ${n} stage${n === 1 ? '' : 's'}`;
  const given = (['connections', 'durationMs', 'rate'] as const).filter((k) => flags[k] !== undefined);
  if (flags.rate !== undefined) {
    return `warning: ${flagText(flags, given)} replace${given.length === 1 ? 's' : ''} ${stages} with a constant ${flags.rate} sessions/s (stages are not scaled or trimmed)`;
  }
  if (load.model === 'connections') {
    const used = given.filter((k) => k !== 'rate');
    if (used.length === 0) return undefined;
    const connections = flags.connections ?? peakConnections(load);
    const durationMs = flags.durationMs ?? load.stages.reduce((a, s) => a + s.durationMs, 0);
    const peak = flags.connections === undefined ? ' (their peak)' : '';
    return (
      `warning: ${flagText(flags, used)} replace${used.length === 1 ? 's' : ''} ${stages} with a constant ` +
      `${connections} connection${connections === 1 ? '' : 's'}${peak} for ${formatMs(durationMs)}, without a ramp`
    );
  }
  if (flags.durationMs === undefined) return undefined; // --connections only sets maxConnections
  const rate = load.stages.reduce((m, s) => Math.max(m, s.target), 0);
  return `warning: ${flagText(flags, ['durationMs'])} replaces ${stages} with a constant ${rate} sessions/s (their peak) for ${formatMs(flags.durationMs)}, without a ramp`;
}
