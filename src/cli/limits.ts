// The process's open-file limit, read before any connection opens: asking for more connections
// than the process may hold is a clear error up front, not a storm of EMFILE mid-run.

import { readFileSync } from 'node:fs';

export interface FileLimit {
  soft: number;
  hard: number;
}

/** Reads RLIMIT_NOFILE from /proc (Linux); undefined where it cannot be read. */
export function readOpenFileLimit(): FileLimit | undefined {
  try {
    const text = readFileSync('/proc/self/limits', 'utf8');
    const line = text.split('\n').find((l) => l.startsWith('Max open files'));
    if (!line) return undefined;
    const parts = line.trim().split(/\s+/);
    // "Max open files  1024  1048576  files"
    const soft = parts[3] === 'unlimited' ? Infinity : Number(parts[3]);
    const hard = parts[4] === 'unlimited' ? Infinity : Number(parts[4]);
    if (!Number.isFinite(soft) && soft !== Infinity) return undefined;
    return { soft, hard };
  } catch {
    return undefined;
  }
}

/** File descriptors one connection holds for each transport (long-poll: a poll and a send socket). */
export function fdsPerConnection(transport: string): number {
  return transport === 'long-poll' || transport === 'socket.io/polling' ? 2 : 1;
}

/** Descriptors the process itself needs besides connections (stdio, workers, the embedded target, logs). */
export const RESERVED_FDS = 200;

export function checkConnectionBudget(
  peakConnections: number,
  transport: string,
  limit: FileLimit | undefined,
  embeddedTarget: boolean,
): string | undefined {
  if (!limit || limit.soft === Infinity) return undefined;
  // An embedded target in the same process holds the server side of every connection too.
  const perConnection = fdsPerConnection(transport) * (embeddedTarget ? 2 : 1);
  const needed = peakConnections * perConnection + RESERVED_FDS;
  if (needed <= limit.soft) return undefined;
  const possible = Math.max(0, Math.floor((limit.soft - RESERVED_FDS) / perConnection));
  // Node raises its soft limit to the hard one at start, so past the hard limit `ulimit -n`
  // needs root (or limits.conf): say so rather than suggest a command that cannot work.
  const raise =
    `raise the limit with \`ulimit -n ${needed}\`` +
    (limit.hard < needed ? ` (above the hard limit of ${limit.hard}: as root, or in /etc/security/limits.conf)` : '');
  return (
    `${peakConnections} connections need about ${needed} open files but this process may open ${limit.soft} ` +
    `(ulimit -n; hard limit ${limit.hard}), enough for about ${possible}: ${raise}, ` +
    `or split the load across processes with --processes N or --segment i/n`
  );
}
