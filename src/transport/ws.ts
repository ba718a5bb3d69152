// The WebSocket transport, a thin layer over the `ws` client. Hot path (STYLE.md, ws): the
// listeners are module-level functions that reach their transport through a symbol back-link
// instead of per-connection closures; frames are stamped on arrival; bytes are read from the
// socket itself (handshake and framing included).
//
// The connection is opened by us (createConnection), so the TCP socket is known from the first
// byte: its counters are the bytes on the wire whatever becomes of the attempt (an upgrade
// rejected with a status, a server that never answers or drips, a reset, a TLS failure), and
// for wss they are the TLS records, not the decrypted stream. The whole connect (TCP, TLS and
// the upgrade) is bounded by one timer of `connect.timeout`: ws's own handshakeTimeout is an
// idle timeout of the request socket, which every byte of a dripped answer resets.

import type { ClientRequestArgs } from 'node:http';
import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { Duplex } from 'node:stream';
import WebSocket from 'ws';
import { classifyConnectError, classifyConnectionError } from './classify.js';
import { openCountedConnection } from './counting-agent.js';
import type { CloseInfo, Transport, TransportOptions, TransportSink } from './types.js';
import { TransportError } from './types.js';

const kTransport = Symbol('volley.transport');

interface TaggedWebSocket extends WebSocket {
  [kTransport]: WsTransport;
}

interface TaggedSocket extends Socket {
  [kTransport]?: WsTransport;
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

function onPong(this: WebSocket, data: Buffer): void {
  const t = (this as TaggedWebSocket)[kTransport];
  const waiter = t.pongWaiter;
  // Only the pong that carries this ping's payload answers it: a late pong to a ping that timed
  // out, or an unsolicited one (RFC 6455 allows them), would otherwise be timed as this one.
  if (waiter && data.equals(waiter.payload)) {
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
  // Bytes keep coming from the TCP socket taken when the connection was made (t.socket), so
  // nothing is counted twice; res.socket is the same socket for ws:, the TLS layer over it for wss:.
  if (t.debug) {
    t.debug(`handshake: HTTP/${res.httpVersion} ${res.statusCode} ${res.statusMessage ?? ''}`);
    for (let i = 0; i < res.rawHeaders.length; i += 2) t.debug(`  ${res.rawHeaders[i]}: ${res.rawHeaders[i + 1]}`);
  }
}

/** The TCP connection is up: from now on its counters are bytes that crossed the network. */
function onSocketConnect(this: TaggedSocket): void {
  const t = this[kTransport];
  if (t) t.wired = true;
}

function onConnectTimeout(t: WsTransport): void {
  t.connectTimedOut();
}

interface PongWaiter {
  /** The ping's application data, which the pong echoes (RFC 6455 5.5.3). */
  payload: Buffer;
  sentAtMs: number;
  timer: NodeJS.Timeout;
  resolve: (rttMs: number) => void;
}

class WsTransport implements Transport {
  readonly sink: TransportSink;
  readonly options: TransportOptions;
  readonly debug: ((line: string) => void) | undefined;
  ws: TaggedWebSocket | undefined;
  /** The TCP socket (under TLS for wss), set as soon as it is created. */
  socket: Socket | undefined;
  /** The TCP connection was established. Until then the counters may hold the upgrade request
   *  queued for a connection that never came (a refused one): nothing of it was on the wire. */
  wired = false;
  pongWaiter: PongWaiter | undefined;
  private pingsSent = 0;
  private closeRequested = false;
  private isClosed = false;
  private errorKind: CloseInfo['errorKind'];
  private errorMessage: string | undefined;
  private connectSettled = false;
  private opened = false;
  private connectReject: ((err: TransportError) => void) | undefined;
  private connectTimer: NodeJS.Timeout | undefined;
  private closeWaiters: (() => void)[] = [];

  constructor(options: TransportOptions, sink: TransportSink) {
    this.options = options;
    this.sink = sink;
    this.debug = options.debug;
  }

  get bytesSent(): number {
    const s = this.socket;
    return s !== undefined && this.wired ? s.bytesWritten : 0;
  }

  get bytesReceived(): number {
    const s = this.socket;
    return s !== undefined && this.wired ? s.bytesRead : 0;
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
      // Called by http.request, synchronously, for the one connection of this attempt (no
      // redirects are followed). TLS runs over our TCP socket, as for long-poll.
      const createConnection = (requestOptions: ClientRequestArgs): Duplex => {
        const { raw, outer } = openCountedConnection(requestOptions, {
          secure: /^(wss|https):/i.test(o.url),
          tls: o.tls,
          localAddress: o.localAddress,
        });
        (raw as TaggedSocket)[kTransport] = this;
        raw.once('connect', onSocketConnect);
        this.socket = raw;
        return outer;
      };
      try {
        ws = new WebSocket(o.url, o.subprotocols, {
          headers: o.headers,
          perMessageDeflate: o.perMessageDeflate,
          maxPayload: o.maxPayloadBytes,
          followRedirects: false,
          createConnection,
        } as WebSocket.ClientOptions) as TaggedWebSocket;
      } catch (err) {
        this.settleConnect();
        const c = classifyConnectError(err, o.url);
        reject(new TransportError(c.kind, c.message));
        return;
      }
      this.connectTimer = setTimeout(onConnectTimeout, o.handshakeTimeoutMs, this);
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
      // Listeners only for what is used: every event name grows the emitter's dictionary, held
      // by every connection (upgrade is for --debug; pong is added by the first ping).
      if (this.debug) ws.on('upgrade', onUpgrade);
      ws.on('message', onMessage);
      ws.on('close', onClose);
      ws.on('error', onError);
      ws.once('open', () => {
        this.opened = true;
        this.settleConnect();
        resolve();
      });
    });
  }

