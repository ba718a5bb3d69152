// Real Chromium: a page of ours opens a WebSocket to a real ws server and plays a short session;
// a CDP session collects the Network.webSocket* events, cdp-har.ts turns them into the HAR that
// DevTools would save, and importHar turns that into a scenario.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { harFromCdpEvents, type CdpEvent } from '../../src/record/cdp-har.js';
import { importHar } from '../../src/record/import.js';
import { loadScenario } from '../../src/scenario/load.js';
import { replay } from './replay.js';
import { startSessionServer, type TestServer } from './servers.js';

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
const COOKIE_SECRET = 'browser-cookie-secret-0042';
const QUERY_SECRET = 'query-token-secret-0042';

// The page: hello -> auth with the session id -> a binary frame -> echo with the id -> done.
function page(wsUrl: string): string {
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

describe('a HAR built from real Chromium CDP events', () => {
  let browser: Browser;
  let wsServer: TestServer;
  let http: Server;
  const dir = mkdtempSync(join(tmpdir(), 'volley-cdp-'));

  beforeAll(async () => {
    wsServer = await startSessionServer();
    http = createServer((_req, res) => {
      // A cookie for 127.0.0.1 travels with the WebSocket handshake too (cookies ignore ports).
      res.writeHead(200, { 'content-type': 'text/html', 'set-cookie': `sid=${COOKIE_SECRET}; Path=/` });
      res.end(page(`${wsServer.url}/session?room=1&token=${QUERY_SECRET}`));
    });
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', () => resolve()));
    browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS, timeout: 30_000 });
  });

  afterAll(async () => {
    await browser?.close();
    await new Promise<void>((resolve) => (http ? http.close(() => resolve()) : resolve()));
    await wsServer?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('imports into a scenario that captures the session id, sends it back, and keeps credentials out of the file', async () => {
    const pageHandle = await browser.newPage();
    const cdp = await pageHandle.context().newCDPSession(pageHandle);
    const events: CdpEvent[] = [];
    for (const method of WS_EVENTS) cdp.on(method as 'Network.webSocketCreated', (params: unknown) => events.push({ method, params }));
    await cdp.send('Network.enable');
    await pageHandle.goto(`http://127.0.0.1:${(http.address() as AddressInfo).port}/`);
    await pageHandle.waitForFunction(() => document.title === 'done', null, { timeout: 15_000 });
    // The page saw the last frame; give CDP's event for it a bounded moment to arrive.
    await expect.poll(() => events.filter((e) => e.method === 'Network.webSocketFrameReceived').length, { timeout: 5_000 }).toBe(3);
    await pageHandle.close();

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

    const file = join(dir, 'chromium.har');
    writeFileSync(file, JSON.stringify(har));
    const g = importHar(file, { timing: 'keep' });
    expect(g.yaml).not.toContain(COOKIE_SECRET);
    expect(g.yaml).not.toContain(QUERY_SECRET);
    const harHasCookie = entry.request.headers.some((h) => h.name.toLowerCase() === 'cookie');
    expect(g.envVars).toEqual(harHasCookie ? ['COOKIE', 'TOKEN'] : ['TOKEN']);
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
    const rest = d.steps.slice(3).filter((s) => !('think' in s));
    expect(rest).toEqual([
      { send: { binary: 'AQID+g==' }, name: 'send-2' },
      { send: 'echo:${sid}:hi', expect: { match: '^${sid}:hi$' }, name: 'send-3' },
      { close: { code: 1000 } },
    ]);

    // And it runs: a fresh session against the same server gets a new id and uses it.
    const env = { TOKEN: QUERY_SECRET, COOKIE: `sid=${COOKIE_SECRET}` };
    const loaded = loadScenario({ file: 'chromium.yaml', source: g.yaml, env });
    if (!loaded.ok) throw new Error(loaded.problems.map((p) => p.message).join('\n'));
    const before = wsServer.handshakes.length;
    const r = await replay(loaded.scenario, wsServer.url, env);
    expect(r.matched).toEqual(['hello', 'auth', 'send-3']);
    expect(wsServer.handshakes[before]!.url).toBe(`/session?room=1&token=${QUERY_SECRET}`);
  });
});
