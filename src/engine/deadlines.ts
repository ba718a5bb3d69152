// Expect deadlines for every session of a worker thread on one coarse timer wheel, instead of
// a setTimeout + clearTimeout per expect: at tens of thousands of round trips a second that
// timer churn (a Timeout object, a list insert and a libuv clock read each) shows in profiles.
// A deadline fires between 0 and TICK_MS after it is due, never before; expect timeouts are
// hundreds of milliseconds or more, so that slack does not matter.

import { performance } from 'node:perf_hooks';

const TICK_MS = 10;

export interface DeadlineEntry {
  /** Wheel slot the entry sits in (set by addDeadline), -1 when not scheduled. */
  slot: number;
  /** Called once when the deadline passes, unless removed first. */
  expire(): void;
}

const slots = new Map<number, Set<DeadlineEntry>>();
let pending = 0;
let sweptThrough = 0;
let timer: NodeJS.Timeout | undefined;

export function addDeadline(entry: DeadlineEntry, atMs: number): void {
  const slot = Math.ceil(atMs / TICK_MS);
  let set = slots.get(slot);
  if (set === undefined) {
    set = new Set();
    slots.set(slot, set);
  }
  set.add(entry);
  entry.slot = slot;
  pending++;
  if (timer === undefined) {
    sweptThrough = Math.floor(performance.now() / TICK_MS) - 1;
    timer = setInterval(sweep, TICK_MS);
  }
}

export function removeDeadline(entry: DeadlineEntry): void {
  const slot = entry.slot;
  if (slot < 0) return;
  entry.slot = -1;
  const set = slots.get(slot);
  if (set !== undefined && set.delete(entry)) {
    pending--;
    if (set.size === 0) slots.delete(slot);
  }
}

function sweep(): void {
  const now = Math.floor(performance.now() / TICK_MS);
  // Walk every slot since the last sweep (a blocked loop may have skipped several).
  for (let s = sweptThrough + 1; s <= now; s++) {
    const set = slots.get(s);
    if (set === undefined) continue;
    slots.delete(s);
    for (const entry of set) {
      entry.slot = -1;
      pending--;
      entry.expire();
    }
  }
  sweptThrough = now;
  if (pending === 0 && timer !== undefined) {
    clearInterval(timer);
    timer = undefined;
  }
}
