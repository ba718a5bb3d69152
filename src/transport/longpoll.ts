// The long-poll transport: one volley session over HTTP/1.1 keep-alive, by the convention of
// DESIGN.md "Long-poll transport" (docs/ws-vs-long-poll.md):
//   GET  {lp}/poll?session=ID   held by the server; 200 + JSON array of frames, or 204 (poll again)
//   POST {lp}/send?session=ID   one frame as the body; 2xx
//   GET  {lp}/ping?session=ID   any response: a timed HTTP round trip
//   POST {lp}/close?session=ID  any response: the session ends
// Each session has its own keep-alive Agent with two sockets, as a browser tab would: one held
// by the poll, one for sends (serialised, in order) and pings. Bytes are counted on the TCP
// sockets themselves (counting-agent.ts), so headers, chunked framing and TLS are included.

import http from 'node:http';
import https from 'node:https';
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { ErrorKind } from '../metrics/names.js';
import { classifyConnectError } from './classify.js';
import { createCountingAgent, SocketByteCounter } from './counting-agent.js';
import {
  TransportError,
  type CloseInfo,
  type InboundFrame,
  type Transport,
  type TransportOptions,
  type TransportSink,
} from './types.js';

/** The close code reported for abnormal ends (no close handshake), as WebSocket's 1006. */
const CLOSE_ABNORMAL = 1006;
const CLOSE_NORMAL = 1000;
/** How long connect waits for the first poll's answer before probing with a ping (servers
 *  that answer the session-creating poll at once never see the probe). */
const PROBE_AFTER_MS = 100;
/** At a close, once POST /close is answered, how long (at least; else the close's own round
 *  trip) the last poll may take to show an answer the server wrote before the close's. */
const CLOSE_SETTLE_MIN_MS = 10;

export function createLongPollTransport(options: TransportOptions, sink: TransportSink): Transport {
  return new LongPollTransport(options, sink);
}

/**
 * `{lp}` for a session: `longPollUrl` when given, else the target's http(s) twin (ws -> http,
 * wss -> https) with path `/lp` (the target's query string is kept: tokens often live there).
 * Throws TransportError('setup_failed') on a URL that is not ws(s)/http(s).
 */
export function resolveLongPollUrl(options: Pick<TransportOptions, 'url' | 'longPollUrl'>): URL {
  let url: URL;
  try {
    url = new URL(options.longPollUrl ?? options.url);
  } catch {
    throw new TransportError('setup_failed', `invalid long-poll URL: ${options.longPollUrl ?? options.url}`);
  }
  const twin = TWIN_PROTOCOL[url.protocol];
  if (twin === undefined) {
    throw new TransportError('setup_failed', `long-poll needs an http(s) or ws(s) URL, got ${url.protocol}//`);
  }
  url.protocol = twin;
  if (options.longPollUrl === undefined) url.pathname = '/lp';
  url.hash = '';
  return url;
}

/** Socket errors that mean an open session's server went away, with how to say it. */
const LOST_CONNECTION = new Map<string, string>([
  ['ECONNRESET', 'connection reset by'],
  ['EPIPE', 'connection reset by'],
  ['ECONNABORTED', 'connection reset by'],
  ['ERR_STREAM_PREMATURE_CLOSE', 'connection reset by'],
  ['ECONNREFUSED', 'connection refused by'],
  ['ETIMEDOUT', 'connection timed out to'],
  ['EHOSTUNREACH', 'host unreachable:'],
  ['ENETUNREACH', 'network unreachable:'],
]);

const TWIN_PROTOCOL: Record<string, string> = { 'ws:': 'http:', 'wss:': 'https:', 'http:': 'http:', 'https:': 'https:' };

/** Maps a Node socket/HTTP error to an error kind (errors{kind}). */
export function classifyHttpError(err: unknown): ErrorKind {
  const code = typeof err === 'object' && err !== null ? (err as { code?: unknown }).code : undefined;
  if (typeof code !== 'string') return 'other';
  switch (code) {
    case 'ECONNREFUSED':
      return 'connect_refused';
    case 'ECONNRESET':
    case 'EPIPE':
    case 'ECONNABORTED':
    case 'ERR_STREAM_PREMATURE_CLOSE':
      return 'reset';
    case 'ETIMEDOUT':
      return 'connect_timeout';
  }
  if (code.startsWith('HPE_')) return 'protocol_error';
  if (
    code.startsWith('ERR_TLS') ||
    code.startsWith('ERR_SSL') ||
    code.includes('CERT') ||
    code.startsWith('UNABLE_TO_') ||
    code.startsWith('DEPTH_ZERO')
  ) {
    return 'tls';
  }
  return 'other';
}

