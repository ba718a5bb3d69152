// Long-poll side of a target, by the convention of DESIGN.md ("Long-poll transport"):
//   POST {lp}/send?session=ID   body = one frame (text/plain, or application/octet-stream) -> 204
//   GET  {lp}/poll?session=ID   held until a frame is queued -> 200 JSON array, or 204 on timeout
//   GET  {lp}/ping?session=ID   -> 204 (a timed round trip)
//   POST {lp}/close?session=ID  -> 204 (ends the session)
// A session is created by the first request that names a new id. The poll that creates a session
// answers at once (204, or 200 if the app queued frames on open), so a client learns the session
// is open without waiting a whole poll timeout. Requests for a session the server ended (closed,
// expired, overflowed) get 410 Gone. Sessions idle for 2x the poll timeout expire.

import type { IncomingMessage, ServerResponse } from 'node:http';
import { newConnectionId, type TargetCounters } from './counters.js';
import type { ClientConnection, ConnectionHandler, TargetApp } from './types.js';

export interface LongPollOptions {
  pollTimeoutMs: number;
  /** A session whose queue passes either bound (the client stopped polling) is ended. */
  maxQueuedFrames: number;
  maxQueuedBytes: number;
  /** Largest body accepted by /send (413 beyond). */
  maxBodyBytes: number;
  /** Open sessions beyond this are refused with 503. */
  maxSessions: number;
}

const SESSION_ID = /^[A-Za-z0-9._~-]{1,128}$/;
/** How many ended session ids are remembered (for 410 answers); oldest forgotten first. */
const MAX_REMEMBERED_ENDED = 10_000;

type EndCause = 'client' | 'server' | 'expired' | 'overflow' | 'shutdown';

class LongPollSession implements ClientConnection {
  readonly id = newConnectionId();
  readonly transport = 'long-poll' as const;
  handler: ConnectionHandler | undefined;
  lastSeenMs: number;
  private queue: (string | Buffer)[] = [];
  private queuedBytes = 0;
  private pendingPoll: ServerResponse | undefined;
  private pollTimer: NodeJS.Timeout | undefined;
  private flushScheduled = false;
  private ended = false;

  constructor(
    readonly sessionId: string,
    readonly query: URLSearchParams,
    private readonly endpoint: LongPollEndpoint,
  ) {
    this.lastSeenMs = performance.now();
  }

  get isOpen(): boolean {
    return !this.ended;
  }

  get isPolling(): boolean {
    return this.pendingPoll !== undefined;
  }

  send(frame: string | Uint8Array): void {
    if (this.ended) return;
    const item = typeof frame === 'string' ? frame : Buffer.from(frame.buffer, frame.byteOffset, frame.byteLength);
    this.queue.push(item);
    this.queuedBytes += item.length;
    const opts = this.endpoint.options;
    if (this.queue.length > opts.maxQueuedFrames || this.queuedBytes > opts.maxQueuedBytes) {
      this.end('overflow');
      return;
    }
    // Frames queued in the same tick (a broadcast, a burst) leave in one response.
    if (this.pendingPoll && !this.flushScheduled) {
      this.flushScheduled = true;
      queueMicrotask(() => {
        this.flushScheduled = false;
        this.flush();
      });
    }
  }

  close(_code: number, _reason: string): void {
    this.end('server');
  }

  /** GET /poll. `answerAtOnce` for the poll that created the session. */
  poll(res: ServerResponse, answerAtOnce: boolean): void {
    if (this.ended) {
      reply(res, 410, 'session ended');
      return;
    }
    this.lastSeenMs = performance.now();
    if (this.pendingPoll) {
      // A newer poll replaces an older one (e.g. the client gave up on it): the old one ends empty.
      this.answerPoll(204);
    }
    this.pendingPoll = res;
    res.on('close', () => {
      if (this.pendingPoll === res) {
        // The client went away mid-poll.
        this.pendingPoll = undefined;
        this.clearPollTimer();
        this.lastSeenMs = performance.now();
      }
    });
    if (this.queue.length > 0) {
      this.flush();
    } else if (answerAtOnce) {
      this.answerPoll(204);
    } else {
      this.pollTimer = setTimeout(() => {
        this.pollTimer = undefined;
        this.answerPoll(204);
      }, this.endpoint.options.pollTimeoutMs);
    }
  }

