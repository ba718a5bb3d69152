// Socket.IO v4 (Engine.IO v4) behind the Transport interface, on the maintained socket.io-client.
// One Manager per connection (forceNew, no reconnection: a load test must see failures, not
// hide them), and a per-connection Agent (socketio-wire.ts) under both Engine.IO transports so
// bytes are counted from the sockets themselves.
//
// Mapping (docs/socketio.md): received events -> sink.onFrame (event name, first argument);
// send() -> emit("message", payload); emit() -> emit with an optional timed ack; ping() -> the
// round trip of the transport under Engine.IO (WebSocket ping/pong, or an HTTP POST over polling).

import { performance } from 'node:perf_hooks';
import { io, type ManagerOptions, type Socket, type SocketOptions } from 'socket.io-client';
import type { ErrorKind } from '../metrics/names.js';
import { SocketIoWire } from './socketio-wire.js';
import { classifyTlsError } from './tls-options.js';
import {
  TransportError,
  type CloseInfo,
  type InboundFrame,
  type Transport,
  type TransportOptions,
  type TransportSink,
} from './types.js';

type EngineTransportName = 'websocket' | 'polling';

/** The parts of engine.io-client's internals we use (stable across engine.io-client 6.x). */
interface EngineSocket {
  readyState: string;
  transport: { name: string; ws?: WsLike };
  id: string | null;
  _sendPacket?(type: 'noop'): void;
  once(event: 'drain' | 'close', fn: () => void): unknown;
  off(event: 'drain' | 'close', fn?: () => void): unknown;
  on(event: 'upgrade', fn: (transport: { name: string }) => void): unknown;
}

interface WsLike {
  ping(): void;
  once(event: 'pong', fn: () => void): unknown;
  off(event: 'pong', fn: () => void): unknown;
}

/** Emitting with an ack: socket.timeout(ms).emit(event, ...args, (err, ...ackArgs) => …). */
type AckEmitter = { emit(event: string, ...args: unknown[]): unknown };

const kTransport = Symbol('volley.socketioTransport');
type TaggedSocket = Socket & { [kTransport]?: SocketIoTransport };

// After a close, sockets get this long to finish their last request before being destroyed.
const CLOSE_GRACE_MS = 2000;

export function createSocketIoTransport(options: TransportOptions, sink: TransportSink): Transport {
  try {
    return new SocketIoTransport(options, sink);
  } catch (err) {
    // The contract: failures surface from connect(), classified, never from the factory.
    if (err instanceof TransportError) return failedTransport(err);
    throw err;
  }
}

function failedTransport(err: TransportError): Transport {
  const closed = (): never => {
    throw new TransportError('send_failed', 'the Socket.IO connection never opened');
  };
  return {
    connect: () => Promise.reject(err),
    send: closed,
    emit: closed,
    ping: () => Promise.reject(new TransportError('send_failed', 'the Socket.IO connection never opened')),
    close: () => Promise.resolve(),
    destroy: () => undefined,
    bytesSent: 0,
    bytesReceived: 0,
    bufferedAmount: 0,
    isOpen: false,
  };
}

/** Where to connect: origin, namespace, Engine.IO path and query, from the options and URL. */
export interface SocketIoEndpoint {
  origin: string; // http(s)://host:port
  namespace: string;
  path: string;
  query: Record<string, string>;
  secure: boolean;
  transports: EngineTransportName[];
}

/**
 * ws(s):// is accepted as the http(s) twin. The URL's own query joins `socketio.query`. A URL
 * path names the namespace when `socketio.namespace` is left at "/" (as io("http://h/admin")).
 */