// Small integer states (ws style); a plain object rather than a const enum so per-file
// transpilers (vitest) treat it the same as tsc.
const State = { Idle: 0, Connecting: 1, Open: 2, Closing: 3, Closed: 4 } as const;
type State = (typeof State)[keyof typeof State];

interface QueuedSend {
  body: string | Buffer;
  bytes: number;
  binary: boolean;
  /** Reported to the sink as written (a retry after a stale keep-alive socket is not a second frame). */
  counted: boolean;
}

interface PendingPing {
  req: http.ClientRequest;
  timer: NodeJS.Timeout;
  reject: (err: Error) => void;
}

type RequestFn = (options: http.RequestOptions) => http.ClientRequest;

class LongPollTransport implements Transport {
  readonly sessionId = randomUUID();
  private readonly sink: TransportSink;
  private readonly handshakeTimeoutMs: number;
  private readonly debug: ((line: string) => void) | undefined;
  private readonly counter = new SocketByteCounter();
  private readonly setupError: TransportError | undefined;
  private lpUrl = '';
  private agent: http.Agent | undefined;
  private request: RequestFn = http.request;
  // Request options built once per session; only `headers` differs between text and binary sends.
  private pollOptions: http.RequestOptions = {};
  private pingOptions: http.RequestOptions = {};
  private closeOptions: http.RequestOptions = {};
  private sendTextOptions: http.RequestOptions = {};
  private sendBinaryOptions: http.RequestOptions = {};

  private state: State = State.Idle;
  private connectResolve: (() => void) | undefined;
  private connectReject: ((err: Error) => void) | undefined;
  private connectTimer: NodeJS.Timeout | undefined;
  private probeReq: http.ClientRequest | undefined;
  private probeTimer: NodeJS.Timeout | undefined;

  private pollReq: http.ClientRequest | undefined;
  private pollChunks: Buffer[] = [];
  private pollBodyBytes = 0;
  // For the one retry on a keep-alive socket the server had closed (isStaleKeepAlive).
  private pollOnReusedSocket = false;
  private pollAnswered = false;
  private pollRetried = false;

  private readonly sendQueue: QueuedSend[] = [];
  private queuedBytes = 0;
  private sendReq: http.ClientRequest | undefined;
  private sendItem: QueuedSend | undefined;
  private sendInFlightBytes = 0;
  private sendOnReusedSocket = false;
  private sendAnswered = false;
  private sendRetried = false;

  private readonly pings = new Set<PendingPing>();

  private closeRequested = false;
  private closeReason = '';
  private closeReq: http.ClientRequest | undefined;
  // The close is over once POST /close is answered and the poll held at close() has settled.
  private closeAnswered = false;
  private closeSentAtMs = 0;
  private closeSettleMs = 0;
  private settleTimer: NodeJS.Timeout | undefined;
  private closeTimer: NodeJS.Timeout | undefined;
  private closeResolve: (() => void) | undefined;
  private closePromise: Promise<void> | undefined;

  constructor(options: TransportOptions, sink: TransportSink) {
    this.sink = sink;
    this.handshakeTimeoutMs = options.handshakeTimeoutMs;
    this.debug = options.debug;
    let lp: URL | undefined;
    try {
      lp = resolveLongPollUrl(options);
    } catch (err) {
      this.setupError = err instanceof TransportError ? err : new TransportError('setup_failed', String(err));
    }
    if (lp !== undefined) this.prepare(lp, options);
  }

