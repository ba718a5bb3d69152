// A real socket.io Server for the transport's tests (not the embedded target: the tests check
// the client against an unmodified server configured per test), which counts the bytes of
// every TCP socket it accepted, and a sink that records what a transport delivered.

import http from 'node:http';
import https from 'node:https';
import type net from 'node:net';
import { Server, type ServerOptions } from 'socket.io';
import type { CloseInfo, InboundFrame, TransportOptions, TransportSink } from '../../src/transport/types.js';

export interface TestSocketIoServer {
  io: Server;
  url: string; // http(s)://127.0.0.1:PORT
  port: number;
  bytesRead(): number;
  bytesWritten(): number;
  openSockets(): number;
  /** Resolves once every accepted TCP socket has closed; rejects after timeoutMs. */
  socketsClosed(timeoutMs: number): Promise<void>;
  close(): Promise<void>;
}

export async function startSocketIoServer(
  options: Partial<ServerOptions> & { tls?: { cert: string; key: string } } = {},
): Promise<TestSocketIoServer> {
  const { tls, ...ioOptions } = options;
  const server = tls ? https.createServer({ cert: tls.cert, key: tls.key }) : http.createServer();
  const sockets: net.Socket[] = [];
  // 'connection' hands out the TCP socket (before TLS for https): the wire-level counts.
  server.on('connection', (socket: net.Socket) => sockets.push(socket));
  const io = new Server(server, { transports: ['polling', 'websocket'], ...ioOptions });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  const open = (): net.Socket[] => sockets.filter((s) => !s.destroyed);
  return {
    io,
    url: `${tls ? 'https' : 'http'}://127.0.0.1:${port}`,
    port,
    bytesRead: () => sockets.reduce((n, s) => n + s.bytesRead, 0),
    bytesWritten: () => sockets.reduce((n, s) => n + s.bytesWritten, 0),
    openSockets: () => open().length,
    socketsClosed: (timeoutMs) =>
      waitFor(() => sockets.every((s) => s.closed), timeoutMs, () => `${open().length} server sockets still open`),
    close: () =>
      new Promise<void>((resolve) => {
        void io.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

export class RecordingSink implements TransportSink {
  readonly frames: InboundFrame[] = [];
  readonly closes: CloseInfo[] = [];

  onFrame(frame: InboundFrame): void {
    this.frames.push(frame);
  }

  onClose(info: CloseInfo): void {
    this.closes.push(info);
  }

  /** The first frame (from `from` on) with this event name; waits at most timeoutMs. */
  async frame(event: string, timeoutMs = 2000, from = 0): Promise<InboundFrame> {
    let found: InboundFrame | undefined;
    await waitFor(
      () => (found = this.frames.slice(from).find((f) => f.event === event)) !== undefined,
      timeoutMs,
      () => `no "${event}" event; got ${this.frames.map((f) => f.event).join(', ') || 'nothing'}`,
    );
    return found!;
  }

  async closed(timeoutMs = 2000): Promise<CloseInfo> {
    await waitFor(() => this.closes.length > 0, timeoutMs, () => 'no close reported');
    return this.closes[0]!;
  }
}

/** Polls a condition every 5 ms, bounded by timeoutMs. */
export async function waitFor(condition: () => boolean, timeoutMs: number, describe: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs}ms: ${describe()}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

export function transportOptions(
  url: string,
  transports: ('websocket' | 'polling')[],
  extra: Partial<TransportOptions> & { namespace?: string; auth?: unknown; query?: Record<string, string> } = {},
): TransportOptions {
  const { namespace, auth, query, ...rest } = extra;
  const options: TransportOptions = {
    url,
    headers: {},
    subprotocols: [],
    handshakeTimeoutMs: 3000,
    perMessageDeflate: false,
    maxPayloadBytes: 100 * 1024 * 1024,
    socketio: { path: '/socket.io', namespace: namespace ?? '/', transports, query: query ?? {} },
    ...rest,
  };
  if (auth !== undefined) options.socketio!.auth = auth;
  return options;
}

export function caught(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => new Error('expected a rejection'),
    (err: unknown) => err,
  );
}

export const TRANSPORT_SETS: { label: string; transports: ('websocket' | 'polling')[] }[] = [
  { label: 'websocket only', transports: ['websocket'] },
  { label: 'polling only', transports: ['polling'] },
  { label: 'polling with upgrade', transports: ['polling', 'websocket'] },
];
