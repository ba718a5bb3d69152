// SVG charts rendered on the server side, so the HTML report needs no script and no network:
// the HDR percentile-distribution curve (decoded from a trend's `hdr`) and per-second lines.

import { decodeFromCompressedBase64 } from 'hdr-histogram-js';
import { escapeHtml, formatMs } from './format.js';

export interface CurvePoint {
  /** Fraction of samples at or below valueMs: 0 .. 1. */
  percentile: number;
  valueMs: number;
}

// HdrHistogram's own plots report 5 points per halving of the remaining tail (outputPercentileDistribution).
const TICKS_PER_HALF_DISTANCE = 5;
// 40 halvings reach 1 - 2^-40: far beyond any run's sample count, so the loop ends on the count.
const MAX_HALVINGS = 40;
const REPORTED_PERCENTILES = [0.5, 0.9, 0.95, 0.99, 0.999];

/**
 * The percentile distribution of an encoded HDR histogram (microsecond values), as points in ms:
 * 5 per halving of the tail, up to the last percentile the sample count can resolve, then max.
 * Returns [] for an empty or undecodable histogram (a damaged report still renders).
 */
export function percentileCurve(hdrBase64: string): CurvePoint[] {
  if (!hdrBase64) return [];
  let histogram;
  try {
    histogram = decodeFromCompressedBase64(hdrBase64);
  } catch {
    return [];
  }
  const total = histogram.totalCount;
  if (total === 0) return [];
  // The tick percentiles, plus the report's own (p50..p99.9) so the curve passes exactly
  // through the numbers the tables show.
  const percentiles = [...REPORTED_PERCENTILES];
  for (let i = 0; i <= TICKS_PER_HALF_DISTANCE * MAX_HALVINGS; i++) {
    const tail = Math.pow(0.5, i / TICKS_PER_HALF_DISTANCE);
    // Past the point where fewer than one sample is left in the tail, only max remains.
    if (tail * total < 1) break;
    percentiles.push(1 - tail);
  }
  const points: CurvePoint[] = percentiles
    .filter((p) => (1 - p) * total >= 1 - 1e-9)
    .sort((a, b) => a - b)
    .filter((p, i, arr) => i === 0 || p - arr[i - 1]! > 1e-12)
    .map((percentile) => ({ percentile, valueMs: histogram.getValueAtPercentile(percentile * 100) / 1000 }));
  // The last sample sits at 1 - 1/total on HdrHistogram's axis.
  const lastPercentile = total > 1 ? 1 - 1 / total : 0.5;
  // maxValue is the recorded value while percentiles report their bucket's highest equivalent
  // value, so max can sit a hair below p99.9: never let the curve step down at its end.
  const maxMs = Math.max(histogram.maxValue / 1000, points[points.length - 1]?.valueMs ?? 0);
  if (points.length === 0 || points[points.length - 1]!.percentile < lastPercentile) {
    points.push({ percentile: lastPercentile, valueMs: maxMs });
  } else {
    points[points.length - 1] = { percentile: lastPercentile, valueMs: maxMs };
  }
  histogram.destroy();
  return points;
}

/** HdrHistogram's x axis: log10(1 / (1 - p)), so 90% = 1, 99% = 2, 99.9% = 3. */
export function percentileAxisX(percentile: number): number {
  return Math.log10(1 / Math.max(1 - percentile, 1e-12));
}

export interface Series {
  /** Stable name written to data-series, e.g. "latency". */
  id: string;
  label: string;
  color: string;
  /** [x, y]; y null breaks the line (a second with no samples). */
  points: readonly (readonly [number, number | null])[];
  dashed?: boolean;
}

interface Frame {
  width: number;
  height: number;
  left: number;
  right: number;
  top: number;
  bottom: number;
}

const TS_FRAME: Frame = { width: 520, height: 220, left: 52, right: 12, top: 12, bottom: 30 };
const HDR_FRAME: Frame = { width: 760, height: 320, left: 56, right: 16, top: 14, bottom: 48 };

/** 1, 2, 5 × 10^k steps giving about `count` ticks from 0 to at least max. */
export function niceTicks(max: number, count = 4): number[] {
  if (!(max > 0)) return [0, 1];
  const rough = max / count;
  const mag = Math.pow(10, Math.floor(Math.log10(rough)));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= rough) ?? 10 * mag;
  const ticks: number[] = [];
  for (let v = 0; v < max + step * 0.999; v += step) ticks.push(Number(v.toPrecision(12)));
  return ticks;
}

function tickLabel(v: number): string {
  if (v >= 1_000_000) return `${Number((v / 1_000_000).toPrecision(3))}M`;
  if (v >= 10_000) return `${Number((v / 1000).toPrecision(3))}k`;
  return formatMs(v);
}

function round1(v: number): string {
  return String(Math.round(v * 10) / 10);
}