  private prepare(lp: URL, options: TransportOptions): void {
    const secure = lp.protocol === 'https:';
    this.lpUrl = lp.href;
    this.agent = createCountingAgent(
      { secure, tls: options.tls, localAddress: options.localAddress, maxSockets: 2 },
      this.counter,
    );
    this.request = secure ? https.request : http.request;
    const hostname = lp.hostname.startsWith('[') ? lp.hostname.slice(1, -1) : lp.hostname;
    const port = lp.port === '' ? (secure ? 443 : 80) : Number(lp.port);
    const base = lp.pathname.endsWith('/') ? lp.pathname.slice(0, -1) : lp.pathname;
    const query = `${lp.search === '' ? '?' : `${lp.search}&`}session=${this.sessionId}`;
    const common = { hostname, port, agent: this.agent };
    const headers = options.headers;
    this.pollOptions = { ...common, method: 'GET', path: `${base}/poll${query}`, headers };
    this.pingOptions = { ...common, method: 'GET', path: `${base}/ping${query}`, headers };
    this.closeOptions = { ...common, method: 'POST', path: `${base}/close${query}`, headers };
    // No Content-Length here: ClientRequest.end(body) sets it from the body it is given.
    this.sendTextOptions = {
      ...common,
      method: 'POST',
      path: `${base}/send${query}`,
      headers: { ...headers, 'content-type': 'text/plain; charset=utf-8' },
    };
    this.sendBinaryOptions = {
      ...this.sendTextOptions,
      headers: { ...headers, 'content-type': 'application/octet-stream' },
    };
  }

  get bytesSent(): number {
    return this.counter.bytesSent;
  }

  get bytesReceived(): number {
    return this.counter.bytesReceived;
  }

  /** Frames are counted as their POST is written (onSendWritten), not as they join the queue. */
  readonly countsSentFrames = true;

  get bufferedAmount(): number {
    return this.queuedBytes;
  }

  get isOpen(): boolean {
    return this.state === State.Open;
  }

  // ---- connect ----------------------------------------------------------------------------

  /**
   * Starts the poll loop and resolves once the server has accepted the session: the first
   * poll's response headers (200/204; servers should answer the poll that creates a session at
   * once, as the embedded targets do). For a server that holds that poll instead, a probe
   * `GET {lp}/ping` goes out PROBE_AFTER_MS after the first poll is on the wire, and any answer
   * to it (404 from a server that has no /ping included) opens the session. A 4xx/5xx answer to
   * the poll rejects with handshake_rejected; the connect timer covers both.
   */
  connect(): Promise<void> {
    if (this.setupError !== undefined) return Promise.reject(this.setupError);
    if (this.state !== State.Idle) {
      return Promise.reject(new TransportError('other', 'connect() called twice on one long-poll session'));
    }
    this.state = State.Connecting;
    this.debug?.(`long-poll session ${this.sessionId} at ${this.lpUrl}`);
    return new Promise<void>((resolve, reject) => {
      this.connectResolve = resolve;
      this.connectReject = reject;
      this.connectTimer = setTimeout(this.onConnectTimeout, this.handshakeTimeoutMs);
      this.startPoll();
    });
  }

  private readonly onConnectTimeout = (): void => {
    this.failConnect('connect_timeout', `long-poll handshake with ${this.lpUrl} timed out after ${this.handshakeTimeoutMs}ms`);
  };

  private readonly onFirstPollWritten = (): void => {
    if (this.state !== State.Connecting) return;
    this.probeTimer = setTimeout(this.sendProbe, Math.min(PROBE_AFTER_MS, this.handshakeTimeoutMs / 2));
  };

  private readonly sendProbe = (): void => {
    this.probeTimer = undefined;
    if (this.state !== State.Connecting) return;
    const req = this.request(this.pingOptions);
    this.probeReq = req;
    req.once('socket', markUsed);
    req.once('response', this.onProbeResponse);
    req.on('error', this.onProbeError);
    req.end();
    this.debug?.(`> GET ${this.pingOptions.path} (connect probe)`);
  };

  private readonly onProbeResponse = (res: http.IncomingMessage): void => {
    this.probeReq = undefined;
    res.resume();
    res.on('error', ignoreError);
    if (this.state !== State.Connecting) return;
    // Any answer opens the session: the server is up and holds the first poll, which is all the
    // convention (DESIGN.md) asks of it; a server without /ping answers 404 and is still right.
    // A wrong URL or a refusing server shows on the poll itself, which rejects the handshake.
    this.debug?.(`< ${res.statusCode ?? 0} connect probe`);
    this.markOpen();
  };

