import { describe, expect, it } from 'vitest';
import {
  buildComparison,
  comparisonSentences,
  formatComparisonTable,
  renderComparisonHtml,
  type ComparisonJson,
} from '../../src/report/comparison.js';
import { VolleyError } from '../../src/errors.js';
import type { MetricJson, ReportJson, TrendJson } from '../../src/report/types.js';

function trend(p50: number, p99: number, count = 100): TrendJson {
  return { type: 'trend', unit: 'ms', count, min: p50 / 2, mean: p50, p50, p90: p99, p95: p99, p99, p999: p99, max: p99, hdr: '' };
}

interface ReportSpec {
  name?: string;
  transport: string;
  durationS?: number;
  framesSent: number;
  framesReceived: number;
  bytesSent: number;
  bytesReceived: number;
  latency?: TrendJson;
  wait?: TrendJson;
  cpuPercent?: number;
}

/** A minimal report: only what a comparison reads is meaningful. */
function report(spec: ReportSpec): ReportJson {
  const durationS = spec.durationS ?? 10;
  const counter = (count: number): MetricJson => ({ type: 'counter', count, rate: count / durationS });
  const metrics: Record<string, MetricJson> = {
    frames_sent: counter(spec.framesSent),
    frames_received: counter(spec.framesReceived),
    bytes_sent: counter(spec.bytesSent),
    bytes_received: counter(spec.bytesReceived),
  };
  if (spec.latency) metrics['latency'] = spec.latency;
  if (spec.wait) metrics['wait'] = spec.wait;
  return {
    format: 1,
    scenario: { name: spec.name ?? 'echo', file: 'scenarios/echo.yaml', sha256: 'x' },
    target: 'builtin:echo',
    startedAt: '2026-01-01T00:00:00.000Z',
    endedAt: '2026-01-01T00:00:10.000Z',
    durationS,
    transport: spec.transport,
    environment: { volley: '0.1.0', node: 'v20.0.0', cpus: 2, workers: 1 },
    load: { model: 'connections', connections: 10, durationS, gracefulStopS: 5 },
    metrics,
    timeseries: [],
    thresholds: [],
    errors: [],
    harness: { eventLoopLagP99Ms: 1, cpuPercent: spec.cpuPercent ?? 50, limited: false },
  };
}

const ws = report({
  transport: 'ws',
  framesSent: 1000,
  framesReceived: 1000,
  bytesSent: 20_000,
  bytesReceived: 22_000,
  latency: trend(0.3, 1.1),
  cpuPercent: 40,
});
const lp = report({
  transport: 'long-poll',
  framesSent: 1000,
  framesReceived: 1000,
  bytesSent: 200_000,
  bytesReceived: 148_600,
  latency: trend(0.9, 4.2),
  cpuPercent: 75,
});

describe('buildComparison', () => {
  it('reduces each report to messages, bytes per message, latency, throughput and CPU', () => {
    const c = buildComparison([
      { transport: 'ws', report: ws, reportFile: 'ws/report.json' },
      { transport: 'long-poll', report: lp },
    ]);
    expect(c).toEqual({
      format: 1,
      scenario: 'echo',
      transports: [
        {
          transport: 'ws',
          messages: 2000,
          bytesPerMessage: 21,
          bytesSent: 20_000,
          bytesReceived: 22_000,
          latency: { p50: 0.3, p99: 1.1 },
          messagesPerSecond: 200,
          cpuPercent: 40,
          reportFile: 'ws/report.json',
        },
        {
          transport: 'long-poll',
          messages: 2000,
          bytesPerMessage: 174.3,
          bytesSent: 200_000,
          bytesReceived: 148_600,
          latency: { p50: 0.9, p99: 4.2 },
          messagesPerSecond: 200,
          cpuPercent: 75,
        },
      ],
    } satisfies ComparisonJson);
    expect(comparisonSentences(c)).toEqual(['long-poll uses 8.3× the bytes per message of ws']);
  });

  it('takes latency from wait when no latency was measured, and null when neither was', () => {
    const push = report({ transport: 'ws', framesSent: 0, framesReceived: 30, bytesSent: 300, bytesReceived: 600, wait: trend(2, 9), latency: trend(0, 0, 0) });
    const none = report({ transport: 'long-poll', framesSent: 0, framesReceived: 0, bytesSent: 500, bytesReceived: 400, durationS: 0 });
    const c = buildComparison([
      { transport: 'ws', report: push },
      { transport: 'long-poll', report: none },
    ]);
    expect(c.transports[0]).toMatchObject({ messages: 30, bytesPerMessage: 30, latency: { p50: 2, p99: 9 }, messagesPerSecond: 3 });
    // No message, no per-message cost: null, as its latency is (not 0, which reads as "free").
    expect(c.transports[1]).toMatchObject({ messages: 0, bytesPerMessage: null, latency: { p50: null, p99: null }, messagesPerSecond: 0 });
    expect(JSON.parse(JSON.stringify(c)).transports[1].bytesPerMessage).toBeNull();
    // A transport that delivered nothing gets no ratio.
    expect(comparisonSentences(c)).toEqual([]);
  });

  it('measures against socket.io when there is no ws, whatever the order', () => {
    const polling = report({ transport: 'socket.io/polling', framesSent: 10, framesReceived: 10, bytesSent: 30_000, bytesReceived: 10_000 });
    const sio = report({ transport: 'socket.io', framesSent: 10, framesReceived: 10, bytesSent: 400, bytesReceived: 400 });
    const c = buildComparison([
      { transport: 'socket.io/polling', report: polling },
      { transport: 'socket.io', report: sio },
    ]);
    expect(comparisonSentences(c)).toEqual(['socket.io/polling uses 50× the bytes per message of socket.io']);
  });

  it('refuses an empty list with a user-facing error', () => {
    expect(() => buildComparison([])).toThrow(VolleyError);
  });
});

