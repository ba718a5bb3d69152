// The wire under one Socket.IO connection: a per-connection keep-alive Agent that both of
// Engine.IO's transports use (xmlhttprequest-ssl's polling requests and ws's upgrade request
// both take `agent`), and that opens every TCP socket itself so bytes are counted where they
// cross the network: request lines, headers, chunked framing, WebSocket frames, and for https
// the TLS records (TLS runs over our own TCP socket, so counts are ciphertext).
//
// It also remembers the first socket-level error, because Engine.IO reduces connect failures to
// "xhr poll error" / "websocket error" and the cause (ECONNREFUSED, a certificate) would be lost,
// and the head of the first HTTP answer, so a handshake answered by something that is not
// Engine.IO (an app's 200 page at a wrong socketio.path) can be named as such.

import http from 'node:http';
import https from 'node:https';
import type net from 'node:net';
import type { Duplex } from 'node:stream';
import { openCountedConnection, SocketByteCounter } from './counting-agent.js';
import type { ResolvedTls } from './types.js';

export interface WireOptions {
  secure: boolean;
  tls?: ResolvedTls;
  localAddress?: string;
  /** --debug: print HTTP request and response heads until `debugHeads` is cleared. */
  debugHeads?: (line: string) => void;
}

const kWire = Symbol('volley.socketioWire');
type TrackedSocket = net.Socket & { [kWire]?: SocketIoWire };

// Polling holds one GET and one POST; an upgrade adds the WebSocket; one spare.
const MAX_SOCKETS = 4;

export class SocketIoWire {
  readonly agent: http.Agent;
  /** The first error any of this connection's sockets raised (the cause of a connect_error). */
  firstError: Error | undefined;
  /**
   * The status and content type of the first HTTP answer read, until `handshakeOver()`: enough
   * to tell an Engine.IO answer from a web page when the client only says "parser error".
   */
  firstAnswer: { status: number; contentType: string | undefined } | undefined;
  private watchingAnswers = true;
  private readonly counter = new SocketByteCounter();
  /** Raw TCP sockets still open -> the socket handed to http (the TLS socket under https). */
  private readonly live = new Map<net.Socket, Duplex>();
  private idleWaiter: (() => void) | undefined;
  private destroyed = false;
  /**
   * --debug only: prints each HTTP head (request line or status line, then headers) the
   * connection's sockets carry, as the browser's Network tab shows the handshake. The transport
   * clears it once Socket.IO is connected, so later polls do not flood the output.
   */
  debugHeads: ((line: string) => void) | undefined;

  constructor(options: WireOptions) {
    const agentOptions: http.AgentOptions = { keepAlive: true, maxSockets: MAX_SOCKETS, scheduling: 'fifo' };
    this.agent = options.secure ? new https.Agent(agentOptions) : new http.Agent(agentOptions);
    this.debugHeads = options.debugHeads;
    // Own property on the instance: Agent#createSocket calls this.createConnection synchronously.
    this.agent.createConnection = (requestOptions: http.ClientRequestArgs): Duplex => {
      const { raw, outer } = openCountedConnection(requestOptions, options);
      if (this.destroyed) {
        // Engine.IO may still open a socket after a destroy (an upgrade probe it was about to
        // start, a last POST): it must not outlive the connection.
        outer.destroy();
        raw.destroy();
        return outer;
      }
      this.counter.track(raw);
      const tracked = raw as TrackedSocket;
      tracked[kWire] = this;
      tracked.once('close', onRawClose);
      raw.on('error', onSocketError);
      if (outer !== raw) {
        (outer as Duplex & { [kWire]?: SocketIoWire })[kWire] = this;
        outer.on('error', onSocketError);
      }
      this.live.set(raw, outer);
      // A socket's first chunk starts its first answer; sockets opened once connected are not watched.
      if (this.watchingAnswers) outer.once('data', onFirstChunk);
      if (this.debugHeads) this.tapHeads(outer);
      return outer;
    };
  }

  /** Bytes written to the network so far: closed sockets' totals plus open sockets read now. */
  get bytesSent(): number {
    return this.counter.bytesSent;
  }

  get bytesReceived(): number {
    return this.counter.bytesReceived;
  }

  /** Bytes accepted by the sockets but not yet handed to the kernel (backpressure). */
  get bufferedBytes(): number {
    let total = 0;
    for (const raw of this.live.keys()) total += raw.writableLength;
    return total;
  }

  get openSockets(): number {
    return this.live.size;
  }