// Keeps long series light: above maxPoints, each bucket keeps its min and max (in time order)
// so spikes survive while the path stays a few hundred points.
function decimate(points: Series['points'], maxPoints: number): Series['points'] {
  if (points.length <= maxPoints) return points;
  const bucket = Math.ceil(points.length / (maxPoints / 2));
  const out: (readonly [number, number | null])[] = [];
  for (let start = 0; start < points.length; start += bucket) {
    let lo: (readonly [number, number | null]) | undefined;
    let hi: (readonly [number, number | null]) | undefined;
    let sawGap = false;
    for (let i = start; i < Math.min(start + bucket, points.length); i++) {
      const p = points[i]!;
      if (p[1] === null) {
        sawGap = true;
        continue;
      }
      if (!lo || p[1] < lo[1]!) lo = p;
      if (!hi || p[1] > hi[1]!) hi = p;
    }
    if (!lo || !hi) {
      if (sawGap) out.push([points[start]![0], null]);
      continue;
    }
    if (lo === hi) out.push(lo);
    else if (lo[0] < hi[0]) out.push(lo, hi);
    else out.push(hi, lo);
  }
  return out;
}

interface Scale {
  x: (v: number) => number;
  y: (v: number) => number;
}

function pathD(points: Series['points'], scale: Scale): { d: string; count: number } {
  let d = '';
  let count = 0;
  let penDown = false;
  for (const [x, y] of points) {
    if (y === null || !Number.isFinite(y)) {
      penDown = false;
      continue;
    }
    d += `${penDown ? 'L' : 'M'}${round1(scale.x(x))} ${round1(scale.y(y))}`;
    penDown = true;
    count++;
  }
  return { d, count };
}

function seriesSvg(series: Series, scale: Scale, maxPoints: number): string {
  const pts = decimate(series.points, maxPoints);
  const { d, count } = pathD(pts, scale);
  const dash = series.dashed ? ' stroke-dasharray="5 3"' : '';
  let svg =
    `<path data-series="${escapeHtml(series.id)}" data-points="${count}" d="${d}" fill="none" ` +
    `stroke="${series.color}" stroke-width="1.8" stroke-linejoin="round"${dash}/>`;
  // A lone point would draw nothing as a path: mark it.
  if (count === 1) {
    const only = pts.find((p) => p[1] !== null)!;
    svg += `<circle cx="${round1(scale.x(only[0]))}" cy="${round1(scale.y(only[1]!))}" r="2.5" fill="${series.color}"/>`;
  }
  return svg;
}

function legendHtml(series: readonly Series[]): string {
  return (
    '<ul class="legend">' +
    series
      .map(
        (s) =>
          `<li><span class="swatch${s.dashed ? ' dashed' : ''}" style="border-color:${s.color}"></span>${escapeHtml(s.label)}</li>`,
      )
      .join('') +
    '</ul>'
  );
}

// Units live in the chart titles: a unit on the top tick gets clipped in narrow windows.
function yGrid(frame: Frame, ticks: number[], scale: Scale): string {
  const x0 = frame.left;
  const x1 = frame.width - frame.right;
  return ticks
    .map((t) => {
      const y = round1(scale.y(t));
      return (
        `<line x1="${x0}" x2="${x1}" y1="${y}" y2="${y}" class="grid"/>` +
        `<text x="${x0 - 6}" y="${y}" class="ylabel">${tickLabel(t)}</text>`
      );
    })
    .join('');
}

export interface TimeChartOptions {
  id: string;
  title: string;
  unit: string;
  series: readonly Series[];
}

/** A per-second line chart (x = seconds since start). */
export function renderTimeChart(opts: TimeChartOptions): string {
  const frame = TS_FRAME;
  const xs = opts.series.flatMap((s) => s.points.map((p) => p[0]));
  const ys = opts.series.flatMap((s) => s.points.map((p) => p[1]).filter((v): v is number => v !== null && Number.isFinite(v)));
  const xMin = xs.length ? Math.min(...xs) : 0;
  const xMax = xs.length ? Math.max(...xs, xMin + 1) : 1;
  const yTicks = niceTicks(ys.length ? Math.max(...ys) : 0);
  const yMax = yTicks[yTicks.length - 1]!;
  const plotW = frame.width - frame.left - frame.right;
  const plotH = frame.height - frame.top - frame.bottom;
  const scale: Scale = {
    x: (v) => frame.left + ((v - xMin) / (xMax - xMin)) * plotW,
    y: (v) => frame.top + plotH - (v / yMax) * plotH,
  };
  // Round seconds (0, 10, 20 …) read better than offsets from the first point.
  const xTicks = niceTicks(xMax, 5).filter((t) => t >= xMin && t <= xMax);
  const xAxis = xTicks
    .map((t) => {
      const x = scale.x(t);
      const anchor = x > frame.width - frame.right - 12 ? ' style="text-anchor:end"' : '';
      return `<text x="${round1(x)}" y="${frame.height - frame.bottom + 16}" class="xlabel"${anchor}>${tickLabel(t)}s</text>`;
    })
    .join('');
  const body = opts.series.map((s) => seriesSvg(s, scale, 600)).join('');
  return (
    `<figure class="chart" data-chart="${escapeHtml(opts.id)}"><figcaption>${escapeHtml(opts.title)}</figcaption>` +
    `<svg class="ts" viewBox="0 0 ${frame.width} ${frame.height}" role="img" aria-label="${escapeHtml(opts.title)}">` +
    yGrid(frame, yTicks, scale) +
    `<line x1="${frame.left}" x2="${frame.width - frame.right}" y1="${frame.top + plotH}" y2="${frame.top + plotH}" class="axis"/>` +
    xAxis +
    body +
    `</svg>${legendHtml(opts.series)}</figure>`
  );
}