  /** POST /send with a complete body. */
  receive(frame: string | Buffer): void {
    this.lastSeenMs = performance.now();
    this.endpoint.counters.framesReceived++;
    const h = this.handler;
    if (h) safely(() => h.onFrame(frame));
  }

  touch(): void {
    this.lastSeenMs = performance.now();
  }

  end(cause: EndCause): void {
    if (this.ended) return;
    this.ended = true;
    this.queue = [];
    this.queuedBytes = 0;
    // The client asked for the end, so its last poll just ends empty; any other end is the
    // server's decision and the client is told with 410 Gone.
    if (this.pendingPoll) this.answerPoll(cause === 'client' ? 204 : 410);
    this.endpoint.sessionEnded(this);
    const h = this.handler;
    this.handler = undefined;
    if (h) safely(() => h.onClose());
  }

  private flush(): void {
    const res = this.pendingPoll;
    if (!res || this.queue.length === 0) return;
    const frames = this.queue;
    this.queue = [];
    this.queuedBytes = 0;
    let body = '[';
    for (let i = 0; i < frames.length; i++) {
      const f = frames[i]!;
      if (i > 0) body += ',';
      body += typeof f === 'string' ? JSON.stringify(f) : `{"base64":"${f.toString('base64')}"}`;
    }
    body += ']';
    this.endpoint.counters.framesSent += frames.length;
    this.pendingPoll = undefined;
    this.clearPollTimer();
    this.lastSeenMs = performance.now();
    res.writeHead(200, {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(body),
      'cache-control': 'no-store',
    });
    res.end(body);
  }

  private answerPoll(status: 204 | 410): void {
    const res = this.pendingPoll;
    this.pendingPoll = undefined;
    this.clearPollTimer();
    if (res && !res.headersSent && !res.destroyed) reply(res, status);
  }

  private clearPollTimer(): void {
    if (this.pollTimer) {
      clearTimeout(this.pollTimer);
      this.pollTimer = undefined;
    }
  }
}

function safely(fn: () => void): void {
  try {
    fn();
  } catch {
    // An app bug costs one frame, not the target.
  }
}

function reply(res: ServerResponse, status: number, message?: string): void {
  if (res.headersSent) return;
  if (message === undefined) {
    res.writeHead(status, { 'cache-control': 'no-store' });
    res.end();
  } else {
    const body = message + '\n';
    res.writeHead(status, {
      'content-type': 'text/plain; charset=utf-8',
      'content-length': Buffer.byteLength(body),
      'cache-control': 'no-store',
    });
    res.end(body);
  }
}

export class LongPollEndpoint {
  private readonly sessions = new Map<string, LongPollSession>();
  /** Ended session ids -> when they ended, insertion-ordered so the oldest go first. */
  private readonly endedIds = new Map<string, number>();
  private readonly sweepTimer: NodeJS.Timeout;

  constructor(
    private readonly app: TargetApp,
    readonly counters: TargetCounters,
    readonly options: LongPollOptions,
  ) {
    // One timer for all sessions: expiry needs no per-session timer.
    const sweepEveryMs = Math.max(50, Math.min(options.pollTimeoutMs, 5000));
    this.sweepTimer = setInterval(() => this.sweep(), sweepEveryMs);
    this.sweepTimer.unref();
  }

  get openSessions(): number {
    return this.sessions.size;
  }

