// `volley record`: a WebSocket proxy that relays every frame unchanged between a client (the
// browser or app under study) and the real server, and records each frame with its time.
// The upstream connection is opened *before* the client's handshake is answered, so the client
// gets the subprotocol the server chose (or the server's refusal) and no frame is ever queued.

import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { performance } from 'node:perf_hooks';
import { WebSocket, WebSocketServer, type RawData } from 'ws';
import { VolleyError } from '../errors.js';
import { splitSubprotocols, type ObservedFlow, type ObservedFrame } from './flows.js';
import { redactUrls } from './volatile.js';

export interface RecorderOptions {
  /** ws:// or wss:// URL of the real server. */
  upstream: string;
  /** HOST:PORT to listen on; default 127.0.0.1:8089 (port 0 picks a free one). */
  listen?: string;
  /** Called with one line per relayed frame (`→` client to server, `←` server to client), and per
   *  connection opened (`+`), refused (`!`) or closed (`×`). */
  onFrame?: (line: string) => void;
}

export interface Recorder {
  /** ws://HOST:PORT to point the client at. */
  listenUrl: string;
  /** Every connection relayed so far, frames in order (a snapshot). */
  flows(): ObservedFlow[];
  /** Closes every connection (1001) and stops listening. */
  stop(): Promise<void>;
  /** Client connections the upstream refused or could not take (never relayed, so no flow),
   *  each with why: `401 Unauthorized`, `connect ECONNREFUSED 127.0.0.1:9`. */
  refused(): string[];
}

/** Why a recording has no flow, for the command line: no client came, or all were refused. */
export function nothingRecordedMessage(refused: readonly string[]): string {
  if (refused.length === 0) return 'nothing was recorded: no client connected through the proxy';
  const reasons = [...new Set(refused)];
  return (
    `nothing was recorded: ${refused.length} client connection${refused.length === 1 ? '' : 's'} came through the proxy, ` +
    `but the upstream refused ${refused.length === 1 ? 'it' : 'all of them'} (${reasons.slice(0, 3).join('; ')}${reasons.length > 3 ? '; …' : ''})`
  );
}

export const DEFAULT_LISTEN = '127.0.0.1:8089';
const UPSTREAM_HANDSHAKE_TIMEOUT_MS = 10_000;
const STOP_GRACE_MS = 1_000;
const LINE_PREVIEW_CHARS = 120;

// Hop-by-hop and handshake headers belong to each leg; the ws client writes its own.
const NOT_FORWARDED = new Set([
  'host', 'connection', 'upgrade', 'sec-websocket-key', 'sec-websocket-version',
  'sec-websocket-extensions', 'sec-websocket-protocol', 'content-length', 'keep-alive',
  'proxy-connection', 'proxy-authorization', 'te', 'trailer', 'transfer-encoding',
]);

interface Pair {
  id: number;
  client: WebSocket | undefined;
  upstream: WebSocket;
  flow: ObservedFlow;
}

