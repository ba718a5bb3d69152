// The CSV feeder: one row per session. A process (a shard, with --segment) owns its stripe of
// the rows, so no two shards use the same row; within the process the rows go out in start
// order across all its workers through one shared counter (order: sequential), so every row
// is used once before any repeats, however the sessions fall between workers. With fewer rows
// than shards, a shard falls back to the whole table (rows then repeat across shards).

import type { StripePath } from '../load/stripe.js';
import { nthOwned, ownedCount } from '../load/stripe.js';
import type { DataSpec } from '../scenario/types.js';

export interface DataFeeder {
  next(): Record<string, string> | undefined;
}

/**
 * `processPath`: the segment stripe of this process (empty when not sharded); `counter[slot]`:
 * the next row, shared by the process's workers (Atomics).
 */
export function createDataFeeder(data: DataSpec | undefined, processPath: StripePath, counter: Int32Array, slot: number): DataFeeder {
  if (!data || data.rows.length === 0) return { next: () => undefined };
  const owned = ownedCount(processPath, data.rows.length);
  const rowAt = owned > 0 ? (j: number) => data.rows[nthOwned(processPath, j)]! : (j: number) => data.rows[j]!;
  const size = owned > 0 ? owned : data.rows.length;
  const toRecord = (row: string[]): Record<string, string> => {
    const rec: Record<string, string> = {};
    for (let c = 0; c < data.columns.length; c++) rec[data.columns[c]!] = row[c] ?? '';
    return rec;
  };
  return {
    next() {
      // Atomics.add returns the value before the add; >>> 0 keeps it a row index past 2^31.
      const j = data.order === 'random' ? Math.floor(Math.random() * size) : (Atomics.add(counter, slot, 1) >>> 0) % size;
      return toRecord(rowAt(j));
    },
  };
}