  private readonly onProbeError = (err: Error): void => {
    this.probeReq = undefined;
    if (this.state !== State.Connecting) return;
    this.failConnectWith(err);
  };

  private markOpen(): void {
    clearTimeout(this.connectTimer);
    clearTimeout(this.probeTimer);
    this.connectTimer = this.probeTimer = undefined;
    this.state = State.Open;
    const resolve = this.connectResolve;
    this.connectResolve = this.connectReject = undefined;
    resolve?.();
  }

  private failConnectWith(err: Error): void {
    // Same classification and wording as the ws transport, so a refused port reads the same.
    const classified = classifyConnectError(err, this.lpUrl);
    this.failConnect(classified.kind, `long-poll ${classified.message}`);
  }

  private failConnect(kind: ErrorKind, message: string): void {
    if (this.state !== State.Connecting) return;
    this.state = State.Closed;
    this.teardown();
    const reject = this.connectReject;
    this.connectResolve = this.connectReject = undefined;
    reject?.(new TransportError(kind, message));
  }

  // ---- poll loop --------------------------------------------------------------------------

  private startPoll(): void {
    const req = this.request(this.pollOptions);
    this.pollReq = req;
    this.pollAnswered = false;
    this.pollOnReusedSocket = false;
    req.once('socket', this.onPollSocket);
    req.once('response', this.onPollResponse);
    req.on('error', this.onPollError);
    if (this.state === State.Connecting) req.once('finish', this.onFirstPollWritten);
    req.end();
  }

  private readonly onPollResponse = (res: http.IncomingMessage): void => {
    const status = res.statusCode ?? 0;
    this.pollAnswered = true;
    this.pollRetried = false;
    res.on('error', this.onPollError);
    if (this.state === State.Connecting) {
      if (status === 200 || status === 204) {
        this.markOpen();
      } else {
        res.resume();
        this.failConnect('handshake_rejected', `long-poll handshake rejected with HTTP ${status} by ${this.lpUrl}`);
        return;
      }
    }
    if (this.state === State.Closing) {
      // The poll held when the session began closing: its answer was on its way (or the
      // server answers it as it ends the session). Frames in it were sent: read and count them.
      if (status === 200) {
        this.pollChunks = [];
        this.pollBodyBytes = 0;
        res.on('data', this.onPollData);
        res.once('end', this.onPollBodyEnd);
      } else {
        res.once('end', this.onPollEmptyEnd);
        res.resume();
      }
      return;
    }
    if (this.state !== State.Open) {
      res.resume();
      return;
    }
    if (status === 200) {
      this.pollChunks = [];
      this.pollBodyBytes = 0;
      res.on('data', this.onPollData);
      res.once('end', this.onPollBodyEnd);
    } else if (status === 204) {
      this.debug?.('< 204 poll (no frames)');
      res.once('end', this.onPollEmptyEnd);
      res.resume();
    } else {
      res.resume();
      if (status === 404 || status === 410) {
        this.failOpen('closed_by_server', `long-poll session ended by the server (poll answered HTTP ${status})`);
      } else {
        this.failOpen('protocol_error', `long-poll poll answered HTTP ${status}`);
      }
    }
  };

  private readonly onPollSocket = (socket: object): void => {
    this.pollOnReusedSocket = markUsed(socket);
  };

  private readonly onPollData = (chunk: Buffer): void => {
    this.pollChunks.push(chunk);
    this.pollBodyBytes += chunk.length;
  };

  private readonly onPollEmptyEnd = (): void => {
    this.pollReq = undefined;
    if (this.state === State.Open) this.startPoll();
    else if (this.state === State.Closing) this.maybeFinishClose();
  };