export function resolveSocketIoEndpoint(options: TransportOptions): SocketIoEndpoint {
  const url = new URL(options.url);
  const protocol = url.protocol === 'ws:' ? 'http:' : url.protocol === 'wss:' ? 'https:' : url.protocol;
  if (protocol !== 'http:' && protocol !== 'https:') {
    throw new TransportError('other', `Socket.IO target must be an http(s) or ws(s) URL, got ${options.url}`);
  }
  const sio = options.socketio;
  const query: Record<string, string> = {};
  url.searchParams.forEach((value, key) => (query[key] = value));
  Object.assign(query, sio?.query);
  let namespace = sio?.namespace ?? '/';
  if (namespace === '/' && url.pathname !== '/' && url.pathname !== '') namespace = url.pathname;
  if (!namespace.startsWith('/')) namespace = `/${namespace}`;
  const transports = sio?.transports && sio.transports.length > 0 ? sio.transports : (['websocket'] as EngineTransportName[]);
  return {
    origin: `${protocol}//${url.host}`,
    namespace,
    path: sio?.path ?? '/socket.io',
    query,
    secure: protocol === 'https:',
    transports,
  };
}

type State = 'idle' | 'connecting' | 'open' | 'closing' | 'closed';

class SocketIoTransport implements Transport {
  private readonly sink: TransportSink;
  private readonly wire: SocketIoWire;
  private readonly socket: TaggedSocket;
  private readonly endpoint: SocketIoEndpoint;
  private readonly handshakeTimeoutMs: number;
  private readonly debug: ((line: string) => void) | undefined;
  private state: State = 'idle';
  private closeCode = 1000;
  private closeReason = '';
  private connectTimer: NodeJS.Timeout | undefined;
  private pendingConnect: { resolve: () => void; reject: (err: TransportError) => void } | undefined;
  private released: Promise<void> | undefined;

  constructor(options: TransportOptions, sink: TransportSink) {
    this.sink = sink;
    this.endpoint = resolveSocketIoEndpoint(options);
    this.handshakeTimeoutMs = options.handshakeTimeoutMs;
    this.debug = options.debug;
    const wireOptions: ConstructorParameters<typeof SocketIoWire>[0] = { secure: this.endpoint.secure };
    if (options.tls) wireOptions.tls = options.tls;
    if (options.localAddress) wireOptions.localAddress = options.localAddress;
    if (options.debug) wireOptions.debugHeads = options.debug;
    this.wire = new SocketIoWire(wireOptions);
    const { transports } = this.endpoint;
    // maxPayload is not in the client's types, but Engine.IO hands it to ws like the rest.
    const ioOptions: Partial<ManagerOptions & SocketOptions> & { maxPayload: number } = {
      forceNew: true,
      reconnection: false,
      autoConnect: false,
      path: this.endpoint.path,
      transports,
      upgrade: transports.length > 1,
      rememberUpgrade: false,
      query: this.endpoint.query,
      auth: (options.socketio?.auth ?? undefined) as Record<string, unknown> | undefined,
      extraHeaders: options.headers,
      agent: this.wire.agent as unknown as string, // typed as string | boolean upstream; node takes an Agent
      timeout: options.handshakeTimeoutMs,
      // Typed as an object upstream, but ws needs an explicit false: its default is "on".
      perMessageDeflate: (options.perMessageDeflate ? { threshold: 1024 } : false) as { threshold: number },
      ...(options.subprotocols.length > 0 ? { protocols: options.subprotocols } : {}),
      maxPayload: options.maxPayloadBytes,
      // Sticky-session cookies (load balancers) must follow the polling requests.
      withCredentials: true,
      closeOnBeforeunload: false,
    };
    this.socket = io(this.endpoint.origin + this.endpoint.namespace, ioOptions) as TaggedSocket;
    this.socket[kTransport] = this;
    this.socket.onAny(onSocketEvent);
    this.socket.on('connect', onSocketConnect);
    this.socket.on('connect_error', onSocketConnectError);
    this.socket.on('disconnect', onSocketDisconnect);
    if (this.debug) this.attachDebug(this.debug);
  }

  get bytesSent(): number {
    return this.wire.bytesSent;
  }

  get bytesReceived(): number {
    return this.wire.bytesReceived;
  }

  get bufferedAmount(): number {
    return this.wire.bufferedBytes;
  }

  get isOpen(): boolean {
    return this.state === 'open' && this.socket.connected;
  }

