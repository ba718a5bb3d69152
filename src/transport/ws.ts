// The WebSocket transport, a thin layer over the `ws` client. Hot path (STYLE.md, ws): the
// listeners are module-level functions that reach their transport through a symbol back-link
// instead of per-connection closures; frames are stamped on arrival; bytes are read from the
// socket itself (handshake and framing included).

import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import WebSocket from 'ws';
import { classifyConnectError, classifyConnectionError } from './classify.js';
import type { CloseInfo, Transport, TransportOptions, TransportSink } from './types.js';
import { TransportError } from './types.js';

const kTransport = Symbol('volley.transport');

interface TaggedWebSocket extends WebSocket {
  [kTransport]: WsTransport;
}

// Shared send options: no object allocated per frame (ws copies what it needs).
const SEND_BINARY = { binary: true } as const;
const SEND_TEXT = { binary: false } as const;

/** How long a polite close waits with nothing arriving before the socket is destroyed... */
const CLOSE_GRACE_MS = 2000;
/** ...and how long at most while frames queued before the server's close still arrive. */
const CLOSE_MAX_MS = 10_000;

function onMessage(this: WebSocket, data: WebSocket.RawData, isBinary: boolean): void {
  const arrivedAtMs = performance.now();
  const t = (this as TaggedWebSocket)[kTransport];
  const buf = data as Buffer; // binaryType 'nodebuffer' with no fragments array: always a Buffer
  const frame = isBinary
    ? { text: undefined, bytes: buf, arrivedAtMs }
    : { text: buf.toString('utf8'), bytes: undefined, arrivedAtMs };
  if (t.debug) t.debug(`← ${isBinary ? `binary ${buf.length} bytes` : frame.text}`);
  t.sink.onFrame(frame);
}

function onPong(this: WebSocket): void {
  const t = (this as TaggedWebSocket)[kTransport];
  const waiter = t.pongWaiter;
  if (waiter) {
    t.pongWaiter = undefined;
    clearTimeout(waiter.timer);
    waiter.resolve(performance.now() - waiter.sentAtMs);
  }
}

function onClose(this: WebSocket, code: number, reason: Buffer): void {
  (this as TaggedWebSocket)[kTransport].closed(code, reason.toString('utf8'));
}

function onError(this: WebSocket, err: Error): void {
  (this as TaggedWebSocket)[kTransport].failed(err);
}

function onUpgrade(this: WebSocket, res: import('node:http').IncomingMessage): void {
  const t = (this as TaggedWebSocket)[kTransport];
  t.socket = res.socket as Socket;
  if (t.debug) {
    t.debug(`handshake: HTTP/${res.httpVersion} ${res.statusCode} ${res.statusMessage ?? ''}`);
    for (let i = 0; i < res.rawHeaders.length; i += 2) t.debug(`  ${res.rawHeaders[i]}: ${res.rawHeaders[i + 1]}`);
  }
}

interface PongWaiter {
  sentAtMs: number;
  timer: NodeJS.Timeout;
  resolve: (rttMs: number) => void;
}

class WsTransport implements Transport {
  readonly sink: TransportSink;
  readonly options: TransportOptions;
  readonly debug: ((line: string) => void) | undefined;
  ws: TaggedWebSocket | undefined;
  socket: Socket | undefined;
  pongWaiter: PongWaiter | undefined;
  private closeRequested = false;
  private isClosed = false;
  private errorKind: CloseInfo['errorKind'];
  private errorMessage: string | undefined;
  private connectSettled = false;
  private opened = false;
  private connectReject: ((err: TransportError) => void) | undefined;
  private closeWaiters: (() => void)[] = [];

  constructor(options: TransportOptions, sink: TransportSink) {
    this.options = options;
    this.sink = sink;
    this.debug = options.debug;
  }

  get bytesSent(): number {
    return this.socket ? this.socket.bytesWritten : 0;
  }

  get bytesReceived(): number {
    return this.socket ? this.socket.bytesRead : 0;
  }

  get bufferedAmount(): number {
    return this.ws ? this.ws.bufferedAmount : 0;
  }

  get isOpen(): boolean {
    return this.ws !== undefined && this.ws.readyState === WebSocket.OPEN;
  }

  connect(): Promise<void> {
    const o = this.options;
    return new Promise<void>((resolve, reject) => {
      this.connectReject = reject;
      let ws: TaggedWebSocket;
      try {
        ws = new WebSocket(o.url, o.subprotocols, {
          headers: o.headers,
          handshakeTimeout: o.handshakeTimeoutMs,
          perMessageDeflate: o.perMessageDeflate,
          maxPayload: o.maxPayloadBytes,
          localAddress: o.localAddress,
          followRedirects: false,
          ca: o.tls?.ca,
          cert: o.tls?.cert,
          key: o.tls?.key,
          rejectUnauthorized: o.tls ? o.tls.rejectUnauthorized : true,
          servername: o.tls?.servername,
        } as WebSocket.ClientOptions) as TaggedWebSocket;
      } catch (err) {
        const c = classifyConnectError(err, o.url);
        reject(new TransportError(c.kind, c.message));
        return;
      }
      ws[kTransport] = this;
      this.ws = ws;
      if (this.debug) {
        this.debug(`handshake: GET ${o.url}`);
        // Every header the request carries (Host, Sec-WebSocket-Key, … included), as the browser shows them.
        const sent = (ws as unknown as { _req?: import('node:http').ClientRequest })._req;
        if (sent) {
          for (const name of sent.getRawHeaderNames()) {
            const v = sent.getHeader(name);
            this.debug(`  ${name}: ${Array.isArray(v) ? v.join(', ') : String(v)}`);
          }
        } else for (const [k, v] of Object.entries(o.headers)) this.debug(`  ${k}: ${v}`);
      }
      ws.on('upgrade', onUpgrade);
      ws.on('message', onMessage);
      ws.on('pong', onPong);
      ws.on('close', onClose);
      ws.on('error', onError);
      ws.once('open', () => {
        this.opened = true;
        this.connectSettled = true;
        this.connectReject = undefined;
        resolve();
      });
    });
  }

