// Expect deadlines for every session of a worker thread, checked by one coarse timer instead of
// a setTimeout + clearTimeout per expect: at tens of thousands of round trips a second that
// timer churn shows in profiles. A session has at most one expect in progress, so its deadline
// is a field on the session (set and cleared with a write, no allocation per expect); the
// session registers once for its whole life, and the timer looks at every registered session.
// A deadline fires between 0 and TICK_MS after it is due, never before; expect timeouts are
// hundreds of milliseconds or more, so that slack does not matter.

import { performance } from 'node:perf_hooks';

const TICK_MS = 10;

export interface DeadlineHolder {
  /** performance.now() by which the current wait must end; Infinity when nothing waits. */
  deadlineAtMs: number;
  /** Called once when the deadline passes (the holder clears or moves it). */
  deadlineExpired(): void;
}

const holders = new Set<DeadlineHolder>();
let timer: NodeJS.Timeout | undefined;

/** Starts watching a holder's deadline field (once per session, not per expect). */
export function watchDeadlines(holder: DeadlineHolder): void {
  holders.add(holder);
  if (timer === undefined) timer = setInterval(sweep, TICK_MS);
}

export function unwatchDeadlines(holder: DeadlineHolder): void {
  holders.delete(holder);
  if (holders.size === 0 && timer !== undefined) {
    clearInterval(timer);
    timer = undefined;
  }
}

function sweep(): void {
  const now = performance.now();
  for (const h of holders) {
    if (h.deadlineAtMs <= now) {
      h.deadlineAtMs = Infinity;
      h.deadlineExpired();
    }
  }
}
