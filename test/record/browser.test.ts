// Real Chromium, end to end. Three ways a browser session becomes a load test, each finished by
// `volley run` (the engine and its workers) against the server the browser used:
// - the chat target's own demo page, recorded from DevTools protocol events (cdp-har.ts builds
//   the HAR that "Save all as HAR" would), then `volley import`;
// - the same demo page pointed (?ws=) at `volley record`, stopped with SIGINT;
// - a page of ours against a server that issues a session id and wants it back, with a cookie
//   and a query token that must not leak into the scenario.
// Every run must exit 0 with no errors, and its frame counts must equal the server's.

import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { chromium, type Browser, type CDPSession, type Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { harFromCdpEvents, type CdpEvent } from '../../src/record/cdp-har.js';
import { startTarget, type RunningTarget, type TargetStats } from '../../src/targets/index.js';
import { runCli, tempDir } from '../helpers/cli.js';
import { startSessionServer, type TestServer } from './servers.js';
import { counter, expectClean, importWithCli, runWithCli, stepTrends, type RunOutcome } from './volley.js';

const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];
const WS_EVENTS = [
  'Network.webSocketCreated',
  'Network.webSocketWillSendHandshakeRequest',
  'Network.webSocketHandshakeResponseReceived',
  'Network.webSocketFrameSent',
  'Network.webSocketFrameReceived',
  'Network.webSocketFrameError',
  'Network.webSocketClosed',
  'Network.requestWillBeSentExtraInfo',
];
/** Every wait on the page or on CDP is bounded by this. */
const PAGE_WAIT_MS = 10_000;
const LINES = ['hello from chromium', 'a second line'];

let browser: Browser;
const dir = tempDir('volley-record-browser-');
const cleanups: (() => Promise<void>)[] = [];

beforeAll(async () => {
  browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS, timeout: 30_000 });
});
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});
afterAll(async () => {
  await browser?.close();
  rmSync(dir, { recursive: true, force: true });
});

async function chatTarget(): Promise<RunningTarget> {
  const t = await startTarget('chat');
  cleanups.push(() => t.close());
  return t;
}

async function newPage(): Promise<Page> {
  const page = await browser.newPage();
  page.setDefaultTimeout(PAGE_WAIT_MS);
  cleanups.push(() => page.close());
  return page;
}

/** Collects the page's WebSocket events from the DevTools protocol, as DevTools' HAR writer does. */
async function captureWebSocketEvents(page: Page): Promise<{ cdp: CDPSession; events: CdpEvent[] }> {
  const cdp = await page.context().newCDPSession(page);
  const events: CdpEvent[] = [];
  for (const method of WS_EVENTS) cdp.on(method as 'Network.webSocketCreated', (params: unknown) => events.push({ method, params }));
  await cdp.send('Network.enable');
  return { cdp, events };
}

/** A person using the chat demo page: it joins the lobby on open; say each line, wait for its
 *  broadcast to come back, then press Close. */
async function useChatDemo(page: Page, url: string): Promise<void> {
  await page.goto(url);
  await page.locator('#frames li.received', { hasText: '"type":"joined"' }).waitFor();
  for (const line of LINES) {
    await page.fill('#text', line);
    await page.click('#send');
    await page.locator('#frames li.received', { hasText: `"text":"${line}"` }).waitFor();
  }
  await page.click('#close');
  await page.locator('#status', { hasText: 'closed' }).waitFor();
}

/** What the server saw during the run equals what the engine counted, both ways. */
function expectReconciled(run: RunOutcome, before: TargetStats, after: TargetStats): void {
  expect(after.connections - before.connections).toBe(1);
  expect(counter(run.report, 'frames_sent')).toBe(after.framesReceived - before.framesReceived);
  expect(counter(run.report, 'frames_received')).toBe(after.framesSent - before.framesSent);
}

