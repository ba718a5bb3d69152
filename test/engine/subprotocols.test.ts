// connect.subprotocols are templates, like headers: a browser that cannot set Authorization on
// a WebSocket passes its token as a subprotocol, and `volley import` writes that token as
// ${env.…}. The server must be offered the rendered values.

import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import { runScenario } from '../../src/engine/coordinator.js';
import { counter } from '../helpers/metrics.js';

let close: (() => Promise<void>) | undefined;
afterEach(async () => {
  await close?.();
  close = undefined;
});

it('subprotocols render ${env.…} and ${vu} per session before they are offered', async () => {
  const httpServer = http.createServer();
  const offered: string[] = [];
  const wss = new WebSocketServer({
    server: httpServer,
    handleProtocols: (protocols) => {
      offered.push([...protocols].join(','));
      return [...protocols][0] ?? false;
    },
  });
  await new Promise<void>((r) => httpServer.listen(0, '127.0.0.1', r));
  close = async () => {
    for (const c of wss.clients) c.terminate();
    await new Promise<void>((r) => wss.close(() => r()));
    await new Promise<void>((r) => httpServer.close(() => r()));
  };
  const source = `
name: token-protocol
target: ws://127.0.0.1:${(httpServer.address() as AddressInfo).port}/
connect: {subprotocols: [access_token, "\${env.WS_TOKEN}", "v\${vu}"]}
load: {connections: 2}
steps:
  - think: 10ms
`;
  const { report } = await runScenario({ file: '<inline>', source, workers: 1, env: { WS_TOKEN: 'tok123' } });
  expect(counter(report.metrics, 'errors')).toBe(0);
  expect(offered.sort()).toEqual(['access_token,tok123,v1', 'access_token,tok123,v2']);
});