  connect(): Promise<void> {
    if (this.state !== 'idle') return Promise.reject(new TransportError('other', 'connect() called twice'));
    this.state = 'connecting';
    return new Promise((resolve, reject) => {
      this.pendingConnect = { resolve, reject };
      this.connectTimer = setTimeout(onConnectTimeout, this.handshakeTimeoutMs, this);
      this.socket.connect();
    });
  }

  send(payload: string | Uint8Array, binary: boolean): void {
    this.assertOpen('message');
    let data: string | Buffer;
    if (binary) data = typeof payload === 'string' ? Buffer.from(payload) : toBuffer(payload);
    else data = typeof payload === 'string' ? payload : Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength).toString('utf8');
    this.socket.emit('message', data);
  }

  emit(event: string, args: unknown[], ackTimeoutMs: number | undefined): Promise<unknown[]> | undefined {
    this.assertOpen(event);
    if (ackTimeoutMs === undefined) {
      this.emitChecked(this.socket as unknown as AckEmitter, event, args);
      return undefined;
    }
    return new Promise<unknown[]>((resolve, reject) => {
      const onAck = (err: Error | null, ...ackArgs: unknown[]): void => {
        if (!err) {
          this.debug?.(`< ack ${event} ${preview(ackArgs)}`);
          return resolve(ackArgs);
        }
        if (/timed out/.test(err.message)) {
          reject(new TransportError('ack_timeout', `no ack for "${event}" in ${ackTimeoutMs}ms`));
        } else {
          reject(new TransportError('send_failed', `connection closed before the ack for "${event}"`));
        }
      };
      try {
        this.emitChecked(this.socket.timeout(ackTimeoutMs) as unknown as AckEmitter, event, [...args, onAck]);
      } catch (err) {
        reject(err);
      }
    });
  }

  ping(timeoutMs: number): Promise<number> {
    if (!this.isOpen) return Promise.reject(new TransportError('send_failed', 'ping on a closed Socket.IO connection'));
    const engine = this.socket.io.engine as unknown as EngineSocket;
    const transport = engine.transport;
    if (transport.name === 'websocket' && transport.ws) return pingWebSocket(transport.ws, timeoutMs);
    if (transport.name === 'polling' && typeof engine._sendPacket === 'function') return pingPolling(engine, timeoutMs);
    return Promise.reject(new TransportError('other', `ping is not supported over the Engine.IO ${transport.name} transport`));
  }

  close(code: number, reason: string): Promise<void> {
    if (this.state === 'idle' || this.state === 'connecting') {
      this.destroy();
      return Promise.resolve();
    }
    if (this.state === 'open') {
      this.state = 'closing';
      this.closeCode = code;
      this.closeReason = reason;
      // Sends the DISCONNECT packet; the Manager then closes Engine.IO. 'disconnect' fires
      // synchronously ("io client disconnect") and reports the close; the second call covers
      // an engine that was already gone.
      this.socket.disconnect();
      this.reportClose({ code, reason, initiatedByClient: true });
    }
    return this.release();
  }

  destroy(): void {
    if (this.state === 'open') {
      this.state = 'closing';
      this.closeReason = 'destroyed';
      this.socket.disconnect();
      this.reportClose({ code: this.closeCode, reason: this.closeReason, initiatedByClient: true });
    } else {
      this.failConnect(new TransportError('other', 'connection destroyed before it opened'));
      this.socket.disconnect();
    }
    this.state = 'closed';
    this.wire.destroy();
  }

  // --- socket.io-client events (called through the module-level listeners below) ------------

  /** @internal */
  handleEvent(event: string, args: unknown[]): void {
    const arrivedAtMs = performance.now();
    let first = args[0];
    // A server that asked for an ack passes the ack function last; it is not data.
    if (typeof first === 'function') first = undefined;
    this.sink.onFrame(new SocketIoFrame(event, first, arrivedAtMs));
  }

  /** @internal */
  handleConnect(): void {
    clearTimeout(this.connectTimer);
    this.wire.handshakeOver(); // the handshake is printed; polls after it are not
    if (this.state !== 'connecting') return;
    this.state = 'open';
    const pending = this.pendingConnect;
    this.pendingConnect = undefined;
    pending?.resolve();
  }

  /** @internal */
  handleConnectError(err: Error & { type?: string; code?: unknown; description?: unknown; context?: unknown; data?: unknown }): void {
    this.failConnect(classifyConnectError(err, this.wire.firstError, this.endpoint, this.wire.firstAnswer));
    this.teardown();
  }

  /** @internal */
  handleDisconnect(reason: string): void {
    if (this.state === 'closing' || this.state === 'closed') {
      this.reportClose({ code: this.closeCode, reason: this.closeReason, initiatedByClient: true });
    } else {
      this.reportClose(serverCloseInfo(reason, this.wire.firstError));
    }
    this.state = 'closed';
    void this.release();
  }

  /** @internal */
  handleConnectTimeout(): void {
    if (this.state !== 'connecting') return;
    const target = this.endpoint.origin + this.endpoint.namespace;
    const engine = this.socket.io.engine as unknown as EngineSocket | undefined;
    // Engine.IO never opened: nothing answered the handshake at all (a plain http server does
    // not answer a path it has no handler for). Once it opened, the namespace's CONNECT is late.
    const message =
      engine === undefined || engine.readyState === 'opening'
        ? `no answer to the Engine.IO handshake at ${engineUrl(this.endpoint)} in ${this.handshakeTimeoutMs}ms${PATH_HINT}`
        : `no Socket.IO connect from ${target} in ${this.handshakeTimeoutMs}ms`;
    this.failConnect(new TransportError('connect_timeout', message));
    this.teardown();
  }

  // --- internals ---------------------------------------------------------------------------

  private assertOpen(event: string): void {
    if (!this.isOpen) throw new TransportError('send_failed', `cannot emit "${event}": the Socket.IO connection is not open`);
  }

  private emitChecked(emitter: AckEmitter, event: string, args: unknown[]): void {
    try {
      emitter.emit(event, ...args);
    } catch (err) {
      // socket.io-client refuses reserved names ("connect", "disconnect"…).
      throw new TransportError('send_failed', `cannot emit "${event}": ${(err as Error).message}`);
    }
  }

  private failConnect(err: TransportError): void {
    clearTimeout(this.connectTimer);
    const pending = this.pendingConnect;
    this.pendingConnect = undefined;
    pending?.reject(err);
  }

  private teardown(): void {
    this.state = 'closed';
    this.socket.disconnect();
    this.wire.destroy();
  }

  private release(): Promise<void> {
    this.released ??= this.wire.release(CLOSE_GRACE_MS, this.engineClosed());
    return this.released;
  }

  /**
   * Resolves once Engine.IO has closed. It closes only after its write buffer drains (the
   * DISCONNECT packet's POST over polling), and its 'close' comes right after it hands the close
   * packet's POST to the agent; from then on it starts no request (no re-poll either), so the
   * wire may end its sockets as soon as they are idle.
   */
  private engineClosed(): Promise<void> {
    const engine = this.socket.io.engine as unknown as EngineSocket | undefined;
    if (!engine || engine.readyState === 'closed') return Promise.resolve();
    return new Promise((resolve) => engine.once('close', resolve));
  }

  private reportClose(info: CloseInfo): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.sink.onClose(info);
  }

  private attachDebug(debug: (line: string) => void): void {
    const target = this.endpoint.origin + this.endpoint.namespace;
    this.socket.on('connect', () => {
      const engine = this.socket.io.engine as unknown as EngineSocket;
      debug(`socket.io connected to ${target} (sid ${this.socket.id ?? '?'}, engine ${engine.id ?? '?'}, ${engine.transport.name})`);
      engine.on('upgrade', (t) => debug(`engine.io upgraded to ${t.name}`));
    });
    this.socket.on('connect_error', (err) => debug(`socket.io connect_error: ${err.message}`));
    this.socket.on('disconnect', (reason) => debug(`socket.io disconnect: ${reason}`));
    this.socket.onAny((event: string, ...args: unknown[]) => debug(`< ${event} ${preview(args)}`));
    this.socket.onAnyOutgoing((event: string, ...args: unknown[]) => debug(`> ${event} ${preview(args)}`));
  }
}

