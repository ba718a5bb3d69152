// Text matchers on binary frames. A `ws` server that echoes the Buffer it received
// (`ws.on('message', (d) => ws.send(d))`, the shortest echo there is) answers every text frame
// with a binary frame of the same bytes; `text`, `match`, `json` and regex captures read such a
// frame as UTF-8. Bytes that are not UTF-8 match no text matcher.

import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import { runScenario } from '../../src/engine/coordinator.js';
import { counter, trendCount } from '../helpers/metrics.js';

let close: (() => Promise<void>) | undefined;
afterEach(async () => {
  await close?.();
  close = undefined;
});

/** Echoes every frame back as binary (the Buffer ws handed over), plus a non-UTF-8 frame first if asked. */
async function startBufferEcho(opts: { junkFirst?: boolean } = {}): Promise<{ url: string; received: () => number }> {
  const httpServer = http.createServer();
  const wss = new WebSocketServer({ server: httpServer });
  await new Promise<void>((r) => httpServer.listen(0, '127.0.0.1', r));
  let received = 0;
  wss.on('connection', (ws) => {
    ws.on('message', (data: Buffer) => {
      received++;
      if (opts.junkFirst) ws.send(Buffer.from([0xff, 0xfe, 0x68, 0x69]));
      ws.send(data);
    });
  });
  close = async () => {
    for (const c of wss.clients) c.terminate();
    await new Promise<void>((r) => wss.close(() => r()));
    await new Promise<void>((r) => httpServer.close(() => r()));
  };
  return { url: `ws://127.0.0.1:${(httpServer.address() as AddressInfo).port}/`, received: () => received };
}

describe('text matchers read binary frames as UTF-8', () => {
  it('text, match, json and captures all match a Buffer echo', async () => {
    const server = await startBufferEcho();
    const source = `
name: buffer-echo
target: ${server.url}
load: {connections: 2}
steps:
  - send: "héllo \${vu}"
    expect: {text: "héllo \${vu}", strict: true, timeout: 2s}
    name: text
  - send: "order 42 ok"
    expect: {match: "order (\\\\d+)", capture: {n: {regex: "order (\\\\d+)"}}, strict: true, timeout: 2s}
    name: regex
  - send: {json: {type: ack, n: "\${n}"}}
    expect: {json: {type: ack, n: "42"}, capture: {t: $.type}, strict: true, timeout: 2s}
    name: json
  - send: "got \${t}"
    expect: {text: "got ack", strict: true, timeout: 2s}
    name: captured
`;
    const { report } = await runScenario({ file: '<inline>', source, workers: 1 });
    expect(counter(report.metrics, 'errors')).toBe(0);
    for (const name of ['text', 'regex', 'json', 'captured']) expect(trendCount(report.metrics, `latency{name:${name}}`), name).toBe(2);
    expect(counter(report.metrics, 'frames_sent')).toBe(server.received());
  });

  it('bytes that are not UTF-8 match no text matcher: skipped, and the echo after them matches', async () => {
    const server = await startBufferEcho({ junkFirst: true });
    const source = `
name: junk
target: ${server.url}
load: {connections: 1}
steps:
  - send: "hi"
    expect: {match: "h", timeout: 2s}
    name: hi
`;
    const { report } = await runScenario({ file: '<inline>', source, workers: 1 });
    expect(counter(report.metrics, 'errors')).toBe(0);
    expect(counter(report.metrics, 'frames_skipped')).toBe(1);
    expect(trendCount(report.metrics, 'latency{name:hi}')).toBe(1);
  });
});
