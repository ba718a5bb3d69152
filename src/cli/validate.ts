// `volley validate`: every problem as file:line:col (with the line and a caret on a TTY), exit
// 2; or a one-line summary, exit 0.

import { describeScenario, formatProblems } from '../scenario/describe.js';
import { loadScenario } from '../scenario/load.js';
import type { CliIO } from './io.js';

export function validateCommand(file: string, sets: string[], io: CliIO): number {
  const result = loadScenario({ file, sets, env: io.env });
  if (!result.ok) {
    io.stderr.write(formatProblems(result.problems, { tty: Boolean(io.stderr.isTTY) }) + '\n');
    return 2;
  }
  // Said as warnings: the scenario is valid (exit 0), and some of them depend on the run's
  // --transport, which validate does not take.
  const warnings = result.warnings.map((w) => ({ ...w, message: `warning: ${w.message}` }));
  if (warnings.length > 0) io.stderr.write(formatProblems(warnings, { tty: Boolean(io.stderr.isTTY) }) + '\n');
  io.stdout.write(`${file}: ok: ${describeScenario(result.scenario)}\n`);
  return 0;
}