  /** The connect has an outcome: no other may reject it, and its timer stops. */
  private settleConnect(): ((err: TransportError) => void) | undefined {
    this.connectSettled = true;
    if (this.connectTimer !== undefined) {
      clearTimeout(this.connectTimer);
      this.connectTimer = undefined;
    }
    const reject = this.connectReject;
    this.connectReject = undefined;
    return reject;
  }

  /**
   * connect.timeout ran out before the connection opened (no TCP connection, no answer to the
   * upgrade, or an answer still incomplete): the attempt is aborted, its socket destroyed (its
   * bytes still count), and the connect fails with connect_timeout.
   */
  connectTimedOut(): void {
    this.connectTimer = undefined;
    if (this.connectSettled) return;
    const o = this.options;
    const s = this.socket;
    let why: string;
    if (!this.wired) why = 'no TCP connection';
    else if (s === undefined || s.bytesRead === 0) why = 'no answer to the upgrade request';
    else why = `the answer was still incomplete (${s.bytesRead} bytes received)`;
    const reject = this.settleConnect();
    reject?.(new TransportError('connect_timeout', `handshake with ${o.url} timed out after ${o.handshakeTimeoutMs}ms: ${why}`));
    // The error and close this abort raises find the connect settled and add nothing.
    try {
      this.ws?.terminate();
    } catch {
      // ws had already let go of the request; the socket is destroyed below either way.
    }
    s?.destroy();
  }

  /** Called from the error listener: during connect it rejects, afterwards it marks the close. */
  failed(err: Error): void {
    if (!this.connectSettled) {
      const reject = this.settleConnect();
      const c = classifyConnectError(err, this.options.url);
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
      const reject = this.settleConnect();
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
      const payload = Buffer.from(`volley ${++this.pingsSent}`);
      this.pongWaiter = { payload, sentAtMs: performance.now(), timer, resolve };
      if (this.pingsSent === 1) ws.on('pong', onPong);
      ws.ping(payload);
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
