// A minimal long-poll echo server for the transport's tests, kept apart from the embedded
// targets (src/targets/) on purpose: the tests check the client against the convention itself
// and against what this server's own TCP sockets counted (autocannon's helper style).
//
// Convention (docs/ws-vs-long-poll.md): POST {lp}/send -> 204, GET {lp}/poll -> 200 JSON array
// or 204 after the poll timeout, GET {lp}/ping -> 204, POST {lp}/close -> 204; a session the
// server ended answers 410. Every frame received is echoed back (text as a string, binary as
// {"base64": …}).

import http from 'node:http';
import https from 'node:https';
import type net from 'node:net';

export interface LongPollTestServerOptions {
  /** How long a poll is held before 204; default 5000. */
  pollTimeoutMs?: number;
  /** Answer the poll that creates a session at once (as the embedded targets do); default true.
   *  false holds it like any other poll, so a client must find another way to see acceptance. */
  answerFirstPollAtOnce?: boolean;
  /** Only the two endpoints DESIGN.md names (send and poll): /ping and /close answer 404. */
  onlySendAndPoll?: boolean;
  /** Answer every request with this status (a broken or refusing server). */
  rejectStatus?: number;
  /** Serve https with this key pair. */
  tls?: { cert: string | Buffer; key: string | Buffer };
}

export interface LongPollTestStats {
  sessions: string[];
  polls: number;
  emptyPolls: number; // answered 204
  framePolls: number; // answered 200
  heldPolls: number; // currently held
  framesReceived: number;
  framesSent: number;
  pings: number;
  closes: number;
  contentTypes: string[]; // of /send bodies, in order
  /** Each request's path and query string (`/lp/poll?token=…&session=…`), in order. */
  requestUrls: string[];
}

export interface LongPollTestServer {
  /** `{lp}`: http(s)://127.0.0.1:PORT/lp */
  url: string;
  port: number;
  stats: LongPollTestStats;
  /** Bytes over every TCP socket the server accepted (TLS records included). */
  bytesRead(): number;
  bytesWritten(): number;
  openSockets(): number;
  /** Resolves once every accepted socket has closed (bounded by timeoutMs, then rejects). */
  socketsClosed(timeoutMs: number): Promise<void>;
  /** The server ends a session: its held poll and later requests get 410 Gone. */
  endSession(id: string): void;
  close(): Promise<void>;
}

interface Session {
  queue: (string | Buffer)[];
  held: http.ServerResponse | undefined;
  timer: NodeJS.Timeout | undefined;
}