describe('the chat demo page in Chromium', () => {
  it('DevTools protocol events -> HAR -> volley import -> volley run: clean, every frame reconciled with the target', async () => {
    const target = await chatTarget();
    const page = await newPage();
    const { events } = await captureWebSocketEvents(page);
    await useChatDemo(page, target.httpUrl);
    // The page saw its last frame; give CDP's events for it a bounded moment to arrive.
    await expect
      .poll(() => events.filter((e) => e.method === 'Network.webSocketFrameReceived').length, { timeout: PAGE_WAIT_MS })
      .toBe(1 + LINES.length);
    const browserStats = target.stats();
    expect(browserStats).toMatchObject({ connections: 1, framesReceived: 1 + LINES.length, framesSent: 1 + LINES.length });

    const har = harFromCdpEvents(events);
    expect(har.log.entries).toHaveLength(1);
    expect(har.log.entries[0]!.request.url).toBe(target.url);
    expect(har.log.entries[0]!._webSocketMessages.map((m) => m.type)).toEqual(['send', 'receive', 'send', 'receive', 'send', 'receive']);
    const harFile = path.join(dir, 'demo-chat.har');
    writeFileSync(harFile, JSON.stringify(har, null, 2));

    // --timing none: the person's pauses would only slow the test (think steps are covered below).
    const imported = await importWithCli(harFile, dir, ['--timing', 'none']);
    const d = parse(imported.yaml) as { target: string; steps: Record<string, unknown>[] };
    expect(d.target).toBe(target.url);
    expect(d.steps.some((s) => 'think' in s)).toBe(false);
    expect(d.steps.filter((s) => 'send' in s).map((s) => s.name)).toEqual(['join', 'say', 'say']);

    const run = await runWithCli(imported.file, target.url, dir);
    expectClean(run);
    expectReconciled(run, browserStats, target.stats());
    expect(counter(run.report, 'frames_sent')).toBe(1 + LINES.length);
    expect(counter(run.report, 'sessions_completed')).toBe(1);
    expect(stepTrends(run.report)).toEqual(['latency{name:join}', 'latency{name:say}']);
    expect(run.report.metrics['latency{name:say}']).toMatchObject({ count: LINES.length });
  });

  it('through volley record (page?ws= at the proxy, SIGINT): the scenario it writes runs clean against the upstream', async () => {
    const target = await chatTarget();
    const out = path.join(dir, 'recorded.yaml');
    let pid: number | undefined;
    let stderr = '';
    const recording = runCli(['record', '--upstream', target.url, '--listen', '127.0.0.1:0', '-o', out], {
      timeoutMs: 40_000,
      onSpawn: (p) => (pid = p),
      onStderr: (text) => (stderr += text),
    });
    cleanups.push(async () => {
      if (pid !== undefined) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
    });
    await expect.poll(() => /point the client at (ws:\/\/\S+)/.exec(stderr)?.[1], { timeout: PAGE_WAIT_MS }).toBeDefined();
    const listenUrl = /point the client at (ws:\/\/\S+)/.exec(stderr)![1]!;
    expect(listenUrl).toMatch(/^ws:\/\/127\.0\.0\.1:[1-9]\d*$/);

    const page = await newPage();
    await useChatDemo(page, `${target.httpUrl}?ws=${encodeURIComponent(listenUrl)}`);
    // The page's frames went through the proxy to the target.
    expect(target.stats()).toMatchObject({ connections: 1, framesReceived: 1 + LINES.length, framesSent: 1 + LINES.length });
    // The relayed frames are logged as they pass; wait for the last broadcast before stopping.
    await expect.poll(() => (stderr.match(/^← #1 /gm) ?? []).length, { timeout: PAGE_WAIT_MS }).toBe(1 + LINES.length);
    process.kill(pid!, 'SIGINT');
    const rec = await recording;
    expect(rec.code, rec.stderr).toBe(0);
    expect(rec.stderr).toContain(`wrote ${out} (1 connection)`);

    const yaml = readFileSync(out, 'utf8');
    const d = parse(yaml) as { target: string; steps: Record<string, unknown>[] };
    expect(d.target).toBe(target.url);
    expect(d.steps.filter((s) => 'send' in s).map((s) => s.name)).toEqual(['join', 'say', 'say']);

    // No --target: the scenario's own target is the upstream.
    const before = target.stats();
    const run = await runWithCli(out, undefined, dir);
    expectClean(run);
    expectReconciled(run, before, target.stats());
    expect(counter(run.report, 'frames_sent')).toBe(1 + LINES.length);
    expect(stepTrends(run.report)).toEqual(['latency{name:join}', 'latency{name:say}']);
  });
});

const COOKIE_SECRET = 'browser-cookie-secret-0042';
const QUERY_SECRET = 'query-token-secret-0042';

// hello -> auth with the session id (after 120 ms) -> a binary frame -> echo with the id -> done.
function sessionPage(wsUrl: string): string {
  return `<!doctype html><title>recording</title><script>
const ws = new WebSocket(${JSON.stringify(wsUrl)}, ['demo.v1']);
let sid;
ws.onmessage = (e) => {
  const text = String(e.data);
  if (text.startsWith('{')) {
    const m = JSON.parse(text);
    if (m.type === 'hello') { sid = m.sid; setTimeout(() => ws.send(JSON.stringify({ type: 'auth', sid })), 120); }
    if (m.type === 'ok') { ws.send(new Uint8Array([1, 2, 3, 250])); ws.send('echo:' + sid + ':hi'); }
  } else if (text === sid + ':hi') {
    document.title = 'done';
  }
};
</script>`;
}

describe('a page with a session id, a cookie and a query token, in Chromium', () => {
  let wsServer: TestServer;
  let http: Server;

  beforeAll(async () => {
    wsServer = await startSessionServer();
    http = createServer((_req, res) => {
      // A cookie for 127.0.0.1 travels with the WebSocket handshake too (cookies ignore ports).
      res.writeHead(200, { 'content-type': 'text/html', 'set-cookie': `sid=${COOKIE_SECRET}; Path=/` });
      res.end(sessionPage(`${wsServer.url}/session?room=1&token=${QUERY_SECRET}`));
    });
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', () => resolve()));
  });
  afterAll(async () => {
    await new Promise<void>((resolve) => (http ? http.close(() => resolve()) : resolve()));
    await wsServer?.close();
  });

  it('imports into a scenario that captures the session id and keeps credentials out; it runs clean with them from env', async () => {
    const page = await newPage();
    const { events } = await captureWebSocketEvents(page);
    await page.goto(`http://127.0.0.1:${(http.address() as AddressInfo).port}/`);
    await page.waitForFunction(() => document.title === 'done', null, { timeout: PAGE_WAIT_MS });
    await expect.poll(() => events.filter((e) => e.method === 'Network.webSocketFrameReceived').length, { timeout: PAGE_WAIT_MS }).toBe(3);
    await page.close();

    const har = harFromCdpEvents(events);
    expect(har.log.entries).toHaveLength(1);
    const entry = har.log.entries[0]!;
    expect(entry._resourceType).toBe('websocket');
    expect(entry.request.url).toBe(`${wsServer.url}/session?room=1&token=${QUERY_SECRET}`);
    // Chromium sent the page's cookie with the handshake (the server saw it); its CDP events may
    // or may not report it (they did not in Chromium 156), so the HAR's headers are what they are.
    expect(wsServer.handshakes[0]!.headers.cookie).toBe(`sid=${COOKIE_SECRET}`);
    expect(entry.response.status).toBe(101);
    expect(entry._webSocketMessages.map((m) => [m.type, m.opcode])).toEqual([
      ['receive', 1], ['send', 1], ['receive', 1], ['send', 2], ['send', 1], ['receive', 1],
    ]);
    expect(entry._webSocketMessages[3]!.data).toBe('AQID+g==');
    const times = entry._webSocketMessages.map((m) => m.time);
    expect(times).toEqual([...times].sort((a, b) => a - b));
    // Wall-clock seconds near now, as DevTools writes them.
    expect(Math.abs(times[0]! - Date.now() / 1000)).toBeLessThan(120);
    // The server really saw what the HAR says was sent.
    expect(wsServer.received.map((r) => (r.isBinary ? r.data.toString('base64') : r.data.toString()))).toEqual(
      entry._webSocketMessages.filter((m) => m.type === 'send').map((m) => m.data),
    );

    const harFile = path.join(dir, 'session.har');
    writeFileSync(harFile, JSON.stringify(har));
    const g = await importWithCli(harFile, dir);
    expect(g.yaml).not.toContain(COOKIE_SECRET);
    expect(g.yaml).not.toContain(QUERY_SECRET);
    const harHasCookie = entry.request.headers.some((h) => h.name.toLowerCase() === 'cookie');
    expect(g.cli.stderr).toContain(`set these environment variables before running it: ${harHasCookie ? 'COOKIE, TOKEN' : 'TOKEN'}`);
    const d = parse(g.yaml) as {
      target: string;
      connect: { headers: Record<string, string>; subprotocols: string[]; query: Record<string, string> };
      steps: Record<string, unknown>[];
    };
    expect(d.target).toBe(`${wsServer.url}/session?room=1`);
    expect(d.connect.query).toEqual({ token: '${env.TOKEN}' });
    expect(d.connect.subprotocols).toEqual(['demo.v1']);
    // Only what the application set survives: the page's Origin (and the cookie, if reported).
    expect(d.connect.headers).toEqual({
      Origin: `http://127.0.0.1:${(http.address() as AddressInfo).port}`,
      ...(harHasCookie ? { Cookie: '${env.COOKIE}' } : {}),
    });
    expect(d.steps[0]).toEqual({ expect: { json: { type: 'hello' }, capture: { sid: '$.sid' } }, name: 'hello' });
    // The page waited 120 ms before answering: kept as think.
    expect(d.steps[1]).toMatchObject({ think: expect.stringMatching(/^\d+ms$/) });
    expect(d.steps[2]).toEqual({ send: { json: { type: 'auth', sid: '${sid}' } }, expect: { json: { type: 'ok', sid: '${sid}' } }, name: 'auth' });
    expect(d.steps.slice(3).filter((s) => !('think' in s))).toEqual([
      { send: { binary: 'AQID+g==' }, name: 'send-2' },
      { send: 'echo:${sid}:hi', expect: { match: '^${sid}:hi$' }, name: 'send-3' },
      { close: { code: 1000 } },
    ]);

    // And it runs: a fresh session gets a new id from the server and uses it.
    const handshakesBefore = wsServer.handshakes.length;
    const receivedBefore = wsServer.received.length;
    const sentBefore = wsServer.framesSent;
    const run = await runWithCli(g.file, undefined, dir, { TOKEN: QUERY_SECRET, COOKIE: `sid=${COOKIE_SECRET}` });
    expectClean(run);
    expect(wsServer.handshakes.length - handshakesBefore).toBe(1);
    expect(wsServer.handshakes[handshakesBefore]!.url).toBe(`/session?room=1&token=${QUERY_SECRET}`);
    expect(wsServer.handshakes[handshakesBefore]!.headers['sec-websocket-protocol']).toBe('demo.v1');
    expect(counter(run.report, 'frames_sent')).toBe(wsServer.received.length - receivedBefore);
    expect(counter(run.report, 'frames_received')).toBe(wsServer.framesSent - sentBefore);
    expect(stepTrends(run.report)).toEqual(['latency{name:auth}', 'latency{name:send-3}', 'wait{name:hello}']);
    // The echo came back only because the id sent was the one this server issued to the run.
    const runFrames = wsServer.received.slice(receivedBefore).map((r) => (r.isBinary ? null : r.data.toString()));
    const auth = JSON.parse(runFrames[0]!) as { sid: string };
    expect(auth.sid).not.toBe(JSON.parse(entry._webSocketMessages[1]!.data).sid);
    expect(runFrames).toEqual([JSON.stringify({ type: 'auth', sid: auth.sid }), null, `echo:${auth.sid}:hi`]);
  });
});
