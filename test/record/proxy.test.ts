import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket, type RawData } from 'ws';
import { VolleyError } from '../../src/errors.js';
import { generateScenario } from '../../src/record/generate.js';
import { parseListen, startRecorder, upstreamUrlFor, type Recorder } from '../../src/record/proxy.js';
import { startEchoServer, startServer, toBuffer, type TestServer } from './servers.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function recorderFor(upstream: string, lines: string[] = []): Promise<Recorder> {
  const rec = await startRecorder({ upstream, listen: '127.0.0.1:0', onFrame: (l) => lines.push(l) });
  cleanups.push(() => rec.stop());
  return rec;
}

async function server(s: Promise<TestServer>): Promise<TestServer> {
  const srv = await s;
  cleanups.push(() => srv.close());
  return srv;
}

/** A client that queues what it receives, so a test can await the next frame. */
function client(url: string, protocols: string[] = [], headers: Record<string, string> = {}) {
  const ws = new WebSocket(url, protocols, { headers });
  const inbox: { data: Buffer; isBinary: boolean }[] = [];
  let wake: (() => void) | undefined;
  ws.on('message', (d: RawData, isBinary: boolean) => {
    inbox.push({ data: toBuffer(d), isBinary });
    wake?.();
  });
  cleanups.push(async () => ws.terminate());
  return {
    ws,
    opened: new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    }),
    async next(): Promise<{ data: Buffer; isBinary: boolean }> {
      while (inbox.length === 0) await new Promise<void>((r) => (wake = r));
      return inbox.shift()!;
    },
    closed: new Promise<number>((resolve) => ws.once('close', (code) => resolve(code))),
  };
}

