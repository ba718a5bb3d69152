// Real ws servers on 127.0.0.1:0 for the scale tests: each one behaves like a real server would
// under the condition being tested (a periodic stall, a flood of large frames).
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';
import type { WebSocket } from 'ws';

export interface TestServer {
  url: string;
  close(): Promise<void>;
}

function listen(wss: WebSocketServer, extraClose: () => void): Promise<TestServer> {
  return new Promise((resolve) => {
    wss.on('listening', () => {
      const { port } = wss.address() as AddressInfo;
      resolve({
        url: `ws://127.0.0.1:${port}/`,
        close: () =>
          new Promise<void>((done) => {
            extraClose();
            for (const c of wss.clients) c.terminate();
            wss.close(() => done());
          }),
      });
    });
  });
}

/**
 * An echo server that stops answering for `stallMs` every `periodMs` (the first stall begins
 * `firstStallAtMs` after it starts): frames that arrive during a stall are answered, in order,
 * when it ends, as a server pausing for a GC or a lock would.
 */
export function startStallingEchoServer(opts: { periodMs: number; stallMs: number; firstStallAtMs: number }): Promise<TestServer> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  let stalled = false;
  const held: { ws: WebSocket; data: Buffer; binary: boolean }[] = [];
  const timers: NodeJS.Timeout[] = [];
  const stall = (): void => {
    stalled = true;
    timers.push(
      setTimeout(() => {
        stalled = false;
        for (const h of held.splice(0)) if (h.ws.readyState === h.ws.OPEN) h.ws.send(h.data, { binary: h.binary });
      }, opts.stallMs),
    );
  };
  timers.push(
    setTimeout(() => {
      stall();
      timers.push(setInterval(stall, opts.periodMs));
    }, opts.firstStallAtMs),
  );
  wss.on('connection', (ws) => {
    ws.on('message', (data, binary) => {
      if (stalled) held.push({ ws, data: data as Buffer, binary });
      else ws.send(data as Buffer, { binary });
    });
  });
  return listen(wss, () => {
    for (const t of timers) clearTimeout(t);
  });
}

/** A plain echo server. */
export function startEchoServer(): Promise<TestServer> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  wss.on('connection', (ws) => ws.on('message', (data, binary) => ws.send(data as Buffer, { binary })));
  return listen(wss, () => {});
}

/**
 * Pushes one large JSON text frame (`frameBytes` long) to every client each time its previous
 * one has been written, for `sendForMs`: a feed the client must parse to look for its frame.
 */
export function startJsonFloodServer(opts: { frameBytes: number; sendForMs: number }): Promise<TestServer> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  const items = Math.ceil(opts.frameBytes / 40);
  const frame = Buffer.from(JSON.stringify({ type: 'bulk', items: Array.from({ length: items }, (_, i) => ({ id: i, v: 'x'.repeat(24) })) }));
  let stopAt = 0;
  wss.on('connection', (ws) => {
    if (stopAt === 0) stopAt = Date.now() + opts.sendForMs;
    const pump = (): void => {
      if (ws.readyState !== ws.OPEN || Date.now() > stopAt) return;
      ws.send(frame, { binary: false }, pump);
    };
    pump();
  });
  return listen(wss, () => {});
}

/**
 * Echoes each text frame, then sends one large JSON frame (frameBytes) after the echo: a client
 * that parses it to test a matcher is busy for tens of ms per session.
 */
export function startEchoThenBulkServer(opts: { frameBytes: number }): Promise<TestServer> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  const items = Math.ceil(opts.frameBytes / 40);
  const frame = Buffer.from(JSON.stringify({ type: 'bulk', items: Array.from({ length: items }, (_, i) => ({ id: i, v: 'x'.repeat(24) })) }));
  wss.on('connection', (ws) => {
    ws.on('message', (data, isBinary) => {
      ws.send(data, { binary: isBinary });
      if (ws.readyState === ws.OPEN) ws.send(frame, { binary: false });
    });
  });
  return listen(wss, () => {});
}
