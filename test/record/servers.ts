// Real ws servers that behave like the recordings in test/fixtures/har, so a scenario generated
// from a recording can be run against them by `volley run`. Each counts what it saw and what it
// sent, so tests reconcile the engine's counters with the server's view.

import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';

export interface TestServer {
  url: string; // ws://127.0.0.1:PORT
  wss: WebSocketServer;
  /** Handshake requests, in order. */
  handshakes: IncomingMessage[];
  /** Frames received from clients. */
  received: { data: Buffer; isBinary: boolean }[];
  closes: { code: number; reason: string }[];
  /** Frames sent to clients (every ws.send of every connection). */
  framesSent: number;
  close(): Promise<void>;
}

export async function startServer(
  onConnection: (ws: WebSocket, req: IncomingMessage, server: TestServer) => void,
  options: { handleProtocols?: (offered: Set<string>) => string | false; refuseWith?: number } = {},
): Promise<TestServer> {
  const wss = new WebSocketServer({
    host: '127.0.0.1',
    port: 0,
    handleProtocols: options.handleProtocols ? (offered) => options.handleProtocols!(offered) : undefined,
    verifyClient: options.refuseWith ? (_info, cb) => cb(false, options.refuseWith) : undefined,
  });
  await new Promise<void>((resolve) => wss.once('listening', () => resolve()));
  const server: TestServer = {
    url: `ws://127.0.0.1:${(wss.address() as AddressInfo).port}`,
    wss,
    handshakes: [],
    received: [],
    closes: [],
    framesSent: 0,
    close: () =>
      new Promise<void>((resolve) => {
        for (const c of wss.clients) c.terminate();
        wss.close(() => resolve());
      }),
  };
  wss.on('connection', (ws, req) => {
    server.handshakes.push(req);
    // Counted at the one place every server's frames go through, so no handler can forget it.
    const send = ws.send.bind(ws);
    ws.send = ((...args: Parameters<typeof ws.send>) => {
      server.framesSent++;
      send(...args);
    }) as typeof ws.send;
    ws.on('message', (data: RawData, isBinary: boolean) => server.received.push({ data: toBuffer(data), isBinary }));
    ws.on('close', (code, reason) => server.closes.push({ code, reason: reason.toString() }));
    onConnection(ws, req, server);
  });
  return server;
}

/** Like correlation.har: issues a session id in its first frame and answers only when it comes back. */
export function startSessionServer(): Promise<TestServer> {
  return startServer((ws) => {
    const sid = `sess-${randomBytes(10).toString('hex')}`;
    ws.send(JSON.stringify({ type: 'hello', sid }));
    ws.on('message', (data: RawData, isBinary: boolean) => {
      if (isBinary) return;
      const text = toBuffer(data).toString('utf8');
      if (text.startsWith('echo:')) {
        const [, got, ...rest] = text.split(':');
        ws.send(got === sid ? `${sid}:${rest.join(':')}` : 'denied');
        return;
      }
      const msg = JSON.parse(text) as { type?: string; sid?: string };
      if (msg.type === 'auth') ws.send(JSON.stringify(msg.sid === sid ? { type: 'ok', sid } : { type: 'denied' }));
    });
  });
}

/** Like binary.har: echoes text, and binary with a 0 byte appended. */
export function startEchoServer(options: Parameters<typeof startServer>[1] = {}): Promise<TestServer> {
  return startServer((ws) => {
    ws.on('message', (data: RawData, isBinary: boolean) => {
      const bytes = toBuffer(data);
      ws.send(isBinary ? Buffer.concat([bytes, Buffer.from([0])]) : bytes.toString('utf8'), { binary: isBinary });
    });
  }, options);
}

export function toBuffer(data: RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}

/** Like out-of-order.har: a JSON-RPC server that pushes two notifications before each result. */
export function startRpcServer(): Promise<TestServer> {
  return startServer((ws) => {
    let n = 0;
    ws.on('message', (data: RawData) => {
      const req = JSON.parse(toBuffer(data).toString('utf8')) as { id?: number; method?: string };
      ws.send(JSON.stringify({ jsonrpc: '2.0', method: 'tick', params: { n: ++n } }));
      ws.send(JSON.stringify({ jsonrpc: '2.0', method: 'presence', params: { online: 1 + (n % 3) } }));
      ws.send(JSON.stringify({ jsonrpc: '2.0', id: req.id, result: { balance: Math.round(Math.random() * 100), currency: 'EUR' } }));
      ws.send(JSON.stringify({ jsonrpc: '2.0', method: 'tick', params: { n: ++n } }));
    });
  });
}

/** Like firefox-prices.har: subscribe -> subscribed (echoing requestId), then one price push. */
export function startPricesServer(): Promise<TestServer> {
  return startServer(
    (ws) => {
      ws.on('message', (data: RawData) => {
        const req = JSON.parse(toBuffer(data).toString('utf8')) as { op?: string; channel?: string; requestId?: string };
        if (req.op !== 'subscribe') return;
        ws.send(JSON.stringify({ op: 'subscribed', channel: req.channel, requestId: req.requestId }));
        ws.send(JSON.stringify({ op: 'price', channel: req.channel, symbol: 'ACME', price: 90 + Math.random() * 20, ts: Date.now() }));
      });
    },
    { handleProtocols: (offered) => (offered.has('json') ? 'json' : false) },
  );
}

/** The kinds of frame startPushServer sends after a `subscribe`, in the order it sends them. */
export type PushFrame = 'presence' | 'heartbeat' | 'subscribed';

/** Like pushes.har (the audit's reproduction): requires subprotocol chat.v1; `auth` gets a
 *  welcome with a fresh session id, which `subscribe` must carry back; `subscribe` is answered by
 *  the frames `order()` names, in that order (the reply `subscribed` and two unrelated pushes,
 *  presence and heartbeat); `ping` gets `pong`, binary frames are echoed. `order` is read per
 *  subscribe, so one server can record in one order and be replayed in another. */
export function startPushServer(order: () => PushFrame[]): Promise<TestServer> {
  return startServer(
    (ws) => {
      const sid = `s-${randomBytes(4).toString('hex')}`;
      ws.on('message', (data: RawData, isBinary: boolean) => {
        if (isBinary) return ws.send(toBuffer(data), { binary: true });
        const text = toBuffer(data).toString('utf8');
        if (text === 'ping') return ws.send('pong');
        let msg: { type?: string; channel?: string; sessionId?: string };
        try {
          msg = JSON.parse(text) as typeof msg;
        } catch {
          return ws.send(JSON.stringify({ type: 'error', why: 'bad json' }));
        }
        if (msg.type === 'auth') return ws.send(JSON.stringify({ type: 'welcome', sessionId: sid, serverTime: Date.now() }));
        if (msg.type === 'subscribe') {
          if (msg.sessionId !== sid) return ws.send(JSON.stringify({ type: 'error', why: `wrong session ${msg.sessionId}` }));
          for (const kind of order()) {
            if (kind === 'presence') ws.send(JSON.stringify({ type: 'presence', count: Math.floor(Math.random() * 10) }));
            if (kind === 'heartbeat') ws.send(JSON.stringify({ type: 'heartbeat', at: Date.now() }));
            if (kind === 'subscribed') ws.send(JSON.stringify({ type: 'subscribed', channel: msg.channel, id: `sub-${randomBytes(3).toString('hex')}` }));
          }
          return;
        }
        ws.send(JSON.stringify({ type: 'error', why: 'unknown' }));
      });
    },
    { handleProtocols: (offered) => (offered.has('chat.v1') ? 'chat.v1' : false) },
  );
}
