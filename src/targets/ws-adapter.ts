// WebSocket side of a target: upgrades on any path of the target's HTTP server go to one
// `noServer` WebSocketServer, and each socket is wrapped as a ClientConnection for the app.
// Listeners are module-level functions that find their connection through a symbol back-link
// (as ws does), so a connection costs one object, not a set of closures.

import type { IncomingMessage, Server as HttpServer } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import type { Duplex } from 'node:stream';
import { WebSocket, WebSocketServer, type RawData } from 'ws';
import { newConnectionId, type TargetCounters } from './counters.js';
import type { ClientConnection, ConnectionHandler, TargetApp } from './types.js';

export interface WsAdapterOptions {
  /** Largest message accepted from a client; larger ones close it with 1009. */
  maxPayloadBytes: number;
  /** A client that lets this much pile up unsent (it does not read) is dropped. */
  maxBufferedBytes: number;
}

const kConnection = Symbol('volley.targetConnection');

interface LinkedWebSocket extends WebSocket {
  [kConnection]?: WsConnection;
}

class WsConnection implements ClientConnection {
  readonly id = newConnectionId();
  readonly transport = 'ws' as const;
  readonly query: URLSearchParams;
  handler: ConnectionHandler | undefined;
  private closed = false;

  constructor(
    private readonly ws: WebSocket,
    req: IncomingMessage,
    private readonly counters: TargetCounters,
    private readonly maxBufferedBytes: number,
  ) {
    this.query = new URL(req.url ?? '/', 'http://target').searchParams;
  }

  get isOpen(): boolean {
    return !this.closed && this.ws.readyState === WebSocket.OPEN;
  }

  send(frame: string | Uint8Array): void {
    if (!this.isOpen) return;
    if (this.ws.bufferedAmount > this.maxBufferedBytes) {
      // Bounded memory: a client that stopped reading does not get an unbounded queue.
      this.ws.terminate();
      return;
    }
    this.ws.send(frame, { binary: typeof frame !== 'string' });
    this.counters.framesSent++;
  }

  close(code: number, reason: string): void {
    if (this.ws.readyState === WebSocket.OPEN || this.ws.readyState === WebSocket.CONNECTING) {
      this.ws.close(code, reason);
    }
  }

  /** Runs once, from the socket's 'close'. */
  ended(): void {
    if (this.closed) return;
    this.closed = true;
    this.counters.connectionClosed();
    const h = this.handler;
    this.handler = undefined;
    if (h) safely(() => h.onClose());
  }

  received(data: RawData, isBinary: boolean): void {
    this.counters.framesReceived++;
    const h = this.handler;
    if (!h) return;
    // binaryType is 'nodebuffer' (the default), so data is one Buffer.
    const buf = data as Buffer;
    const frame = isBinary ? buf : buf.toString('utf8');
    safely(() => h.onFrame(frame));
  }
}

/** An app bug must cost one frame, not the whole target. */
function safely(fn: () => void): void {
  try {
    fn();
  } catch {
    // Swallowed on purpose: the target keeps serving other clients.
  }
}

function wsOnMessage(this: LinkedWebSocket, data: RawData, isBinary: boolean): void {
  this[kConnection]?.received(data, isBinary);
}

function wsOnClose(this: LinkedWebSocket): void {
  this[kConnection]?.ended();
}

function wsOnError(this: LinkedWebSocket): void {
  // Protocol errors (bad masks, oversize frames) end up in 'close'; nothing to do here, but the
  // listener must exist or the error would crash the process.
}

export interface WsAdapter {
  /** Terminates every open WebSocket. */
  closeAll(): void;
}

export function attachWebSocket(
  server: HttpServer | HttpsServer,
  app: TargetApp,
  counters: TargetCounters,
  options: WsAdapterOptions,
): WsAdapter {
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: options.maxPayloadBytes,
    perMessageDeflate: false,
    clientTracking: true,
  });

  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    // ws validates the handshake and answers 400 itself; it also destroys the socket on error.
    wss.handleUpgrade(req, socket, head, (ws) => {
      const linked = ws as LinkedWebSocket;
      const conn = new WsConnection(ws, req, counters, options.maxBufferedBytes);
      linked[kConnection] = conn;
      ws.on('message', wsOnMessage);
      ws.on('close', wsOnClose);
      ws.on('error', wsOnError);
      counters.connectionOpened();
      try {
        conn.handler = app.open(conn);
      } catch {
        ws.close(1011, 'target error');
      }
    });
  });

  return {
    closeAll(): void {
      for (const ws of wss.clients) ws.terminate();
      wss.close();
    },
  };
}