export async function startLongPollServer(options: LongPollTestServerOptions = {}): Promise<LongPollTestServer> {
  const pollTimeoutMs = options.pollTimeoutMs ?? 5000;
  const answerFirstPollAtOnce = options.answerFirstPollAtOnce ?? true;
  const sessions = new Map<string, Session>();
  const ended = new Set<string>();
  const sockets: net.Socket[] = [];
  const stats: LongPollTestStats = {
    sessions: [],
    polls: 0,
    emptyPolls: 0,
    framePolls: 0,
    heldPolls: 0,
    framesReceived: 0,
    framesSent: 0,
    pings: 0,
    closes: 0,
    contentTypes: [],
    requestUrls: [],
  };

  const answer = (s: Session, status: 200 | 204 | 410): void => {
    const res = s.held;
    if (res === undefined) return;
    s.held = undefined;
    stats.heldPolls--;
    clearTimeout(s.timer);
    s.timer = undefined;
    if (status === 200) {
      const body = JSON.stringify(s.queue.map((f) => (typeof f === 'string' ? f : { base64: f.toString('base64') })));
      stats.framesSent += s.queue.length;
      stats.framePolls++;
      s.queue = [];
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      res.end(body);
    } else {
      if (status === 204) stats.emptyPolls++;
      res.writeHead(status);
      res.end();
    }
  };

  const sessionFor = (id: string): Session | undefined => {
    let s = sessions.get(id);
    if (s === undefined && !ended.has(id)) {
      s = { queue: [], held: undefined, timer: undefined };
      sessions.set(id, s);
      stats.sessions.push(id);
    }
    return s;
  };

  const handler = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (options.rejectStatus !== undefined) {
        res.writeHead(options.rejectStatus, { 'content-type': 'text/plain' });
        res.end('rejected\n');
        return;
      }
      const url = new URL(req.url ?? '/', 'http://x');
      stats.requestUrls.push(req.url ?? '/');
      const id = url.searchParams.get('session') ?? '';
      const op = url.pathname.replace(/^\/lp\//, '');
      if (ended.has(id)) {
        res.writeHead(410);
        res.end();
        return;
      }
      const isNew = !sessions.has(id);
      const s = sessionFor(id)!;
      switch (op) {
        case 'poll': {
          stats.polls++;
          if (s.held !== undefined) answer(s, 204);
          s.held = res;
          stats.heldPolls++;
          res.on('close', () => {
            if (s.held === res) {
              s.held = undefined;
              stats.heldPolls--;
              clearTimeout(s.timer);
            }
          });
          if (s.queue.length > 0) answer(s, 200);
          else if (isNew && answerFirstPollAtOnce) answer(s, 204);
          else s.timer = setTimeout(() => answer(s, 204), pollTimeoutMs);
          return;
        }
        case 'send': {
          const body = Buffer.concat(chunks);
          const type = req.headers['content-type'] ?? '';
          stats.contentTypes.push(type);
          stats.framesReceived++;
          s.queue.push(type.startsWith('application/octet-stream') ? body : body.toString('utf8'));
          res.writeHead(204);
          res.end();
          // Echo in the next tick, so a burst of sends can leave in one poll answer.
          if (s.held !== undefined) setImmediate(() => s.queue.length > 0 && answer(s, 200));
          return;
        }
        case 'ping':
          stats.pings++;
          res.writeHead(options.onlySendAndPoll ? 404 : 204);
          res.end();
          return;
        case 'close':
          stats.closes++;
          if (options.onlySendAndPoll) {
            res.writeHead(404);
            res.end();
            return;
          }
          // The client aborted its held poll before closing; answering it now would race the
          // socket's close and write bytes the client never reads, so it is dropped unanswered.
          if (s.held !== undefined) {
            clearTimeout(s.timer);
            s.held.destroy();
            s.held = undefined;
            stats.heldPolls--;
          }
          sessions.delete(id);
          ended.add(id);
          res.writeHead(204);
          res.end();
          return;
        default:
          res.writeHead(404);
          res.end();
      }
    });
  };

  const server = options.tls
    ? https.createServer({ cert: options.tls.cert, key: options.tls.key }, handler)
    : http.createServer(handler);
  // 'connection' hands out the TCP socket (before TLS for https): the wire-level counts.
  server.on('connection', (socket: net.Socket) => sockets.push(socket));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;

  return {
    url: `${options.tls ? 'https' : 'http'}://127.0.0.1:${port}/lp`,
    port,
    stats,
    bytesRead: () => sockets.reduce((n, s) => n + s.bytesRead, 0),
    bytesWritten: () => sockets.reduce((n, s) => n + s.bytesWritten, 0),
    openSockets: () => sockets.filter((s) => !s.destroyed).length,
    socketsClosed: async (timeoutMs: number) => {
      const deadline = Date.now() + timeoutMs;
      while (sockets.some((s) => !s.destroyed)) {
        if (Date.now() > deadline) throw new Error(`server sockets still open after ${timeoutMs}ms`);
        await new Promise((r) => setTimeout(r, 10));
      }
    },
    endSession: (id: string) => {
      const s = sessions.get(id);
      if (s === undefined) return;
      answer(s, 410);
      sessions.delete(id);
      ended.add(id);
    },
    close: async () => {
      for (const s of sessions.values()) clearTimeout(s.timer);
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
