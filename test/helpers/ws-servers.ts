// Outside WebSocket servers written for the tests (not the embedded targets): each counts what
// it saw on its own sockets, so tests reconcile volley's numbers with the server's.

import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { WebSocketServer } from 'ws';
import type WebSocket from 'ws';

export interface CountingServer {
  url: string;
  port: number;
  framesReceived: number;
  framesSent: number;
  connections: number;
  bytesRead(): number;
  bytesWritten(): number;
  close(): Promise<void>;
}

export interface CountingServerOptions {
  /** Runs for each new connection, before any frame (a greeting, a ping listener). */
  onConnection?: (ws: WebSocket, server: CountingServer) => void;
  /** ws answers pings by itself unless this is false. */
  autoPong?: boolean;
}

/** Starts a ws server on 127.0.0.1:0; `onFrame` decides what to answer to each frame. */
export async function startCountingServer(
  onFrame: (ws: WebSocket, data: Buffer, isBinary: boolean, server: CountingServer) => void,
  options: CountingServerOptions = {},
): Promise<CountingServer> {
  const httpServer = http.createServer();
  const sockets = new Set<Socket>();
  let closedRead = 0;
  let closedWritten = 0;
  httpServer.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => {
      closedRead += s.bytesRead;
      closedWritten += s.bytesWritten;
      sockets.delete(s);
    });
  });
  const wss = new WebSocketServer({ server: httpServer, autoPong: options.autoPong ?? true });
  await new Promise<void>((r) => httpServer.listen(0, '127.0.0.1', r));
  const port = (httpServer.address() as AddressInfo).port;
  const state: CountingServer = {
    url: `ws://127.0.0.1:${port}/`,
    port,
    framesReceived: 0,
    framesSent: 0,
    connections: 0,
    bytesRead: () => closedRead + [...sockets].reduce((a, s) => a + s.bytesRead, 0),
    bytesWritten: () => closedWritten + [...sockets].reduce((a, s) => a + s.bytesWritten, 0),
    close: async () => {
      for (const c of wss.clients) c.terminate();
      await new Promise<void>((r) => wss.close(() => r()));
      await new Promise<void>((r) => httpServer.close(() => r()));
    },
  };
  wss.on('connection', (ws) => {
    state.connections++;
    options.onConnection?.(ws, state);
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      state.framesReceived++;
      onFrame(ws, data, isBinary, state);
    });
  });
  return state;
}

/** Sends one frame and counts it; a connection that is closing takes no more frames (ws drops them). */
export function reply(ws: WebSocket, server: CountingServer, data: string | Buffer, binary = false): void {
  if (ws.readyState !== ws.OPEN) return;
  server.framesSent++;
  ws.send(data, { binary });
}
