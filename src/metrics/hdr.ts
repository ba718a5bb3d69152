// The one place for HdrHistogram settings (autocannon's histUtil). Trends are histograms of
// integer MICROSECONDS from 1 µs to 1 hour at 3 significant digits, reported in milliseconds.
//
// We use hdr-histogram-js's pure-JS implementation (never WebAssembly): WASM histograms live
// outside the JS heap and must be destroy()ed by hand, which a histogram passed around reports
// and snapshots would leak. JS histograms are ordinary garbage.
//
// Counts are 64-bit floats (bitBucketSize 64, exact up to 2^53): an aggregate over a long,
// merged run can pass 2^32 samples in one bucket, and one setting everywhere keeps every
// histogram addable to every other without a re-bucketing path.

import { build, decodeFromCompressedBase64, encodeIntoCompressedBase64 } from 'hdr-histogram-js';
import type { Histogram } from 'hdr-histogram-js';
import type { TrendJson } from '../report/types.js';

export type { Histogram };

/** Smallest recordable value: 1 µs. */
export const LOWEST_US = 1;
/** Largest recordable value: 1 hour in µs; longer values are clamped to it. */
export const HIGHEST_US = 3_600_000_000;
export const SIGNIFICANT_DIGITS = 3;

export function newHistogram(): Histogram {
  return build({
    bitBucketSize: 64,
    // A fixed range: recording never resizes on the hot path. Decoded histograms from other
    // tools may have a different range; adding those into ours then resizes, so allow it.
    autoResize: true,
    lowestDiscernibleValue: LOWEST_US,
    highestTrackableValue: HIGHEST_US,
    numberOfSignificantValueDigits: SIGNIFICANT_DIGITS,
    useWebAssembly: false,
  });
}

/** Milliseconds -> the integer microseconds we record (clamped into [1 µs, 1 h]). */
export function msToRecordedUs(ms: number): number {
  const us = Math.round(ms * 1000);
  // Loopback round trips can measure 0 µs (and clock steps can make a tiny negative): they
  // count as 1 µs, the histogram's lowest discernible value, so the sample is never lost.
  if (!(us >= LOWEST_US)) return LOWEST_US;
  if (us > HIGHEST_US) return HIGHEST_US;
  return us;
}

/**
 * Record one duration in ms. Values below 1 µs (zero and negatives included) record as 1 µs;
 * values above 1 hour (Infinity included) record as 1 hour. NaN is a caller bug, and is
 * dropped rather than recorded as a made-up value.
 */
export function recordMs(h: Histogram, ms: number): void {
  if (ms !== ms) return; // NaN
  h.recordValue(msToRecordedUs(ms));
}

export function encodeHistogram(h: Histogram): string {
  return encodeIntoCompressedBase64(h);
}

/** Throws the library's Error on malformed input: callers that read files wrap it. */
export function decodeHistogram(encoded: string): Histogram {
  const h = decodeFromCompressedBase64(encoded, 64, false);
  h.autoResize = true;
  return h;
}

/** µs -> ms rounded to 3 decimals (whole microseconds: the recording resolution). */
export function usToMs(us: number): number {
  return Math.round(us) / 1000;
}

/** The value at percentile `p` (0..100) in ms, or null for an empty histogram. */
export function percentileMs(h: Histogram, p: number): number | null {
  if (h.totalCount === 0) return null;
  return usToMs(h.getValueAtPercentile(p));
}

/**
 * The report's view of a trend. Every number is derived from the histogram's buckets alone
 * (min is the lowest value equivalent to the smallest sample, max the highest value equivalent
 * to the largest, within 0.1% at 3 digits), so the JSON always agrees with its own `hdr` and a
 * histogram gives the same numbers before and after an encode/decode (or a merge) round trip.
 * An empty histogram yields zeros, but trends without samples are left out of reports.
 */
export function trendJsonFrom(h: Histogram): TrendJson {
  const empty = h.totalCount === 0;
  const at = (p: number): number => (empty ? 0 : usToMs(h.getValueAtPercentile(p)));
  return {
    type: 'trend',
    unit: 'ms',
    count: h.totalCount,
    min: at(0),
    mean: empty ? 0 : usToMs(h.mean),
    p50: at(50),
    p90: at(90),
    p95: at(95),
    p99: at(99),
    p999: at(99.9),
    max: at(100),
    hdr: encodeHistogram(h),
  };
}
