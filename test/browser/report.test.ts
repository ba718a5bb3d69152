// The HTML report in real headless Chromium, opened from disk: it must render with no console
// errors and no network, draw its charts, show the JSON's numbers and fit a 400px window.

import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { renderJUnit } from '../../src/report/junit.js';
import { buildComparison, renderComparisonHtml } from '../../src/report/comparison.js';
import { renderReportHtml } from '../../src/report/html.js';
import type { ReportJson, TrendJson } from '../../src/report/types.js';
import { makeReport } from '../helpers/report-fixtures.js';

const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = path.resolve('test-artifacts');

let browser: Browser;
let dir: string;
let report: ReportJson;
let fileUrl: string;

beforeAll(async () => {
  // CI installs Debian's chromium; a missing browser is a broken setup, not a reason to skip.
  if (!existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} is missing: install Debian's chromium (apt-get install chromium) to run the browser tests`);
  }
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
  dir = mkdtempSync(path.join(tmpdir(), 'volley-report-'));
  report = makeReport({ failThreshold: true, limited: true, errorMessage: '<img src=x onerror=console.error("xss")> no frame matched /hello 7/' });
  // A step name too long to fit a 400px window: its table must scroll inside the page, not widen it.
  report.metrics['latency{name:subscribeToMarketDataSnapshotStreamWithRetries}'] = report.metrics['latency{name:say}']!;
  const file = path.join(dir, 'report.html');
  writeFileSync(file, renderReportHtml(report));
  fileUrl = pathToFileURL(file).href;
});

afterAll(async () => {
  await browser?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

interface Observed {
  page: Page;
  consoleErrors: string[];
  requests: string[];
}

async function open(width: number): Promise<Observed> {
  const context = await browser.newContext({ viewport: { width, height: 900 } });
  const page = await context.newPage();
  const consoleErrors: string[] = [];
  const requests: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') consoleErrors.push(m.text());
  });
  page.on('pageerror', (e) => consoleErrors.push(e.message));
  page.on('request', (r) => requests.push(r.url()));
  await page.goto(fileUrl, { waitUntil: 'load' });
  return { page, consoleErrors, requests };
}

