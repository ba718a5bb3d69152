// The target's own counts must agree with what real clients did, so other tests can reconcile
// volley's counters with the server's: frames by count, bytes by the client sockets' own
// bytesWritten/bytesRead (handshake, HTTP headers and framing included).

import { afterEach, describe, expect, it } from 'vitest';
import { startTarget, type RunningTarget } from '../../src/targets/index.js';
import { LpClient, WsClient, waitFor } from './helpers.js';

let target: RunningTarget | undefined;
afterEach(async () => {
  await target?.close();
  target = undefined;
});

describe('target stats', () => {
  it('count WebSocket frames and socket bytes exactly as the clients saw them', async () => {
    target = await startTarget('echo');
    const t = target;
    const clients = await Promise.all([WsClient.open(t.url), WsClient.open(t.url), WsClient.open(t.url)]);
    expect(t.stats()).toMatchObject({ connections: 3, openConnections: 3 });
    clients.forEach((c, i) => {
      for (let k = 0; k <= i; k++) c.send(k % 2 ? Buffer.alloc(300 + k, 7) : `frame ${i}/${k}`);
    });
    await Promise.all(clients.map((c, i) => c.next(i + 1)));
    const sent = 1 + 2 + 3;
    expect(t.stats()).toMatchObject({ framesReceived: sent, framesSent: sent });
    for (const c of clients) await c.close();

    const written = clients.reduce((n, c) => n + c.socket!.bytesWritten, 0);
    const read = clients.reduce((n, c) => n + c.socket!.bytesRead, 0);
    expect(written).toBeGreaterThan(0);
    // The server sees the last close frame a moment after the client's socket is gone.
    await waitFor(() => t.stats().openConnections === 0 && t.stats().bytesReceived === written);
    expect(t.stats()).toMatchObject({
      connections: 3,
      openConnections: 0,
      bytesReceived: written,
      bytesSent: read,
    });
  });

  it('count long-poll frames and socket bytes (headers included) exactly as the clients saw them', async () => {
    target = await startTarget('echo', { pollTimeoutMs: 2000 });
    const t = target;
    const a = new LpClient(t.longPollUrl);
    const b = new LpClient(t.longPollUrl);
    await a.send('one');
    await a.send(Buffer.from([1, 2, 3]));
    await b.send('two');
    await a.pollUntil(2);
    await b.pollUntil(1);
    await a.request('GET', 'ping');
    expect(t.stats()).toMatchObject({ connections: 2, openConnections: 2, framesReceived: 3, framesSent: 3 });
    await a.request('POST', 'close');
    await b.request('POST', 'close');
    expect(t.stats().openConnections).toBe(0);

    const written = a.bytesWritten + b.bytesWritten;
    const read = a.bytesRead + b.bytesRead;
    // Every request and response is complete, so both sides have counted everything already.
    expect(t.stats()).toMatchObject({ bytesReceived: written, bytesSent: read });
    await a.destroy();
    await b.destroy();
    expect(t.stats()).toMatchObject({ bytesReceived: written, bytesSent: read });
  });

  it('count a WebSocket client and a long-poll client in one chat room together', async () => {
    target = await startTarget('chat', { pollTimeoutMs: 2000 });
    const t = target;
    const w = await WsClient.open(t.url);
    const l = new LpClient(t.longPollUrl);
    w.send(JSON.stringify({ type: 'join', room: 'r', user: 'w' }));
    await w.next(1);
    await l.send(JSON.stringify({ type: 'join', room: 'r', user: 'l' }));
    await l.send(JSON.stringify({ type: 'say', text: 'hi' }));
    await l.pollUntil(2);
    await w.next(2);
    // Received: 2 joins + 1 say; sent: 2 joined + the message to both members.
    expect(t.stats()).toMatchObject({ connections: 2, framesReceived: 3, framesSent: 4 });
    await w.close();
    await l.request('POST', 'close');
    await l.destroy();
    const written = w.socket!.bytesWritten + l.bytesWritten;
    const read = w.socket!.bytesRead + l.bytesRead;
    await waitFor(() => t.stats().openConnections === 0 && t.stats().bytesReceived === written);
    expect(t.stats()).toMatchObject({ openConnections: 0, bytesReceived: written, bytesSent: read });
  });
});
