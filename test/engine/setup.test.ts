import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import { runScenario } from '../../src/engine/coordinator.js';
import type { CounterJson } from '../../src/report/types.js';

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (closers.length) await closers.pop()!();
});

/** One server: POST /login issues a token; the WebSocket upgrade accepts only that token. */
async function startAuthServer(): Promise<{ http: string; ws: string; seenTokens: string[]; logins: number }> {
  const state = { http: '', ws: '', seenTokens: [] as string[], logins: 0 };
  const server = http.createServer((req, res) => {
    if (req.method === 'POST' && req.url === '/login') {
      state.logins++;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ token: 'tok-42', user: { id: 7 } }));
      return;
    }
    res.writeHead(404).end();
  });
  const wss = new WebSocketServer({
    server,
    verifyClient: (info: { req: http.IncomingMessage }) => {
      const auth = info.req.headers.authorization ?? '';
      state.seenTokens.push(auth);
      return auth === 'Bearer tok-42';
    },
  });
  wss.on('connection', (ws) => ws.on('message', (d, isBinary) => ws.send(d, { binary: isBinary })));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  state.http = `http://127.0.0.1:${port}`;
  state.ws = `ws://127.0.0.1:${port}/`;
  closers.push(async () => {
    for (const c of wss.clients) c.terminate();
    await new Promise<void>((r) => server.close(() => r()));
  });
  return state;
}

describe('setup requests run once before the load', () => {
  it('a token fetched by setup authorises every session', async () => {
    const s = await startAuthServer();
    const source = `
name: setup-token
target: ${s.ws}
setup:
  - request: {method: POST, url: "${s.http}/login", body: '{"user":"a"}'}
    capture: {token: $.token, uid: $.user.id}
connect: {headers: {Authorization: "Bearer \${token}"}}
load: {connections: 4}
steps:
  - send: "user \${uid}"
    expect: {text: "user 7", timeout: 2s}
    name: hello
`;
    const { report } = await runScenario({ file: '<inline>', source, workers: 2 });
    expect(s.logins).toBe(1);
    expect(s.seenTokens).toEqual(['Bearer tok-42', 'Bearer tok-42', 'Bearer tok-42', 'Bearer tok-42']);
    expect((report.metrics['sessions_completed'] as CounterJson).count).toBe(4);
    expect((report.metrics['errors'] as CounterJson).count).toBe(0);
  });

  it('a setup request that fails stops the run before any connection, naming the request', async () => {
    const s = await startAuthServer();
    const source = `
name: setup-fails
target: ${s.ws}
setup:
  - request: {method: GET, url: "${s.http}/nope"}
load: {connections: 2}
steps:
  - send: "x"
`;
    await expect(runScenario({ file: '<inline>', source })).rejects.toThrow(/setup request 1 \(GET .*\/nope\) answered HTTP 404/);
    expect(s.seenTokens).toEqual([]);
  });
});