export interface HdrSeries {
  id: string;
  label: string;
  color: string;
  dashed?: boolean;
  curve: readonly CurvePoint[];
}

const PERCENTILE_LABELS = ['0%', '90%', '99%', '99.9%', '99.99%', '99.999%', '99.9999%', '99.99999%'];
const MARKED_PERCENTILES = [0.5, 0.9, 0.99, 0.999];

/**
 * The HDR percentile-distribution chart: x is log10(1/(1-p)) (90%, 99%, 99.9% evenly spaced),
 * y is linear ms, as HdrHistogram's plotter draws it. Points at p50/p90/p99/p99.9 and max carry a
 * <title> for hover.
 */
export function renderHdrChart(opts: { id: string; title: string; series: readonly HdrSeries[] }): string {
  const frame = HDR_FRAME;
  const all = opts.series.flatMap((s) => s.curve);
  const xMaxRaw = all.length ? Math.max(...all.map((p) => percentileAxisX(p.percentile))) : 2;
  const xMax = Math.max(2, Math.ceil(xMaxRaw));
  const yTicks = niceTicks(all.length ? Math.max(...all.map((p) => p.valueMs)) : 0, 5);
  const yMax = yTicks[yTicks.length - 1]!;
  const plotW = frame.width - frame.left - frame.right;
  const plotH = frame.height - frame.top - frame.bottom;
  const scale: Scale = {
    x: (v) => frame.left + (v / xMax) * plotW,
    y: (v) => frame.top + plotH - (v / yMax) * plotH,
  };
  let xAxis = '';
  for (let k = 0; k <= xMax; k++) {
    const x = round1(scale.x(k));
    // The outermost labels hang inwards so narrow windows do not clip them.
    const anchor = k === 0 ? ' style="text-anchor:start"' : k === xMax ? ' style="text-anchor:end"' : '';
    xAxis +=
      `<line x1="${x}" x2="${x}" y1="${frame.top}" y2="${frame.top + plotH}" class="grid"/>` +
      `<text x="${x}" y="${frame.height - frame.bottom + 18}" class="xlabel"${anchor}>${PERCENTILE_LABELS[k] ?? `${k} nines`}</text>`;
  }
  const body = opts.series
    .map((s) => {
      const pts = s.curve.map((p) => [percentileAxisX(p.percentile), p.valueMs] as const);
      let markers = '';
      const marked = [...MARKED_PERCENTILES.map((q) => s.curve.find((p) => Math.abs(p.percentile - q) < 1e-9)), s.curve[s.curve.length - 1]];
      for (const p of new Set(marked)) {
        if (!p) continue;
        const name = p === s.curve[s.curve.length - 1] ? 'max' : `p${Number((p.percentile * 100).toFixed(3))}`;
        markers +=
          `<circle cx="${round1(scale.x(percentileAxisX(p.percentile)))}" cy="${round1(scale.y(p.valueMs))}" r="3" fill="${s.color}">` +
          `<title>${escapeHtml(s.label)} ${name}: ${formatMs(p.valueMs)} ms</title></circle>`;
      }
      return seriesSvg({ id: s.id, label: s.label, color: s.color, dashed: s.dashed, points: pts }, scale, 1000) + markers;
    })
    .join('');
  return (
    `<figure class="chart wide" data-chart="${escapeHtml(opts.id)}"><figcaption>${escapeHtml(opts.title)}</figcaption>` +
    `<svg class="hdr" viewBox="0 0 ${frame.width} ${frame.height}" role="img" aria-label="${escapeHtml(opts.title)}">` +
    yGrid(frame, yTicks, scale) +
    xAxis +
    `<text x="${frame.left + plotW / 2}" y="${frame.height - 6}" class="xlabel">percentile</text>` +
    body +
    `</svg>${legendHtml(opts.series.map((s) => ({ ...s, points: [] })))}</figure>`
  );
}
