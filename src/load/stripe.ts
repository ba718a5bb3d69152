// Striping: how one global sequence (connection slots, arrivals, data rows) is split across
// shards (--segment i/n), processes and worker threads so that the parts add up to the whole
// exactly, and every part can work out its share from its own position alone (as k6's
// execution segments do, but with nested modulo stripes, which keep arrival times faithful).
//
// A StripePath is a list of levels, outermost first: [{index: i-1, count: n} (segment),
// {index: w, count: W} (worker)]. Item k belongs to the path when k % count0 === index0, then
// k1 = floor(k / count0) satisfies level 1, and so on.

export interface Stripe {
  index: number; // 0-based
  count: number;
}

export type StripePath = readonly Stripe[];

/** True when global item k belongs to this stripe path. */
export function ownsItem(path: StripePath, k: number): boolean {
  let rest = k;
  for (const level of path) {
    if (rest % level.count !== level.index) return false;
    rest = Math.floor(rest / level.count);
  }
  return true;
}

/** How many of the global items 0..total-1 belong to this path. Sums to total over a partition. */
export function ownedCount(path: StripePath, total: number): number {
  let n = Math.max(0, Math.floor(total));
  for (const level of path) {
    n = n > level.index ? Math.floor((n - level.index - 1) / level.count) + 1 : 0;
  }
  return n;
}

/** The global index of this path's j-th item (0-based): the inverse of the ownership test. */
export function nthOwned(path: StripePath, j: number): number {
  let k = j;
  for (let i = path.length - 1; i >= 0; i--) {
    const level = path[i]!;
    k = k * level.count + level.index;
  }
  return k;
}

/** Parses "i/n" (1-based i, as DESIGN.md's --segment) into a stripe level. */
export function parseSegment(text: string): Stripe | undefined {
  const m = /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(text);
  if (!m) return undefined;
  const i = Number(m[1]);
  const n = Number(m[2]);
  if (!Number.isSafeInteger(i) || !Number.isSafeInteger(n) || n < 1 || i < 1 || i > n) return undefined;
  return { index: i - 1, count: n };
}

export function formatSegment(s: Stripe): string {
  return `${s.index + 1}/${s.count}`;
}