export async function startRecorder(opts: RecorderOptions): Promise<Recorder> {
  const upstream = parseUpstream(opts.upstream);
  const listen = parseListen(opts.listen ?? DEFAULT_LISTEN);
  const log = opts.onFrame ?? (() => {});
  const flows: ObservedFlow[] = [];
  const pairs = new Set<Pair>();
  const chosenProtocol = new WeakMap<IncomingMessage, string>();
  const refused: string[] = [];
  let connections = 0;

  const server: Server = createServer((_req, res) => {
    res.writeHead(426, { 'content-type': 'text/plain', upgrade: 'websocket' });
    res.end('volley record relays WebSocket connections only\n');
  });
  const wss = new WebSocketServer({
    noServer: true,
    perMessageDeflate: false, // relay frames as they are; compression is each leg's business
    handleProtocols: (_offered, req) => chosenProtocol.get(req) ?? false,
  });

  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const id = ++connections;
    const url = upstreamUrlFor(upstream, req.url);
    // stderr ends up in terminals' scrollback and CI logs: the URL without its tokens.
    const shown = redactUrls(url);
    const offered = splitSubprotocols(req.headers['sec-websocket-protocol']);
    const flow: ObservedFlow = {
      url,
      requestHeaders: rawHeaderRecord(req.rawHeaders),
      subprotocols: offered,
      startedAtMs: nowEpochMs(),
      frames: [],
      source: `client connection #${id}`,
    };
    const up = new WebSocket(url, offered, {
      headers: forwardedHeaders(req.rawHeaders),
      perMessageDeflate: false,
      handshakeTimeout: UPSTREAM_HANDSHAKE_TIMEOUT_MS,
    });
    const pair: Pair = { id, client: undefined, upstream: up, flow };
    pairs.add(pair);
    // Until the client is upgraded, frames from upstream wait here (at most a few, in one tick).
    const early: { data: Buffer; isBinary: boolean }[] = [];
    socket.on('error', () => up.terminate());
    socket.once('close', () => {
      // The client gave up before the server answered: drop the upstream leg too.
      if (pair.client) return;
      up.terminate();
      pairs.delete(pair);
    });

    up.on('message', (data: RawData, isBinary: boolean) => {
      const bytes = toBuffer(data);
      record(pair, 'receive', bytes, isBinary, log);
      if (pair.client) pair.client.send(bytes, { binary: isBinary });
      else early.push({ data: bytes, isBinary });
    });
    let wasRefused = false;
    const refusedReasons = refused;
    up.once('unexpected-response', (_r, res) => {
      wasRefused = true;
      refusedReasons.push(`${res.statusCode ?? 502} ${res.statusMessage ?? ''}`.trimEnd());
      log(`! #${id} ${shown} refused the handshake: ${res.statusCode} ${res.statusMessage ?? ''}`.trimEnd());
      rejectHandshake(socket, res.statusCode ?? 502, res.statusMessage ?? 'Bad Gateway');
      pairs.delete(pair);
      up.terminate();
    });
    up.once('error', (err: Error) => {
      // After the open, the close handler ends the other leg; after a refusal, all is said.
      if (pair.client || wasRefused) return;
      refusedReasons.push(redactUrls(err.message));
      log(`! #${id} ${shown}: ${redactUrls(err.message)}`);
      rejectHandshake(socket, 502, 'Bad Gateway');
      pairs.delete(pair);
    });
    up.once('open', () => {
      if (up.protocol) chosenProtocol.set(req, up.protocol);
      wss.handleUpgrade(req, socket, head, (client) => {
        pair.client = client;
        flows.push(flow);
        log(`+ #${id} ${shown}${up.protocol ? ` (${up.protocol})` : ''}`);
        for (const e of early.splice(0)) client.send(e.data, { binary: e.isBinary });
        client.on('message', (data: RawData, isBinary: boolean) => {
          const bytes = toBuffer(data);
          record(pair, 'send', bytes, isBinary, log);
          if (up.readyState === WebSocket.OPEN) up.send(bytes, { binary: isBinary });
        });
        client.on('close', (code: number, reason: Buffer) => {
          log(`× #${id} client closed (${code})`);
          closeLeg(up, code, reason);
          pairs.delete(pair);
        });
        up.on('close', (code: number, reason: Buffer) => {
          log(`× #${id} server closed (${code})`);
          closeLeg(client, code, reason);
          pairs.delete(pair);
        });
        client.on('error', () => up.terminate());
        up.on('error', () => client.terminate());
      });
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => {
      const why = err.code === 'EADDRINUSE' ? 'address already in use' : err.code === 'EACCES' ? 'permission denied' : err.message;
      reject(new VolleyError('INVALID_INPUT', `--listen ${opts.listen ?? DEFAULT_LISTEN}: cannot listen (${why})`));
    });
    server.listen(listen.port, listen.host, () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : listen.port;
  const hostForUrl = listen.host.includes(':') ? `[${listen.host}]` : listen.host;

  return {
    listenUrl: `ws://${hostForUrl}:${port}`,
    flows: () => flows.map((f) => ({ ...f, frames: f.frames.slice() })),
    refused: () => refused.slice(),
    stop: async () => {
      const open = [...pairs];
      for (const p of open) {
        p.client?.close(1001, 'volley record stopping');
        p.upstream.close(1001, 'volley record stopping');
      }
      await waitUntil(() => open.every((p) => isClosed(p.upstream) && (!p.client || isClosed(p.client))), STOP_GRACE_MS);
      for (const p of open) {
        p.client?.terminate();
        p.upstream.terminate();
      }
      wss.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function record(pair: Pair, direction: ObservedFrame['direction'], bytes: Buffer, isBinary: boolean, log: (line: string) => void): void {
  const timeMs = nowEpochMs();
  const frame: ObservedFrame = {
    direction,
    timeMs,
    opcode: isBinary ? 2 : 1,
    data: isBinary ? bytes.toString('base64') : bytes.toString('utf8'),
    index: pair.flow.frames.length,
  };
  pair.flow.frames.push(frame);
  const arrow = direction === 'send' ? '→' : '←';
  const at = ((timeMs - pair.flow.startedAtMs) / 1000).toFixed(3);
  const body = isBinary ? `binary ${bytes.length} B` : preview(frame.data);
  log(`${arrow} #${pair.id} +${at}s ${body}`);
}

function preview(text: string): string {
  const oneLine = text.replace(/[\r\n]+/g, ' ');
  return oneLine.length > LINE_PREVIEW_CHARS ? `${oneLine.slice(0, LINE_PREVIEW_CHARS - 1)}…` : oneLine;
}

/** Close codes 1005/1006/1015 describe a close, they may not be sent; anything else is passed on. */
function closeLeg(ws: WebSocket, code: number, reason: Buffer): void {
  if (ws.readyState !== WebSocket.OPEN && ws.readyState !== WebSocket.CONNECTING) return;
  const sendable = (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) || (code >= 3000 && code <= 4999);
  if (sendable) ws.close(code, reason.length <= 123 ? reason : undefined);
  else ws.close();
}

function rejectHandshake(socket: Duplex, status: number, message: string): void {
  if (!socket.writable) return;
  socket.end(`HTTP/1.1 ${status} ${message.replace(/[\r\n]/g, ' ')}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
}

function parseUpstream(text: string): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new VolleyError('INVALID_INPUT', `--upstream ${text}: not a URL (expected ws://HOST:PORT/PATH)`);
  }
  if (url.protocol === 'http:' || url.protocol === 'https:') url.protocol = url.protocol === 'http:' ? 'ws:' : 'wss:';
  if (url.protocol !== 'ws:' && url.protocol !== 'wss:') {
    throw new VolleyError('INVALID_INPUT', `--upstream ${text}: expected a ws:// or wss:// URL`);
  }
  return url;
}

export function parseListen(text: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(text) ?? /^()()(\d{1,5})$/.exec(text);
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) {
    throw new VolleyError('INVALID_INPUT', `--listen ${text}: expected HOST:PORT or PORT (e.g. ${DEFAULT_LISTEN})`);
  }
  return { host: m[1] || m[2] || '127.0.0.1', port };
}

/** The client's path and query go upstream, unless it asked for a bare "/" (then --upstream's). */
export function upstreamUrlFor(upstream: URL, requestUrl: string | undefined): string {
  const incoming = new URL(requestUrl ?? '/', 'ws://client.invalid');
  if (incoming.pathname === '/' && incoming.search === '') return upstream.toString();
  const u = new URL(upstream.toString());
  u.pathname = incoming.pathname;
  u.search = incoming.search;
  return u.toString();
}

function rawHeaderRecord(raw: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i]!;
    out[name] = out[name] === undefined ? raw[i + 1]! : `${out[name]}, ${raw[i + 1]!}`;
  }
  return out;
}

function forwardedHeaders(raw: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(rawHeaderRecord(raw))) {
    if (!NOT_FORWARDED.has(name.toLowerCase())) out[name] = value;
  }
  return out;
}

function toBuffer(data: RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}

function nowEpochMs(): number {
  return performance.timeOrigin + performance.now();
}

function isClosed(ws: WebSocket): boolean {
  return ws.readyState === WebSocket.CLOSED;
}

async function waitUntil(done: () => boolean, maxMs: number): Promise<void> {
  const deadline = Date.now() + maxMs;
  while (!done() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
}
