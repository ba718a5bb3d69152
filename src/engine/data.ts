// The CSV feeder: one row per session. Rows are striped like connections, so no two shards or
// workers use the same row while each has rows of its own; with fewer rows than stripes, a
// stripe falls back to the whole table (rows then repeat across stripes).

import type { StripePath } from '../load/stripe.js';
import { nthOwned, ownedCount } from '../load/stripe.js';
import type { DataSpec } from '../scenario/types.js';

export interface DataFeeder {
  next(): Record<string, string> | undefined;
}

export function createDataFeeder(data: DataSpec | undefined, path: StripePath): DataFeeder {
  if (!data || data.rows.length === 0) return { next: () => undefined };
  const owned = ownedCount(path, data.rows.length);
  const rowAt = owned > 0 ? (j: number) => data.rows[nthOwned(path, j)]! : (j: number) => data.rows[j]!;
  const size = owned > 0 ? owned : data.rows.length;
  const toRecord = (row: string[]): Record<string, string> => {
    const rec: Record<string, string> = {};
    for (let c = 0; c < data.columns.length; c++) rec[data.columns[c]!] = row[c] ?? '';
    return rec;
  };
  let cursor = 0;
  return {
    next() {
      const j = data.order === 'random' ? Math.floor(Math.random() * size) : cursor++ % size;
      return toRecord(rowAt(j));
    },
  };
}