describe('formatComparisonTable', () => {
  it('prints one aligned row per transport and the N× sentence', () => {
    const text = formatComparisonTable(buildComparison([
      { transport: 'ws', report: ws },
      { transport: 'long-poll', report: lp },
    ]));
    const lines = text.split('\n');
    const header = lines.find((l) => l.startsWith('transport'))!;
    const wsRow = lines.find((l) => l.startsWith('ws '))!;
    const lpRow = lines.find((l) => l.startsWith('long-poll'))!;
    expect(wsRow).toMatch(/2,000\s+21\.0\s+20,000\s+22,000\s+0\.3 ms\s+1\.1 ms\s+200\s+40%$/);
    expect(lpRow).toMatch(/2,000\s+174\.3\s+200,000\s+148,600\s+0\.9 ms\s+4\.2 ms\s+200\s+75%$/);
    // Right-aligned numbers: every row ends in the same column.
    expect(new Set([header.length, wsRow.length, lpRow.length]).size).toBe(1);
    expect(text).toContain('long-poll uses 8.3× the bytes per message of ws.');
  });

  it('shows "–" for the bytes per message and latency of a transport that delivered nothing', () => {
    const none = report({ transport: 'socket.io/polling', framesSent: 0, framesReceived: 0, bytesSent: 500, bytesReceived: 400 });
    const text = formatComparisonTable(buildComparison([
      { transport: 'ws', report: ws },
      { transport: 'socket.io/polling', report: none },
    ]));
    const row = text.split('\n').find((l) => l.startsWith('socket.io/polling'))!;
    expect(row).toMatch(/^socket\.io\/polling\s+0\s+–\s+500\s+400\s+–\s+–\s+0\.0\s+50%$/);
    expect(text).not.toContain('uses');
  });
});

describe('renderComparisonHtml', () => {
  const hostile = report({
    name: 'chat & <b>friends</b>',
    transport: '<script>alert(1)</script>',
    framesSent: 5,
    framesReceived: 5,
    bytesSent: 1000,
    bytesReceived: 1000,
    latency: trend(1, 2),
  });
  const c = buildComparison([
    { transport: 'ws', report: ws, reportFile: 'ws/report.html?a="b"' },
    { transport: '<script>alert(1)</script>', report: hostile },
  ]);
  const html = renderComparisonHtml({ ...c, scenario: 'chat & <b>friends</b>' });

  it('escapes transport names, the scenario name and report links', () => {
    expect(html).not.toContain('<script>');
    expect(html).not.toContain('<b>friends');
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(html).toContain('chat &amp; &lt;b&gt;friends&lt;/b&gt;');
    expect(html).toContain('href="ws/report.html?a=&quot;b&quot;"');
  });

  it('is self-contained and draws bytes/message, messages/s, latency p50/p99 and CPU', () => {
    expect(html).not.toMatch(/(src|href)="(https?:)?\/\//);
    expect(html.match(/<svg /g)).toHaveLength(4);
    expect(html).toContain('Bytes on the wire per message');
    expect(html).toContain('ws p50');
    expect(html).toContain('ws p99');
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt; uses 9.5× the bytes per message of ws.');
  });

  it('draws no bar and shows "–" for a transport that delivered nothing', () => {
    const none = report({ transport: 'socket.io/polling', framesSent: 0, framesReceived: 0, bytesSent: 500, bytesReceived: 400 });
    const page = renderComparisonHtml(buildComparison([
      { transport: 'ws', report: ws },
      { transport: 'socket.io/polling', report: none },
    ]));
    const row = /<tr><td>socket\.io\/polling<\/td>(.*?)<\/tr>/.exec(page)![1]!;
    expect(row).toBe('<td>0</td><td>–</td><td>500</td><td>400</td><td>–</td><td>–</td><td>0.0</td><td>50%</td>');
    const bytesChart = page.slice(page.indexOf('Bytes on the wire per message'), page.indexOf('Messages delivered per second'));
    expect(bytesChart).toMatch(/socket\.io\/polling<\/text><rect [^>]*width="0\.0"[^>]*\/><text [^>]*>–<\/text>/);
    expect(page).toContain('Only one transport delivered messages');
  });

  it('says so when there is nothing to compare against', () => {
    const single = renderComparisonHtml(buildComparison([{ transport: 'ws', report: ws }]));
    expect(single).toContain('nothing to compare against');
  });
});