describe('report.html in Chromium', () => {
  test('loads from disk with no console errors and no request but the file itself', async () => {
    const { page, consoleErrors, requests } = await open(1200);
    expect(consoleErrors).toEqual([]);
    expect(requests).toEqual([fileUrl]);
    expect(await page.title()).toBe('volley: chat-room (failed)');
    // The injected markup stayed text.
    expect(await page.locator('img').count()).toBe(0);
    expect(await page.locator('tr[data-error] td.msg').textContent()).toContain('<img src=x');
    await page.context().close();
  });

  test('charts are drawn: every series path has points and a real on-screen size', async () => {
    const { page } = await open(1200);
    const paths = await page.locator('svg path[data-series]').evaluateAll((els) =>
      els.map((el) => {
        const p = el as SVGPathElement;
        const box = p.getBBox();
        return { series: p.dataset['series'], points: Number(p.dataset['points']), length: p.getTotalLength(), width: box.width, height: box.height };
      }),
    );
    expect(paths.map((p) => p.series)).toEqual(['latency', 'service_time', 'framesSent', 'framesReceived', 'p50', 'p99', 'active', 'errors']);
    for (const p of paths) {
      expect(p.points, p.series).toBeGreaterThan(10);
      expect(p.length, p.series).toBeGreaterThan(50);
      expect(p.width, p.series).toBeGreaterThan(100);
    }
    // The coordinated-omission gap is visible: latency's curve ends above service_time's.
    const ends = await page.locator('svg[class="hdr"] path[data-series]').evaluateAll((els) =>
      els.map((el) => {
        const p = el as SVGPathElement;
        return p.getPointAtLength(p.getTotalLength()).y;
      }),
    );
    expect(ends[0]).toBeLessThan(ends[1]! - 50); // SVG y grows downwards
    await page.context().close();
  });

  test("the latency table's numbers equal the JSON's", async () => {
    const { page } = await open(1200);
    for (const key of ['latency', 'latency{name:say}', 'service_time']) {
      const trend = report.metrics[key] as TrendJson;
      const row = page.locator(`tr[data-trend][data-metric="${key}"]`);
      expect(Number(await row.getAttribute('data-p99'))).toBe(trend.p99);
      const cells = await row.locator('td').allTextContents();
      // metric, count, mean, p50, p90, p95, p99, p99.9, max
      expect(cells.slice(3).map(Number)).toEqual([trend.p50, trend.p90, trend.p95, trend.p99, trend.p999, trend.max]);
      expect(Number(cells[1]!.replace(/,/g, ''))).toBe(trend.count);
    }
    const failed = page.locator('tr[data-threshold][data-ok="false"]');
    expect(await failed.getAttribute('data-metric')).toBe('errors');
    expect(await page.locator('[data-banner="harness-limited"]').isVisible()).toBe(true);
    await page.context().close();
  });

  test('a 400px window has no horizontal overflow; screenshot saved', async () => {
    const { page } = await open(400);
    const widths = await page.evaluate(() => ({
      doc: document.documentElement.scrollWidth,
      body: document.body.scrollWidth,
      viewport: window.innerWidth,
    }));
    expect(widths.doc).toBeLessThanOrEqual(widths.viewport);
    expect(widths.body).toBeLessThanOrEqual(widths.viewport);
    // The long step name did need room: its table scrolls within its own box.
    const latencyBox = await page.locator('#latency .scroll').evaluate((el) => ({ scroll: el.scrollWidth, client: el.clientWidth }));
    expect(latencyBox.scroll).toBeGreaterThan(latencyBox.client);
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: path.join(ARTIFACTS, 'report-narrow.png'), fullPage: true });
    await page.context().close();
    const wide = await open(1200);
    await wide.page.screenshot({ path: path.join(ARTIFACTS, 'report.png'), fullPage: true });
    await wide.page.context().close();
  });

  test('at tablet width the latency table fits its box: max is not cut off', async () => {
    for (const width of [768, 1280]) {
      const { page } = await open(width);
      const box = await page.locator('#latency .scroll').evaluate((el) => ({ scroll: el.scrollWidth, client: el.clientWidth }));
      expect(box.scroll, `at ${width}px`).toBeLessThanOrEqual(box.client);
      expect(await page.locator('#latency th').last().isVisible()).toBe(true);
      await page.context().close();
    }
  });

  test('comparison.html fits a 390px window, links each transport to its page and allows no network', async () => {
    const comparison = buildComparison([
      { transport: 'ws', report: makeReport({ seed: 1 }), reportFile: 'ws/report.json' },
      { transport: 'long-poll', report: makeReport({ seed: 2, latencyScale: 3 }), reportFile: 'long-poll/report.json' },
    ]);
    const file = path.join(dir, 'comparison.html');
    writeFileSync(file, renderComparisonHtml(comparison));
    const context = await browser.newContext({ viewport: { width: 390, height: 900 } });
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text());
    });
    await page.goto(pathToFileURL(file).href);
    const widths = await page.evaluate(() => ({ doc: document.documentElement.scrollWidth, viewport: window.innerWidth }));
    expect(widths.doc).toBeLessThanOrEqual(widths.viewport);
    expect(await page.locator('a').evaluateAll((as) => as.map((a) => a.getAttribute('href')))).toEqual(['ws/report.html', 'long-poll/report.html']);
    expect(await page.locator('meta[http-equiv="Content-Security-Policy"]').count()).toBe(1);
    expect(errors).toEqual([]);
    await context.close();
  });

  test('the JUnit XML is well-formed to a real XML parser', async () => {
    const { page } = await open(800);
    const xml = renderJUnit(makeReport({ failThreshold: true, errorMessage: 'a\u0001b <c> & "d"' }));
    const result = await page.evaluate((text) => {
      const doc = new DOMParser().parseFromString(text, 'application/xml');
      const error = doc.querySelector('parsererror');
      return {
        error: error ? error.textContent : null,
        failures: [...doc.querySelectorAll('testcase > failure')].map((f) => f.parentElement!.getAttribute('classname')),
      };
    }, xml);
    expect(result.error).toBeNull();
    expect(result.failures).toEqual(['errors']);
    await page.context().close();
  });
});