  private readonly onPollBodyEnd = (): void => {
    const arrivedAtMs = performance.now();
    this.pollReq = undefined;
    if (this.state !== State.Open && this.state !== State.Closing) return;
    const closing = this.state === State.Closing;
    const chunks = this.pollChunks;
    this.pollChunks = [];
    // One chunk (the common case for small bodies) is decoded in place; only a body split
    // across reads is joined.
    const body = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, this.pollBodyBytes);
    const frames = parsePollBody(body, arrivedAtMs);
    if (typeof frames === 'string') {
      if (closing) this.maybeFinishClose();
      else this.failOpen('protocol_error', frames);
      return;
    }
    if (this.debug) {
      this.debug(`< 200 poll (${frames.length} frame${frames.length === 1 ? '' : 's'}, ${body.length} bytes)`);
      // Each frame, as the browser's Messages tab shows it (the ws transport's format).
      for (const f of frames) this.debug(`← ${f.text !== undefined ? f.text : `binary ${f.bytes?.length ?? 0} bytes`}`);
    }
    // Poll again before delivering, so the server can hold the next poll while we match
    // (not while closing: this was the last poll).
    if (!closing) this.startPoll();
    for (let i = 0; i < frames.length; i++) {
      // A handler may destroy the session; frames after that are dropped. A handler that closes
      // it politely still gets the rest of this answer: the server sent them.
      if (this.state !== State.Open && this.state !== State.Closing) return;
      this.sink.onFrame(frames[i]!);
    }
    if (closing) this.maybeFinishClose();
  };

  private readonly onPollError = (err: Error): void => {
    if (this.state === State.Connecting) {
      this.failConnectWith(err);
    } else if (this.state === State.Open) {
      if (!this.pollRetried && !this.pollAnswered && isStaleKeepAlive(err, this.pollOnReusedSocket)) {
        this.pollRetried = true;
        this.startPoll();
        return;
      }
      this.failOpenWith('poll', err);
    } else if (this.state === State.Closing) {
      // The last poll failed (a server that drops it as the session ends): nothing more to read.
      this.pollReq = undefined;
      this.maybeFinishClose();
    }
  };

  // ---- sends ------------------------------------------------------------------------------

  send(payload: string | Uint8Array, binary: boolean): void {
    if (this.state !== State.Open) throw new TransportError('send_failed', 'long-poll session is not open');
    let body: string | Buffer;
    let bytes: number;
    if (typeof payload === 'string') {
      body = binary ? Buffer.from(payload, 'utf8') : payload;
      bytes = typeof body === 'string' ? Buffer.byteLength(body, 'utf8') : body.length;
    } else {
      body = Buffer.isBuffer(payload) ? payload : Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
      bytes = body.length;
    }
    if (this.debug) this.debug(`→ ${binary ? `binary ${bytes} bytes` : String(payload)}`);
    this.sendQueue.push({ body, bytes, binary, counted: false });
    this.queuedBytes += bytes;
    if (this.sendReq === undefined) this.pumpSends();
  }

  // One POST at a time, each waiting for its response: with two sockets, a second POST could
  // otherwise overtake the first on the other socket, and a browser never reorders sends.
  private pumpSends(): void {
    const item = this.sendQueue.shift();
    if (item === undefined) {
      if (this.closeRequested && this.state === State.Closing && this.closeReq === undefined) this.sendClose();
      return;
    }
    const req = this.request(item.binary ? this.sendBinaryOptions : this.sendTextOptions);
    this.sendReq = req;
    this.sendItem = item;
    this.sendAnswered = false;
    this.sendOnReusedSocket = false;
    req.once('socket', this.onSendSocket);
    this.sendInFlightBytes = item.bytes;
    req.once('finish', this.onSendWritten);
    req.once('response', this.onSendResponse);
    req.on('error', this.onSendError);
    req.end(item.body);
    if (this.debug !== undefined) {
      this.debug(`> POST ${this.sendTextOptions.path} (${item.bytes} bytes ${item.binary ? 'binary' : 'text'})`);
    }
  }

  private readonly onSendSocket = (socket: object): void => {
    this.sendOnReusedSocket = markUsed(socket);
  };

  private readonly onSendWritten = (): void => {
    this.queuedBytes -= this.sendInFlightBytes;
    this.sendInFlightBytes = 0;
    const item = this.sendItem;
    if (item !== undefined && !item.counted) {
      item.counted = true;
      this.sink.onFrameWritten?.();
    }
  };

  private readonly onSendResponse = (res: http.IncomingMessage): void => {
    this.sendAnswered = true;
    this.sendRetried = false;
    res.on('error', this.onSendError);
    const status = res.statusCode ?? 0;
    if (status >= 400) {
      res.resume();
      if (this.state !== State.Open) {
        this.sendFailedWhileClosing();
      } else if (status === 404 || status === 410) {
        this.failOpen('closed_by_server', `long-poll session ended by the server (send answered HTTP ${status})`);
      } else {
        this.failOpen('send_failed', `long-poll send answered HTTP ${status}`);
      }
      return;
    }
    res.once('end', this.onSendDone);
    res.resume();
  };

  private readonly onSendDone = (): void => {
    this.sendReq = undefined;
    if (this.state === State.Open || this.state === State.Closing) this.pumpSends();
  };

  private readonly onSendError = (err: Error): void => {
    if (this.state === State.Open) {
      const item = this.sendItem;
      if (item !== undefined && !this.sendRetried && !this.sendAnswered && isStaleKeepAlive(err, this.sendOnReusedSocket)) {
        // The server had closed the idle keep-alive socket: it never saw this request, so it
        // goes again, first in line, on a fresh connection (once, as browsers do).
        this.sendRetried = true;
        this.queuedBytes += item.bytes - this.sendInFlightBytes; // back in the queue, unwritten
        this.sendInFlightBytes = 0;
        this.sendReq = undefined;
        this.sendQueue.unshift(item);
        this.pumpSends();
        return;
      }
      this.failOpenWith('send', err);
    } else if (this.state === State.Closing) {
      this.sendFailedWhileClosing();
    }
  };

  private sendFailedWhileClosing(): void {
    if (this.state !== State.Closing) return;
    // The close request cannot go out behind a broken send; end the session here.
    this.sendReq = undefined;
    this.sendQueue.length = 0;
    this.finishClose();
  }

  // ---- ping -------------------------------------------------------------------------------

  /** Ping over long-poll is an HTTP round trip: `GET {lp}/ping`, any response completes it. */
  ping(timeoutMs: number): Promise<number> {
    if (this.state !== State.Open) {
      return Promise.reject(new TransportError('send_failed', 'long-poll session is not open'));
    }
    return new Promise<number>((resolve, reject) => {
      const startedAtMs = performance.now();
      const req = this.request(this.pingOptions);
      const pending: PendingPing = {
        req,
        reject,
        timer: setTimeout(() => {
          this.pings.delete(pending);
          req.destroy();
          reject(new TransportError('ping_timeout', `no answer to the long-poll ping within ${timeoutMs}ms`));
        }, timeoutMs),
      };
      this.pings.add(pending);
      req.once('socket', markUsed);
      req.once('response', (res) => {
        const rttMs = performance.now() - startedAtMs;
        res.on('error', ignoreError);
        res.resume();
        if (!this.pings.delete(pending)) return;
        clearTimeout(pending.timer);
        resolve(rttMs);
      });
      req.on('error', (err) => {
        if (!this.pings.delete(pending)) return;
        clearTimeout(pending.timer);
        reject(new TransportError(classifyHttpError(err), `long-poll ping failed: ${describe(err)}`));
      });
      req.end();
    });
  }

  // ---- close ------------------------------------------------------------------------------

  /**
   * Stops polling, lets queued sends go out in order, then `POST {lp}/close`; any response (or
   * an error, or handshakeTimeoutMs without one) ends the session: sockets are destroyed and
   * the sink gets {code: 1000, initiatedByClient: true}. The close code itself is not sent
   * (the convention has no place for it).
   */
  close(_code: number, reason: string): Promise<void> {
    if (this.state === State.Closed) return Promise.resolve();
    if (this.state === State.Closing && this.closePromise !== undefined) return this.closePromise;
    if (this.state !== State.Open) {
      this.destroy();
      return Promise.resolve();
    }
    this.state = State.Closing;
    this.closeReason = reason;
    this.closeRequested = true;
    // The poll in flight is kept: an answer already on its way (a burst, a flood) carries frames
    // the server sent, and a server answers a held poll as POST /close ends the session. Both
    // are read and counted before the close completes (bounded by the close timer below).
    this.closePromise = new Promise<void>((resolve) => {
      this.closeResolve = resolve;
    });
    this.closeTimer = setTimeout(this.onCloseTimeout, this.handshakeTimeoutMs);
    if (this.sendReq === undefined) this.pumpSends();
    return this.closePromise;
  }

  private sendClose(): void {
    this.closeSentAtMs = performance.now();
    const req = this.request(this.closeOptions);
    this.closeReq = req;
    req.once('socket', markUsed);
    req.once('response', this.onCloseResponse);
    req.on('error', this.onCloseError);
    req.end();
    this.debug?.(`> POST ${this.closeOptions.path}`);
  }

  private readonly onCloseResponse = (res: http.IncomingMessage): void => {
    res.on('error', this.onCloseError);
    const status = res.statusCode ?? 0;
    this.debug?.(`< ${status} close`);
    if (status < 200 || status > 299) {
      // The server did not end the session (no /close endpoint, or it had ended it already),
      // so nothing will answer a held poll before its poll timeout: stop waiting for it.
      const poll = this.pollReq;
      this.pollReq = undefined;
      poll?.destroy();
    }
    // Read the answer to its end so the bytes counted match what the server wrote.
    res.once('end', this.onCloseDone);
    res.resume();
  };

  private readonly onCloseDone = (): void => {
    this.closeAnswered = true;
    this.closeSettleMs = Math.max(CLOSE_SETTLE_MIN_MS, performance.now() - this.closeSentAtMs);
    this.maybeFinishClose();
  };

  private readonly onCloseError = (): void => {
    this.onCloseDone();
  };

  /**
   * The close completes once POST /close is answered and the last poll has settled: read to
   * its end when its answer has begun; otherwise given as long as the close's round trip (at
   * least CLOSE_SETTLE_MIN_MS) for an answer the server wrote before the close's to show, then
   * aborted (a server that keeps holding it after the close).
   */
  private maybeFinishClose(): void {
    if (this.state !== State.Closing || !this.closeAnswered) return;
    if (this.pollReq === undefined) this.finishClose();
    else if (!this.pollAnswered && this.settleTimer === undefined) this.settleTimer = setTimeout(this.onCloseSettled, this.closeSettleMs);
  }

  private readonly onCloseSettled = (): void => {
    // One more pass of the event loop's I/O first: a loop that was busy when the timer came due
    // may have the poll's answer waiting unread.
    setImmediate(this.onCloseSettleCheck);
  };

  private readonly onCloseSettleCheck = (): void => {
    if (this.state !== State.Closing || this.pollAnswered) return;
    const poll = this.pollReq;
    this.pollReq = undefined;
    poll?.destroy();
    this.finishClose();
  };

  private readonly onCloseTimeout = (): void => {
    this.finishClose();
  };

  private finishClose(): void {
    if (this.state !== State.Closing) return;
    this.state = State.Closed;
    this.teardown();
    this.emitClose({ code: CLOSE_NORMAL, reason: this.closeReason, initiatedByClient: true });
    const resolve = this.closeResolve;
    this.closeResolve = undefined;
    resolve?.();
  }

  /** Ends at once: in-flight requests and sockets are destroyed, no close request is sent. */
  destroy(): void {
    const previous = this.state;
    if (previous === State.Closed) return;
    if (previous === State.Connecting) {
      this.failConnect('other', 'long-poll session destroyed while connecting');
      return;
    }
    this.state = State.Closed;
    this.teardown();
    if (previous === State.Open || previous === State.Closing) {
      this.emitClose({ code: CLOSE_ABNORMAL, reason: 'destroyed', initiatedByClient: true });
      const resolve = this.closeResolve;
      this.closeResolve = undefined;
      resolve?.();
    }
  }

  // ---- shared ends ------------------------------------------------------------------------

  /**
   * A poll or send of an open session failed on the socket. A lost connection (reset, refused
   * when reconnecting, aborted, timed out) means the server went away: `reset`, as the ws
   * transport counts a dropped connection; `connect_refused` is only for the first request.
   * Any other failure keeps its own kind (poll) or is a `send_failed` (send).
   */
  private failOpenWith(what: 'poll' | 'send', err: Error): void {
    const code = (err as { code?: unknown }).code;
    const lost = typeof code === 'string' ? LOST_CONNECTION.get(code) : undefined;
    if (lost !== undefined) {
      this.failOpen('reset', `long-poll connection lost (${what}: ${lost} ${this.lpUrl})`);
    } else if (what === 'send') {
      this.failOpen('send_failed', `long-poll send failed: ${describe(err)}`);
    } else {
      this.failOpen(classifyHttpError(err), `long-poll poll failed: ${describe(err)}`);
    }
  }

  private failOpen(kind: ErrorKind, message: string): void {
    if (this.state !== State.Open) return;
    this.state = State.Closed;
    this.teardown();
    this.emitClose({
      code: CLOSE_ABNORMAL,
      reason: message,
      initiatedByClient: false,
      errorKind: kind,
      errorMessage: message,
    });
  }

  private emitClose(info: CloseInfo): void {
    this.debug?.(`closed ${info.code}${info.errorKind ? ` (${info.errorKind}: ${info.errorMessage ?? ''})` : ''}`);
    this.sink.onClose(info);
  }

  private teardown(): void {
    clearTimeout(this.connectTimer);
    clearTimeout(this.closeTimer);
    clearTimeout(this.probeTimer);
    clearTimeout(this.settleTimer);
    this.connectTimer = this.closeTimer = this.probeTimer = this.settleTimer = undefined;
    for (const req of [this.pollReq, this.sendReq, this.probeReq, this.closeReq]) req?.destroy();
    this.pollReq = this.sendReq = this.probeReq = this.closeReq = undefined;
    for (const ping of this.pings) {
      clearTimeout(ping.timer);
      ping.req.destroy();
      ping.reject(new TransportError('other', 'long-poll session closed before the ping was answered'));
    }
    this.pings.clear();
    this.sendQueue.length = 0;
    this.queuedBytes = 0;
    this.sendInFlightBytes = 0;
    this.pollChunks = [];
    // Destroys the sockets in use and the idle ones; their byte counts stay in the counter.
    this.agent?.destroy();
  }
}

