// startTarget: one HTTP(S) server per embedded target. WebSocket upgrades on any path go to the
// ws adapter, /lp/* to the long-poll endpoint, GET / to the demo page; both adapters drive the
// same app instance, so a WebSocket client and a long-poll client can share a chat room.

import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { VolleyError } from '../errors.js';
import { createChatApp } from './chat.js';
import { TargetCounters } from './counters.js';
import { renderDemoPage } from './demo-page.js';
import { createEchoApp } from './echo.js';
import { createFeedApp } from './feed.js';
import { LongPollEndpoint } from './longpoll.js';
import {
  TARGET_NAMES,
  isTargetName,
  type RunningTarget,
  type TargetApp,
  type TargetName,
  type TargetOptions,
} from './types.js';
import { attachWebSocket } from './ws-adapter.js';

const DEFAULT_POLL_TIMEOUT_MS = 25_000;
const DEFAULT_FEED_RATE_PER_SECOND = 10;
const MAX_FRAME_BYTES = 1024 * 1024;
const MAX_BUFFERED_BYTES_PER_CLIENT = 8 * 1024 * 1024;
const MAX_QUEUED_FRAMES_PER_SESSION = 10_000;
const MAX_LONG_POLL_SESSIONS = 100_000;

function createApp(name: TargetName, opts: TargetOptions): TargetApp {
  switch (name) {
    case 'echo':
      return createEchoApp();
    case 'chat':
      return createChatApp();
    case 'feed':
      return createFeedApp({ ratePerSecond: opts.feedRatePerSecond ?? DEFAULT_FEED_RATE_PER_SECOND });
  }
}

function checkOptions(name: string, opts: TargetOptions): void {
  if (!isTargetName(name)) {
    throw new VolleyError('INVALID_INPUT', `unknown target "${name}"; expected one of ${TARGET_NAMES.join(', ')}`);
  }
  const port = opts.port ?? 0;
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new VolleyError('INVALID_INPUT', `invalid port ${String(opts.port)}; expected an integer 0-65535`);
  }
  if (opts.pollTimeoutMs !== undefined && !(opts.pollTimeoutMs > 0 && Number.isFinite(opts.pollTimeoutMs))) {
    throw new VolleyError('INVALID_INPUT', `invalid pollTimeoutMs ${opts.pollTimeoutMs}; expected a positive number`);
  }
  const rate = opts.feedRatePerSecond;
  if (rate !== undefined && !(rate > 0 && Number.isFinite(rate))) {
    throw new VolleyError('INVALID_INPUT', `invalid feedRatePerSecond ${rate}; expected a positive number`);
  }
}

const LISTEN_ERRORS: Record<string, string> = {
  EADDRINUSE: 'address already in use',
  EACCES: 'permission denied',
  EADDRNOTAVAIL: 'address not available on this machine',
};

function hostForUrl(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

/**
 * Starts an embedded target and resolves once it listens. Prints nothing: `volley serve` prints
 * the URLs from the returned RunningTarget. Throws VolleyError INVALID_INPUT for a bad name or
 * option or an address that cannot be bound (in use, privileged, not local), RUN_FAILED otherwise.
 */
export async function startTarget(name: TargetName, opts: TargetOptions = {}): Promise<RunningTarget> {
  checkOptions(name, opts);
  const host = opts.host ?? '127.0.0.1';
  const pollTimeoutMs = opts.pollTimeoutMs ?? DEFAULT_POLL_TIMEOUT_MS;
  const counters = new TargetCounters();
  const app = createApp(name, opts);
  const server = opts.tls ? createHttpsServer({ cert: opts.tls.cert, key: opts.tls.key }) : createHttpServer();
  // The send connection of a long-poll client may idle between paced sends; keep it open.
  server.keepAliveTimeout = Math.max(5000, 2 * pollTimeoutMs);
  server.on('connection', (socket: Socket) => counters.trackSocket(socket));

  const longPoll = new LongPollEndpoint(app, counters, {
    pollTimeoutMs,
    maxQueuedFrames: MAX_QUEUED_FRAMES_PER_SESSION,
    maxQueuedBytes: MAX_BUFFERED_BYTES_PER_CLIENT,
    maxBodyBytes: MAX_FRAME_BYTES,
    maxSessions: MAX_LONG_POLL_SESSIONS,
  });
  const ws = attachWebSocket(server, app, counters, {
    maxPayloadBytes: MAX_FRAME_BYTES,
    maxBufferedBytes: MAX_BUFFERED_BYTES_PER_CLIENT,
  });
  const page = renderDemoPage(name);

  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    try {
      route(req, res);
    } catch {
      if (!res.headersSent) {
        res.writeHead(500);
        res.end();
      }
    }
  });

  function route(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://target');
    if (url.pathname.startsWith('/lp/')) {
      longPoll.handle(req, res, url);
      return;
    }
    req.resume();
    if (url.pathname === '/' && (req.method === 'GET' || req.method === 'HEAD')) {
      res.writeHead(200, {
        'content-type': 'text/html; charset=utf-8',
        'content-length': Buffer.byteLength(page),
        'cache-control': 'no-store',
      });
      res.end(req.method === 'HEAD' ? undefined : page);
      return;
    }
    const body = `not found: ${url.pathname} (this is the volley ${name} target: GET / for the demo page, WebSocket on any path, long-poll under /lp/)\n`;
    res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  }

  await new Promise<void>((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException): void => {
      longPoll.closeAll();
      app.close();
      // A port in use, a privileged port or a foreign address is the caller's choice (--port,
      // --host): invalid input. Anything else means the target could not run.
      const reason = LISTEN_ERRORS[err.code ?? ''];
      reject(
        new VolleyError(
          reason ? 'INVALID_INPUT' : 'RUN_FAILED',
          `cannot listen on ${hostForUrl(host)}:${opts.port ?? 0} for the ${name} target: ${reason ?? err.code ?? err.message}`,
        ),
      );
    };
    server.once('error', onError);
    server.listen(opts.port ?? 0, host, () => {
      server.off('error', onError);
      resolve();
    });
  });
  // A listening server's later errors (e.g. EMFILE on accept) must not crash the process.
  server.on('error', () => {});

  const port = (server.address() as AddressInfo).port;
  const origin = `${hostForUrl(host)}:${port}`;
  const secure = opts.tls !== undefined;
  let closing: Promise<void> | undefined;

  return {
    name,
    url: `${secure ? 'wss' : 'ws'}://${origin}/`,
    httpUrl: `${secure ? 'https' : 'http'}://${origin}/`,
    longPollUrl: `${secure ? 'https' : 'http'}://${origin}/lp`,
    port,
    stats: () => counters.snapshot(),
    close(): Promise<void> {
      closing ??= new Promise<void>((resolve) => {
        app.close();
        longPoll.closeAll();
        ws.closeAll();
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closing;
    },
  };
}