describe('startRecorder', () => {
  it('relays text and binary both ways unchanged, with the subprotocol and headers the server needs, and records the flow', async () => {
    const upstream = await server(
      startServer(
        (ws) => {
          ws.send(JSON.stringify({ type: 'welcome', sessionId: '5d0c9a1e-2f3b-4c4d-8e5f-6a7b8c9d0e1f' }));
          ws.on('message', (d: RawData, isBinary: boolean) => {
            const bytes = toBuffer(d);
            ws.send(isBinary ? Buffer.concat([bytes, Buffer.from([0xff])]) : `echo ${bytes.toString()}`, { binary: isBinary });
          });
        },
        { handleProtocols: (offered) => (offered.has('chat.v2') ? 'chat.v2' : false) },
      ),
    );
    const lines: string[] = [];
    const rec = await recorderFor(`${upstream.url}/ignored`, lines);
    const c = client(`${rec.listenUrl}/chat?room=7`, ['chat.v1', 'chat.v2'], {
      Authorization: 'Bearer proxy-secret-token-1234',
      Origin: 'http://app.example.test',
    });
    await c.opened;
    expect(c.ws.protocol).toBe('chat.v2'); // the server's choice reached the client

    const welcome = await c.next();
    expect(JSON.parse(welcome.data.toString())).toMatchObject({ type: 'welcome' });
    c.ws.send('hi ✓');
    expect((await c.next()).data.toString()).toBe('echo hi ✓');
    c.ws.send(Buffer.from([0, 1, 2]), { binary: true });
    const bin = await c.next();
    expect(bin.isBinary).toBe(true);
    expect([...bin.data]).toEqual([0, 1, 2, 0xff]);
    c.ws.close(4001, 'bye');
    expect(await c.closed).toBe(4001);

    // What the server saw: the client's path and query, credentials and origin, the frames as sent.
    const hs = upstream.handshakes[0]!;
    expect(hs.url).toBe('/chat?room=7');
    expect(hs.headers.authorization).toBe('Bearer proxy-secret-token-1234');
    expect(hs.headers.origin).toBe('http://app.example.test');
    expect(hs.headers['sec-websocket-protocol']?.split(/,\s*/)).toEqual(['chat.v1', 'chat.v2']);
    expect(upstream.received.map((r) => [r.isBinary, r.data.toString('hex')])).toEqual([
      [false, Buffer.from('hi ✓').toString('hex')],
      [true, '000102'],
    ]);
    await expect.poll(() => upstream.closes).toEqual([{ code: 4001, reason: 'bye' }]);

    const [flow] = rec.flows();
    expect(flow!.url).toBe(`${upstream.url}/chat?room=7`);
    expect(flow!.subprotocols).toEqual(['chat.v1', 'chat.v2']);
    expect(flow!.frames.map((f) => [f.direction, f.opcode, f.data, f.index])).toEqual([
      ['receive', 1, JSON.stringify({ type: 'welcome', sessionId: '5d0c9a1e-2f3b-4c4d-8e5f-6a7b8c9d0e1f' }), 0],
      ['send', 1, 'hi ✓', 1],
      ['receive', 1, 'echo hi ✓', 2],
      ['send', 2, 'AAEC', 3],
      ['receive', 2, 'AAEC/w==', 4],
    ]);
    const times = flow!.frames.map((f) => f.timeMs);
    expect(times).toEqual([...times].sort((a, b) => a - b));
    expect(times[0]!).toBeGreaterThanOrEqual(flow!.startedAtMs);

    expect(lines.filter((l) => l.startsWith('→ #1'))).toEqual([expect.stringMatching(/^→ #1 \+\d+\.\d{3}s hi ✓$/), expect.stringMatching(/binary 3 B$/)]);
    expect(lines.filter((l) => l.startsWith('← #1'))).toHaveLength(3);

    const g = generateScenario(rec.flows(), { timing: 'keep', origin: 'volley record' });
    expect(g.yaml).not.toContain('proxy-secret-token-1234');
    expect(g.envVars).toEqual(['AUTH_TOKEN']);
    expect(g.yaml).toContain(`target: ${upstream.url}/chat?room=7`);
    expect(g.yaml).toContain('  - send: { binary: AAEC }\n    expect: { binary: AAEC/w== }');
  });

  it('records one flow per client connection', async () => {
    const upstream = await server(startEchoServer());
    const rec = await recorderFor(upstream.url);
    for (const text of ['one', 'two']) {
      const c = client(rec.listenUrl);
      await c.opened;
      c.ws.send(text);
      expect((await c.next()).data.toString()).toBe(text);
      c.ws.close();
      await c.closed;
    }
    const flows = rec.flows();
    expect(flows.map((f) => f.source)).toEqual(['client connection #1', 'client connection #2']);
    expect(flows.map((f) => f.frames.map((x) => x.data))).toEqual([['one', 'one'], ['two', 'two']]);
    expect(flows[0]!.url).toBe(`${upstream.url}/`);
  });

  it("passes the server's refusal to the client, and answers 502 when the server is down", async () => {
    const refusing = await server(startEchoServer({ refuseWith: 403 }));
    const refusedLines: string[] = [];
    const rec = await recorderFor(refusing.url, refusedLines);
    const status = await new Promise<number>((resolve) => {
      const ws = new WebSocket(rec.listenUrl);
      ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      ws.on('error', () => resolve(-1));
    });
    expect(status).toBe(403);
    await expect.poll(() => refusedLines).toEqual([expect.stringMatching(/^! #1 ws:\/\/127\.0\.0\.1:\d+\/ refused the handshake: 403/)]);

    const gone = await startEchoServer();
    const goneUrl = gone.url;
    await gone.close();
    const lines: string[] = [];
    const rec2 = await recorderFor(goneUrl, lines);
    const status2 = await new Promise<number>((resolve) => {
      const ws = new WebSocket(rec2.listenUrl);
      ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      ws.on('error', () => resolve(-1));
    });
    expect(status2).toBe(502);
    expect(lines.some((l) => l.startsWith('! #1'))).toBe(true);
    expect(rec.flows()).toEqual([]);
  });

  it('stop() closes open connections with 1001 on both legs', async () => {
    const upstream = await server(startEchoServer());
    const rec = await startRecorder({ upstream: upstream.url, listen: '127.0.0.1:0' });
    const c = client(rec.listenUrl);
    await c.opened;
    await rec.stop();
    expect(await c.closed).toBe(1001);
    await expect.poll(() => upstream.closes.map((x) => x.code)).toEqual([1001]);
  });

  it('rejects a bad --upstream, a bad --listen and a port in use with one-line errors', async () => {
    await expect(startRecorder({ upstream: 'nope' })).rejects.toThrow('--upstream nope: not a URL (expected ws://HOST:PORT/PATH)');
    await expect(startRecorder({ upstream: 'ftp://x/' })).rejects.toThrow('--upstream ftp://x/: expected a ws:// or wss:// URL');
    expect(() => parseListen('localhost')).toThrow(VolleyError);
    expect(parseListen('9000')).toEqual({ host: '127.0.0.1', port: 9000 });
    expect(parseListen('[::1]:0')).toEqual({ host: '::1', port: 0 });
    const first = await recorderFor('ws://127.0.0.1:1');
    const port = new URL(first.listenUrl).port;
    await expect(startRecorder({ upstream: 'ws://127.0.0.1:1', listen: `127.0.0.1:${port}` })).rejects.toThrow(
      `--listen 127.0.0.1:${port}: cannot listen (address already in use)`,
    );
  });

  it('maps the client path onto the upstream URL unless the client asked for a bare /', () => {
    const up = new URL('ws://10.0.0.1:9001/socket?v=2');
    expect(upstreamUrlFor(up, '/')).toBe('ws://10.0.0.1:9001/socket?v=2');
    expect(upstreamUrlFor(up, '/chat?room=1')).toBe('ws://10.0.0.1:9001/chat?room=1');
  });
});