/** Keys of a one-key object that carries a binary frame as base64 ("binary as base64 objects"). */
const BASE64_KEYS = ['base64', 'binary', 'b64'];

/**
 * A poll body -> frames: a JSON array whose strings are text frames, whose one-key objects
 * `{"base64": "…"}` (or `binary`, `b64`) are binary frames, and whose other values (a JSON
 * message sent as an object, a number…) are text frames holding that value's JSON, already
 * parsed for json matchers. Returns a problem description (string) when the body is not a JSON
 * array: then how many frames it held is unknown.
 */
export function parsePollBody(body: Buffer, arrivedAtMs: number): InboundFrame[] | string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    return `long-poll poll body is not JSON (${body.length} bytes)`;
  }
  if (!Array.isArray(parsed)) return 'long-poll poll body is not a JSON array of frames';
  const frames: InboundFrame[] = new Array<InboundFrame>(parsed.length);
  for (let i = 0; i < parsed.length; i++) {
    const item: unknown = parsed[i];
    if (typeof item === 'string') {
      frames[i] = { text: item, bytes: undefined, arrivedAtMs };
      continue;
    }
    const base64 = base64Of(item);
    if (base64 !== undefined) frames[i] = { text: undefined, bytes: Buffer.from(base64, 'base64'), arrivedAtMs };
    else frames[i] = { text: JSON.stringify(item), bytes: undefined, arrivedAtMs, jsonState: 1, json: item };
  }
  return frames;
}