  /** Called from the error listener: during connect it rejects, afterwards it marks the close. */
  failed(err: Error): void {
    if (!this.connectSettled) {
      this.connectSettled = true;
      const c = classifyConnectError(err, this.options.url);
      const reject = this.connectReject;
      this.connectReject = undefined;
      reject?.(new TransportError(c.kind, c.message));
      return;
    }
    if (this.errorKind === undefined) {
      const c = classifyConnectionError(err);
      this.errorKind = c.kind;
      this.errorMessage = c.message;
    }
  }

  closed(code: number, reason: string): void {
    if (this.isClosed) return;
    this.isClosed = true;
    const waiter = this.pongWaiter;
    if (waiter) {
      this.pongWaiter = undefined;
      clearTimeout(waiter.timer);
    }
    if (!this.connectSettled) {
      this.connectSettled = true;
      const reject = this.connectReject;
      this.connectReject = undefined;
      reject?.(new TransportError('handshake_rejected', `connection closed during the handshake with ${this.options.url}`));
    } else if (!this.opened) {
      // The connect already failed and was counted from its error: this close adds nothing.
    } else {
      if (this.debug) this.debug(`closed: ${code}${reason ? ` ${reason}` : ''}`);
      const info: CloseInfo = { code, reason, initiatedByClient: this.closeRequested };
      if (this.errorKind !== undefined) {
        info.errorKind = this.errorKind;
        info.errorMessage = this.errorMessage;
      } else if (!this.closeRequested) {
        if (code === 1006) {
          info.errorKind = 'reset';
          info.errorMessage = 'connection dropped without a close frame (1006)';
        } else {
          info.errorKind = 'closed_by_server';
          info.errorMessage = `server closed the connection with ${code}${reason ? ` (${reason})` : ''}`;
        }
      }
      this.sink.onClose(info);
    }
    const waiters = this.closeWaiters;
    this.closeWaiters = [];
    for (const w of waiters) w();
  }

  send(payload: string | Uint8Array, binary: boolean): void {
    const ws = this.ws;
    if (!ws || ws.readyState !== WebSocket.OPEN) throw new TransportError('send_failed', 'send on a closed connection');
    if (this.debug) this.debug(`→ ${binary ? `binary ${payload.length} bytes` : String(payload)}`);
    ws.send(payload, binary ? SEND_BINARY : SEND_TEXT);
  }

  ping(timeoutMs: number): Promise<number> {
    const ws = this.ws;
    if (!ws || ws.readyState !== WebSocket.OPEN) return Promise.reject(new TransportError('send_failed', 'ping on a closed connection'));
    if (this.pongWaiter) return Promise.reject(new TransportError('protocol_error', 'a ping is already in flight'));
    return new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pongWaiter = undefined;
        reject(new TransportError('ping_timeout', `no pong within ${timeoutMs}ms`));
      }, timeoutMs);
      this.pongWaiter = { sentAtMs: performance.now(), timer, resolve };
      ws.ping();
    });
  }

  close(code: number, reason: string): Promise<void> {
    const ws = this.ws;
    if (!ws || this.isClosed) return Promise.resolve();
    // Only a close we start on an open connection is ours; one the server (or an error) began
    // keeps its reason, so it is still counted.
    if (ws.readyState !== WebSocket.CLOSING) this.closeRequested = true;
    return new Promise<void>((resolve) => {
      // The server's close frame comes after every frame it queued before it: while frames are
      // still arriving the wait goes on (so none is lost uncounted), up to CLOSE_MAX_MS; a
      // server that sends nothing for CLOSE_GRACE_MS is cut.
      const startedAt = performance.now();
      let lastRead = this.bytesReceived;
      let timer: NodeJS.Timeout;
      const check = (): void => {
        const read = this.bytesReceived;
        if (read > lastRead && performance.now() - startedAt < CLOSE_MAX_MS) {
          lastRead = read;
          timer = setTimeout(check, CLOSE_GRACE_MS);
        } else ws.terminate();
      };
      timer = setTimeout(check, CLOSE_GRACE_MS);
      this.closeWaiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
      try {
        if (ws.readyState === WebSocket.CONNECTING) ws.terminate();
        else ws.close(code, reason);
      } catch {
        ws.terminate();
      }
    });
  }

  destroy(): void {
    this.closeRequested = true;
    this.ws?.terminate();
  }
}

export function createWsTransport(options: TransportOptions, sink: TransportSink): Transport {
  return new WsTransport(options, sink);
}