  /**
   * Ends the connection's sockets once no request is in flight: keep-alive sockets idle in the
   * agent are ended, busy ones are left to finish (the poll answered by the server's close,
   * the final POST). Resolves when every socket is closed, or destroys the rest after graceMs.
   *
   * `lastRequestIssued` resolves once Engine.IO will issue no more requests (its close packet's
   * POST is on its way). Until then an idle moment proves nothing: between a response and
   * Engine.IO's next request (the re-poll, the close POST after the DISCONNECT POST drains)
   * every socket can be idle, and a socket ended then is picked from the pool for that request.
   * The server answers our FIN with its own, the request fails with ECONNRESET on a reused
   * socket, and xmlhttprequest-ssl's retry opens a request it never ends, which then hangs
   * until the grace runs out.
   */
  release(graceMs: number, lastRequestIssued: Promise<void> = Promise.resolve()): Promise<void> {
    if (this.live.size === 0) return Promise.resolve();
    return new Promise((resolve) => {
      let lastIssued = false;
      const finish = (): void => {
        clearTimeout(timer);
        this.agent.off('free', check);
        this.idleWaiter = undefined;
        resolve();
      };
      const check = (): void => {
        if (this.live.size === 0) return finish();
        // Ended, not destroyed: the server's answer (its FIN, a TLS close_notify) is still read
        // and counted, so client and server counts agree. 'close' calls check again.
        if (lastIssued && this.allIdle()) for (const outer of this.live.values()) outer.end();
      };
      const timer = setTimeout(() => {
        this.destroy();
        finish();
      }, graceMs);
      this.idleWaiter = check;
      // 'free' fires on the agent (after the socket's own) when a response completes.
      this.agent.on('free', check);
      void lastRequestIssued.then(() => {
        lastIssued = true;
        check();
      });
      check();
    });
  }

  /** Destroys every socket at once. */
  destroy(): void {
    this.destroyed = true;
    for (const [raw, outer] of this.live) {
      outer.destroy();
      raw.destroy();
    }
    this.agent.destroy();
  }

  /** Socket.IO is connected (or failed): no more answers to watch. */
  handshakeOver(): void {
    this.watchingAnswers = false;
    this.debugHeads = undefined;
  }

  /** @internal the first chunk a socket read, with `this` its wire. */
  noteFirstChunk(chunk: unknown): void {
    if (!this.watchingAnswers || this.firstAnswer !== undefined || !Buffer.isBuffer(chunk)) return;
    const head = chunk.toString('latin1', 0, Math.min(chunk.length, 4096));
    const status = /^HTTP\/1\.[01] (\d{3})/.exec(head);
    if (!status) return;
    const end = head.indexOf('\r\n\r\n');
    const contentType = /\r\ncontent-type:[ \t]*([^;\r\n]*)/i.exec(end < 0 ? head : head.slice(0, end))?.[1]?.trim();
    this.firstAnswer = { status: Number(status[1]), contentType: contentType || undefined };
  }

  /** @internal called once per raw socket on 'close' (its bytes are settled by the counter). */
  settle(raw: net.Socket): void {
    if (!this.live.delete(raw)) return;
    this.idleWaiter?.();
  }

  /** Debug only (one session): watches the plaintext side of a socket for HTTP heads. */
  private tapHeads(socket: Duplex): void {
    const write = socket.write;
    socket.write = ((chunk: unknown, ...rest: unknown[]): boolean => {
      this.printHead('>', chunk);
      return (write as (...args: unknown[]) => boolean).call(socket, chunk, ...rest);
    }) as typeof socket.write;
    // http's own 'data' listener parses the same chunks; prepending only reads them.
    socket.prependListener('data', (chunk: unknown) => this.printHead('<', chunk));
  }

  private printHead(direction: '>' | '<', chunk: unknown): void {
    const debug = this.debugHeads;
    if (!debug) return;
    const text = typeof chunk === 'string' ? chunk : Buffer.isBuffer(chunk) ? chunk.toString('latin1', 0, Math.min(chunk.length, 8192)) : '';
    // Only heads: a request line (GET/POST …) or a status line; bodies and frames are not HTTP.
    if (!/^(?:[A-Z]+ \S+ HTTP\/1\.[01]|HTTP\/1\.[01] \d{3})/.test(text)) return;
    const end = text.indexOf('\r\n\r\n');
    const lines = (end < 0 ? text : text.slice(0, end)).split('\r\n');
    debug(`${direction} ${lines[0]}`);
    for (let i = 1; i < lines.length; i++) debug(`    ${lines[i]}`);
  }

  private allIdle(): boolean {
    const free = new Set<Duplex>();
    for (const list of Object.values(this.agent.freeSockets)) for (const s of list ?? []) free.add(s);
    for (const outer of this.live.values()) if (!free.has(outer)) return false;
    return true;
  }
}

// Module-level listeners with a back-link (ws style) rather than closures per socket.
function onSocketError(this: Duplex & { [kWire]?: SocketIoWire }, err: Error): void {
  const wire = this[kWire];
  if (wire && wire.firstError === undefined) wire.firstError = err;
}

function onFirstChunk(this: Duplex & { [kWire]?: SocketIoWire }, chunk: unknown): void {
  this[kWire]?.noteFirstChunk(chunk);
}

function onRawClose(this: TrackedSocket): void {
  this[kWire]?.settle(this);
}