/**
 * An event as the sink sees it. `text` is the first argument when it is a string, else its
 * JSON, computed only if a matcher asks (json matchers read `json`, set here already).
 */
class SocketIoFrame implements InboundFrame {
  readonly event: string;
  readonly value: unknown;
  readonly arrivedAtMs: number;
  readonly bytes: Uint8Array | undefined;
  jsonState: 0 | 1 | 2;
  json: unknown;
  private textCache: string | undefined;

  constructor(event: string, value: unknown, arrivedAtMs: number) {
    this.event = event;
    this.value = value;
    this.arrivedAtMs = arrivedAtMs;
    this.bytes = binaryOf(value);
    if (typeof value === 'string') {
      this.textCache = value;
      this.jsonState = 0;
    } else if (this.bytes !== undefined || value === undefined) {
      this.jsonState = 2;
    } else {
      // Already decoded by socket.io-parser: no need to stringify and parse again to match.
      this.json = value;
      this.jsonState = 1;
    }
  }

  get text(): string | undefined {
    if (this.textCache !== undefined || this.bytes !== undefined) return this.textCache;
    this.textCache = this.value === undefined ? '' : JSON.stringify(this.value);
    return this.textCache;
  }
}

function binaryOf(value: unknown): Uint8Array | undefined {
  if (value instanceof Uint8Array) return value; // Buffer included
  if (value instanceof ArrayBuffer) return new Uint8Array(value);
  if (ArrayBuffer.isView(value)) return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
  return undefined;
}

function toBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

// --- connect failures --------------------------------------------------------------------------

/** Appended where the likely cause is a wrong Engine.IO path (or target). */
const PATH_HINT = ': no Socket.IO endpoint there? check socketio.path / target';

/** Where the Engine.IO handshake goes: origin and path, as the user configured them. */
function engineUrl(endpoint: Pick<SocketIoEndpoint, 'origin' | 'path'>): string {
  return endpoint.origin + (endpoint.path.startsWith('/') ? endpoint.path : `/${endpoint.path}`);
}

/** The first HTTP answer the connection's sockets read: status and content type. */
export type HttpAnswer = NonNullable<SocketIoWire['firstAnswer']>;

/**
 * socket.io-client reports every failure as connect_error: an engine-level TransportError
 * ("xhr poll error", "websocket error": the cause is the socket error the wire kept), "timeout"
 * from the Manager, a "parser error" (the handshake's answer is not Engine.IO), or the server's
 * CONNECT_ERROR packet (a middleware's next(new Error(…))).
 *
 * A wrong socketio.path looks different per server: a 404; a 200 page (an app's catch-all
 * route); for a socket.io server, which ignores other paths, the WebSocket upgrade is ended
 * without an answer (engine.io's destroyUpgrade) and a poll is never answered (a timeout,
 * handled by the transport). Those say "no Socket.IO endpoint at URL", with the hint.
 */