  /** Routes a request whose path is under /lp. */
  handle(req: IncomingMessage, res: ServerResponse, url: URL): void {
    const op = url.pathname.slice('/lp/'.length);
    const expectedMethod = op === 'send' || op === 'close' ? 'POST' : op === 'poll' || op === 'ping' ? 'GET' : undefined;
    if (!expectedMethod) {
      drain(req);
      reply(res, 404, `unknown long-poll endpoint ${url.pathname}; use /lp/send, /lp/poll, /lp/ping or /lp/close`);
      return;
    }
    if (req.method !== expectedMethod) {
      drain(req);
      res.setHeader('allow', expectedMethod);
      reply(res, 405, `${url.pathname} takes ${expectedMethod}`);
      return;
    }
    const sessionId = url.searchParams.get('session');
    if (sessionId === null || !SESSION_ID.test(sessionId)) {
      drain(req);
      reply(res, 400, 'missing or invalid session parameter (1-128 characters of A-Z a-z 0-9 . _ ~ -)');
      return;
    }
    if (this.endedIds.has(sessionId)) {
      drain(req);
      reply(res, 410, 'session ended');
      return;
    }
    let session = this.sessions.get(sessionId);
    switch (op) {
      case 'ping':
        session?.touch();
        reply(res, 204);
        return;
      case 'close':
        drain(req);
        session?.end('client');
        reply(res, 204);
        return;
      case 'poll': {
        let created = false;
        if (!session) {
          session = this.open(sessionId, url, res);
          if (!session) return;
          created = true;
        }
        session.poll(res, created);
        return;
      }
      case 'send':
        this.readBody(req, res, (frame) => {
          let s = this.sessions.get(sessionId);
          if (!s) {
            if (this.endedIds.has(sessionId)) return reply(res, 410, 'session ended');
            s = this.open(sessionId, url, res);
            if (!s) return;
          }
          s.receive(frame);
          reply(res, 204);
        });
        return;
    }
  }

  sessionEnded(session: LongPollSession): void {
    if (this.sessions.get(session.sessionId) !== session) return;
    this.sessions.delete(session.sessionId);
    this.endedIds.set(session.sessionId, performance.now());
    if (this.endedIds.size > MAX_REMEMBERED_ENDED) {
      const oldest = this.endedIds.keys().next();
      if (!oldest.done) this.endedIds.delete(oldest.value);
    }
    this.counters.connectionClosed();
  }

  closeAll(): void {
    clearInterval(this.sweepTimer);
    for (const s of [...this.sessions.values()]) s.end('shutdown');
  }

  private open(sessionId: string, url: URL, res: ServerResponse): LongPollSession | undefined {
    if (this.sessions.size >= this.options.maxSessions) {
      reply(res, 503, 'too many long-poll sessions');
      return undefined;
    }
    const query = new URLSearchParams(url.searchParams);
    query.delete('session');
    const session = new LongPollSession(sessionId, query, this);
    this.sessions.set(sessionId, session);
    this.counters.connectionOpened();
    try {
      session.handler = this.app.open(session);
    } catch {
      session.end('server');
    }
    return session;
  }

  private readBody(req: IncomingMessage, res: ServerResponse, done: (frame: string | Buffer) => void): void {
    const limit = this.options.maxBodyBytes;
    // An oversize body is read and dropped (so the client sees the 413 rather than a reset while
    // it is still writing), up to a hard cap past which the connection is cut.
    const hardCap = 16 * limit;
    const refuse = (): void => {
      res.setHeader('connection', 'close');
      reply(res, 413, `frame larger than ${limit} bytes`);
    };
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > hardCap) {
      refuse();
      req.destroy();
      return;
    }
    const binary = (req.headers['content-type'] ?? '').toLowerCase().startsWith('application/octet-stream');
    let chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > hardCap) {
        refuse();
        req.destroy();
      } else if (size <= limit) {
        chunks.push(chunk);
      } else {
        chunks = [];
      }
    });
    req.on('end', () => {
      if (size > limit) return refuse();
      const body = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size);
      done(binary ? body : body.toString('utf8'));
    });
    req.on('error', () => {});
  }

  private sweep(): void {
    const now = performance.now();
    const idleLimitMs = 2 * this.options.pollTimeoutMs;
    for (const s of [...this.sessions.values()]) {
      if (!s.isPolling && now - s.lastSeenMs > idleLimitMs) s.end('expired');
    }
    // Ended ids only need to outlive the clients that might still ask about them.
    for (const [id, endedAtMs] of this.endedIds) {
      if (now - endedAtMs <= Math.max(idleLimitMs, 60_000)) break;
      this.endedIds.delete(id);
    }
  }
}

/** Reads and discards a body we will not use, so a keep-alive connection stays usable. */
function drain(req: IncomingMessage): void {
  req.resume();
  req.on('error', () => {});
}