function base64Of(item: unknown): string | undefined {
  if (typeof item !== 'object' || item === null || Array.isArray(item)) return undefined;
  const keys = Object.keys(item);
  if (keys.length !== 1 || !BASE64_KEYS.includes(keys[0]!)) return undefined;
  const value = (item as Record<string, unknown>)[keys[0]!];
  return typeof value === 'string' ? value : undefined;
}

/** A request that failed at once on a reused keep-alive socket the server had already closed. */
function isStaleKeepAlive(err: Error, onReusedSocket: boolean): boolean {
  const code = (err as { code?: unknown }).code;
  return onReusedSocket && (code === 'ECONNRESET' || code === 'EPIPE');
}

// Sockets that have carried a request. Node sets `req.reusedSocket` only when a free socket is
// at hand as the request is made, not when a queued request gets a socket as it frees up (the
// usual case here: sends queue behind each other), so reuse is tracked on the socket itself.
const usedSockets = new WeakSet<object>();

function markUsed(socket: object): boolean {
  const reused = usedSockets.has(socket);
  usedSockets.add(socket);
  return reused;
}

function describe(err: Error): string {
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' && !err.message.includes(code) ? `${code} ${err.message}` : err.message;
}

function ignoreError(): void {
  // A response stream error after we already settled: the request's own handler reports it.
}