export function classifyConnectError(
  err: Error & { type?: string; code?: unknown; description?: unknown; context?: unknown; data?: unknown },
  socketError: Error | undefined,
  endpoint: Pick<SocketIoEndpoint, 'origin' | 'namespace' | 'path'>,
  answer?: HttpAnswer,
): TransportError {
  const target = endpoint.origin + endpoint.namespace;
  const tlsReason = classifyTlsError(socketError) ?? classifyTlsError(err);
  if (tlsReason !== undefined) return new TransportError('tls', `TLS: ${tlsReason} (${endpoint.origin})`);
  const code = (socketError as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ECONNREFUSED') return new TransportError('connect_refused', `connection refused by ${endpoint.origin}`);
  if (code === 'ETIMEDOUT') return new TransportError('connect_timeout', `TCP connect to ${endpoint.origin} timed out`);
  if (code === 'ECONNRESET' || code === 'EPIPE') return new TransportError('reset', `connection reset by ${endpoint.origin} during the handshake`);
  if (code !== undefined) return new TransportError('connect_refused', `${socketError!.message.split('\n')[0]} (${endpoint.origin})`);
  const url = engineUrl(endpoint);
  if (err.message === 'timeout') return new TransportError('connect_timeout', `no answer to the Engine.IO handshake at ${url} in time${PATH_HINT}`);
  if (err.code === 'parser error') {
    // engine.io-client could not decode the answer as Engine.IO packets: a web page, JSON…
    const what = answer ? ` (HTTP ${answer.status}${answer.contentType ? `, ${answer.contentType}` : ''})` : '';
    return new TransportError('handshake_rejected', `the answer to the Engine.IO handshake at ${url} is not Engine.IO${what}${PATH_HINT}`);
  }
  if (err.type === 'TransportError') {
    const status = httpStatusOf(err);
    if (status === 404) return new TransportError('handshake_rejected', `no Socket.IO endpoint at ${url} (HTTP 404): check socketio.path / target`);
    if (status !== undefined && status < 400) {
      // Answered, but not as Engine.IO: a page (200) or a redirect the client does not follow.
      return new TransportError(
        'handshake_rejected',
        err.message === 'websocket error'
          ? `the WebSocket upgrade at ${url} was answered with HTTP ${status}, not 101${PATH_HINT}`
          : `the answer to the Engine.IO handshake at ${url} is not Engine.IO (HTTP ${status})${PATH_HINT}`,
      );
    }
    if (status !== undefined) {
      return new TransportError('handshake_rejected', `Engine.IO handshake rejected by ${endpoint.origin} with HTTP ${status}${serverMessageOf(err)}`);
    }
    if (closedWithoutAnswer(err)) {
      return new TransportError('handshake_rejected', `the server closed the connection without answering the Engine.IO handshake at ${url}${PATH_HINT}`);
    }
    const cause = innerMessageOf(err);
    return new TransportError('handshake_rejected', `Engine.IO handshake with ${url} failed: ${err.message}${cause ? ` (${cause})` : ''}`);
  }
  // The server's CONNECT_ERROR: its message is the middleware's reason ("not authorized").
  const data = err.data === undefined ? '' : ` ${JSON.stringify(err.data)}`;
  return new TransportError('handshake_rejected', `Socket.IO connect to ${target} rejected: ${err.message}${data}`);
}

/**
 * The server ended the socket before any HTTP answer: ws reports "socket hang up" on its upgrade
 * request; the polling request ends with status 0 (no answer; a socket error would have been
 * caught above).
 */
function closedWithoutAnswer(err: { message: string; description?: unknown }): boolean {
  if (err.message === 'xhr poll error') return err.description === 0;
  return /socket hang up/.test(innerMessageOf(err) ?? '');
}

/** The message of the error Engine.IO wrapped ("websocket error" carries ws's own error). */
function innerMessageOf(err: { description?: unknown }): string | undefined {
  const inner = err.description as { message?: unknown; error?: { message?: unknown } } | undefined;
  if (inner === null || typeof inner !== 'object') return undefined;
  const text = inner.error?.message ?? inner.message;
  return typeof text === 'string' && text.length > 0 ? text.split('\n')[0] : undefined;
}

function httpStatusOf(err: { description?: unknown; message: string }): number | undefined {
  if (typeof err.description === 'number' && err.description > 0) return err.description;
  const inner = err.description as { message?: unknown; error?: { message?: unknown } } | undefined;
  const text = String(inner?.error?.message ?? inner?.message ?? '');
  const m = /Unexpected server response: (\d+)/.exec(text);
  return m ? Number(m[1]) : undefined;
}

/** Engine.IO answers a refused handshake with {"code":…,"message":"…"}; keep the message. */
function serverMessageOf(err: { context?: unknown }): string {
  const body = (err.context as { responseText?: unknown } | undefined)?.responseText;
  if (typeof body !== 'string' || body.length === 0 || body.length > 500) return '';
  try {
    const parsed = JSON.parse(body) as { message?: unknown };
    return typeof parsed.message === 'string' ? `: ${parsed.message}` : '';
  } catch {
    return '';
  }
}

/** A disconnect the client did not ask for. */
function serverCloseInfo(reason: string, socketError: Error | undefined): CloseInfo {
  let kind: ErrorKind;
  let code = 1006;
  let message: string;
  switch (reason) {
    case 'io server disconnect':
      kind = 'closed_by_server';
      code = 1000;
      message = 'the server disconnected the socket (io server disconnect)';
      break;
    case 'transport close':
      kind = 'closed_by_server';
      message = 'the server closed the connection (transport close)';
      break;
    case 'ping timeout':
      kind = 'ping_timeout';
      message = 'no Engine.IO heartbeat from the server in time (ping timeout)';
      break;
    case 'parse error':
      kind = 'protocol_error';
      message = 'the server sent a packet Socket.IO could not parse (parse error)';
      break;
    default: {
      const tlsReason = classifyTlsError(socketError);
      kind = tlsReason ? 'tls' : 'reset';
      message = `${reason}${socketError ? `: ${tlsReason ?? socketError.message}` : ''}`;
    }
  }
  return { code, reason, initiatedByClient: false, errorKind: kind, errorMessage: message };
}

// --- ping --------------------------------------------------------------------------------------

/** WebSocket transport: a ping control frame, answered by the server's WebSocket layer. */
function pingWebSocket(ws: WsLike, timeoutMs: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const startedAtMs = performance.now();
    const onPong = (): void => {
      clearTimeout(timer);
      resolve(performance.now() - startedAtMs);
    };
    const timer = setTimeout(() => {
      ws.off('pong', onPong);
      reject(new TransportError('ping_timeout', `no pong in ${timeoutMs}ms`));
    }, timeoutMs);
    ws.once('pong', onPong);
    try {
      ws.ping();
    } catch (err) {
      clearTimeout(timer);
      ws.off('pong', onPong);
      reject(new TransportError('send_failed', `ping failed: ${(err as Error).message}`));
    }
  });
}

