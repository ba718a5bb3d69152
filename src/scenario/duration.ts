// Durations as people write them in scenarios: `250ms`, `2s`, `1.5s`, `1m`, `1h`, or a sum of
// parts (`1m30s`). Everything inside volley is milliseconds.

const PART_RE = /(\d+(?:\.\d+)?|\.\d+)(ms|s|m|h)/y;
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Milliseconds for `250ms`, `2s`, `1.5s`, `1m`, `1h`, `1m30s`, or `0`; undefined when malformed. */
export function parseDuration(text: string): number | undefined {
  const s = text.trim();
  if (s === '0') return 0;
  if (s.length === 0) return undefined;
  PART_RE.lastIndex = 0;
  let totalMs = 0;
  while (PART_RE.lastIndex < s.length) {
    const m = PART_RE.exec(s);
    if (!m) return undefined;
    totalMs += Number(m[1]) * UNIT_MS[m[2]!]!;
  }
  return Number.isFinite(totalMs) ? totalMs : undefined;
}

/** `50ms..150ms` -> {minMs: 50, maxMs: 150}; undefined when either half is malformed or min > max. */
export function parseDurationRange(text: string): { minMs: number; maxMs: number } | undefined {
  const idx = text.indexOf('..');
  if (idx < 0) return undefined;
  const minMs = parseDuration(text.slice(0, idx));
  const maxMs = parseDuration(text.slice(idx + 2));
  if (minMs === undefined || maxMs === undefined || minMs > maxMs) return undefined;
  return { minMs, maxMs };
}

/** Milliseconds as the shortest exact duration text (1500 -> "1.5s"), for messages and summaries. */
export function formatDuration(ms: number): string {
  if (ms !== 0 && ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms !== 0 && ms % 60_000 === 0) return `${ms / 60_000}m`;
  if (ms >= 1000 && ms % 100 === 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}
