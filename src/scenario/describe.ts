// Human-readable output for `volley validate`: a one-line summary of a valid scenario, and
// compiler-style problem lines (with the source line and a caret on a TTY).

import { formatProblem, type Problem } from '../errors.js';
import { formatDuration } from './duration.js';
import type { LoadSpec, Scenario, Step } from './types.js';
import { plural } from '../text.js';

function countSteps(steps: readonly Step[]): number {
  let n = 0;
  for (const s of steps) n += 1 + (s.kind === 'loop' ? countSteps(s.steps) : 0);
  return n;
}

export function describeLoad(load: LoadSpec): string {
  const stop = load.gracefulStopMs === 5000 ? '' : `, gracefulStop ${formatDuration(load.gracefulStopMs)}`;
  if (load.model === 'connections') {
    if (load.stages) return `${plural(load.stages.length, 'stage')} up to ${plural(load.connections, 'connection')} over ${formatDuration(load.durationMs ?? 0)}${stop}`;
    const runs = load.durationMs !== undefined ? ` for ${formatDuration(load.durationMs)}` : '';
    const iters = load.iterations !== undefined ? `, ${plural(load.iterations, 'session')} each` : '';
    return `${plural(load.connections, 'connection')}${runs}${iters}${stop}`;
  }
  const cap = `, max ${load.maxConnections} connections`;
  if (load.stages) return `${plural(load.stages.length, 'stage')} up to ${load.rate} sessions/s over ${formatDuration(load.durationMs)}${cap}${stop}`;
  return `${load.rate} sessions/s for ${formatDuration(load.durationMs)}${cap}${stop}`;
}

/** One line: name, target (and transport when not ws), steps, load, thresholds. */
export function describeScenario(s: Scenario): string {
  const transport = s.transport === 'ws' ? '' : ` over ${s.transport}`;
  return `${s.name}: ${s.target}${transport}, ${plural(countSteps(s.steps), 'step')}, ${describeLoad(s.load)}, ${plural(s.thresholds.length, 'threshold')}`;
}

/** One `file:line:col: message` line per problem; on a TTY each is followed by its source line and a caret. */
export function formatProblems(problems: readonly Problem[], opts: { tty: boolean }): string {
  const out: string[] = [];
  for (const p of problems) {
    out.push(formatProblem(p));
    if (opts.tty && p.pos && p.sourceLine !== undefined) {
      // Tabs keep their width under the caret so it lines up with the column.
      const prefix = p.sourceLine.slice(0, p.pos.col - 1).replace(/[^\t]/g, ' ');
      out.push(`  ${p.sourceLine}`, `  ${prefix}^`);
    }
  }
  return out.join('\n');
}