/**
 * Polling transport: an Engine.IO noop packet POSTed to the server, which ignores it and answers
 * "ok"; the time until the write drains is that HTTP round trip (queued writes included).
 */
function pingPolling(engine: EngineSocket, timeoutMs: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const startedAtMs = performance.now();
    const onDrain = (): void => {
      clearTimeout(timer);
      engine.off('close', onClose);
      resolve(performance.now() - startedAtMs);
    };
    const onClose = (): void => {
      clearTimeout(timer);
      engine.off('drain', onDrain);
      reject(new TransportError('ping_timeout', 'connection closed during the ping'));
    };
    const timer = setTimeout(() => {
      engine.off('drain', onDrain);
      engine.off('close', onClose);
      reject(new TransportError('ping_timeout', `no answer to the polling ping in ${timeoutMs}ms`));
    }, timeoutMs);
    engine.once('drain', onDrain);
    engine.once('close', onClose);
    engine._sendPacket!('noop');
  });
}

// --- module-level listeners: `this` is the socket, which links back to its transport ---------

function onSocketEvent(this: TaggedSocket, event: string, ...args: unknown[]): void {
  this[kTransport]?.handleEvent(event, args);
}

function onSocketConnect(this: TaggedSocket): void {
  this[kTransport]?.handleConnect();
}

function onSocketConnectError(this: TaggedSocket, err: Error): void {
  this[kTransport]?.handleConnectError(err);
}

function onSocketDisconnect(this: TaggedSocket, reason: string): void {
  this[kTransport]?.handleDisconnect(reason);
}

function onConnectTimeout(transport: SocketIoTransport): void {
  transport.handleConnectTimeout();
}

function preview(args: unknown[]): string {
  const text = args
    .filter((a) => typeof a !== 'function')
    .map((a) => (typeof a === 'string' ? a : binaryOf(a) ? `<${binaryOf(a)!.byteLength} bytes>` : JSON.stringify(a)))
    .join(' ');
  return text.length > 200 ? `${text.slice(0, 200)}…` : text;
}
