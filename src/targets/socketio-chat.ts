// builtin:socketio-chat: a real, unmodified `socket.io` Server with a small chat app, so
// Socket.IO scenarios run out of the box (over websocket and polling alike).
//
// Events (client -> server):
//   join {room}             ack {room, members, sessionId}; leaves the previous room
//   chat {text, room?, …}   broadcast as "chat" to the room, sender included ({...data, id, from,
//                           room}); ack {ok: true, id}
//   subscribe               server-pushed "tick" {seq, sentAt} at tickRatePerSecond; ack {ok: true}
//   unsubscribe             stops the ticks
//   message <any>           echoed back as "message" with the same arguments
// Every socket starts in room "lobby".

import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo, Socket as NetSocket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { Server, type Socket } from 'socket.io';

export interface SocketIoChatOptions {
  host?: string; // default 127.0.0.1
  port?: number; // default 0: a free port
  tls?: { cert: string | Buffer; key: string | Buffer };
  /** Ticks per second to subscribed sockets; default 10, 0 = none, at most 1000. */
  tickRatePerSecond?: number;
}

export interface SocketIoChatStats {
  /** Socket.IO connections accepted so far. */
  connections: number;
  /** Connections open right now (an addition to the brief's shape). */
  openConnections: number;
  /** Events received from clients (acks not included). */
  eventsReceived: number;
  /** Events delivered to clients: a broadcast counts once per recipient; acks not included. */
  eventsSent: number;
  /** Bytes on the server's TCP sockets, handshakes and HTTP included (an addition). */
  bytesReceived: number;
  bytesSent: number;
}

export interface RunningSocketIoChat {
  /** http://HOST:PORT (https:// with tls); Socket.IO at the default path /socket.io. */
  url: string;
  port: number;
  stats(): SocketIoChatStats;
  close(): Promise<void>;
}

const LOBBY = 'lobby';
const TICK_ROOM = '$ticks'; // "$" keeps it apart from any room a client can join by name

interface ChatData {
  room: string;
  sessionId: string;
}

export async function startSocketIoChat(opts: SocketIoChatOptions = {}): Promise<RunningSocketIoChat> {
  const host = opts.host ?? '127.0.0.1';
  const tickRatePerSecond = Math.min(Math.max(opts.tickRatePerSecond ?? 10, 0), 1000);
  const httpServer: HttpServer = opts.tls ? createHttpsServer({ cert: opts.tls.cert, key: opts.tls.key }) : createHttpServer();
  const wire = new ServerWire(httpServer);
  // Anything but Socket.IO gets an answer (engine.io hands other requests to the server's own
  // listeners; with none, a browser opening the printed URL waited forever).
  httpServer.on('request', (req, res) => {
    if (req.url?.startsWith('/socket.io')) return;
    const body = 'volley socketio-chat target: Socket.IO at /socket.io (see docs/targets.md)\n';
    res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  });
  const io = new Server(httpServer, {
    transports: ['polling', 'websocket'],
    serveClient: false,
    // Large enough for binary scenario payloads; socket.io's default is 1 MB.
    maxHttpBufferSize: 16 * 1024 * 1024,
  });

  let connections = 0;
  let eventsReceived = 0;
  let eventsSent = 0;
  let nextChatId = 1;
  let tickSeq = 0;

  const roomSize = (room: string): number => io.sockets.adapter.rooms.get(room)?.size ?? 0;

  io.on('connection', (socket: Socket) => {
    connections++;
    const data = socket.data as ChatData;
    data.sessionId = socket.id;
    data.room = LOBBY;
    void socket.join(LOBBY);
    socket.onAny(() => eventsReceived++);

    socket.on('join', (payload: unknown, ack?: unknown) => {
      const room = roomOf(payload, true) ?? LOBBY;
      if (room !== data.room) {
        void socket.leave(data.room);
        void socket.join(room);
        data.room = room;
      }
      if (typeof ack === 'function') ack({ room, members: roomSize(room), sessionId: data.sessionId });
    });

    socket.on('chat', (payload: unknown, ack?: unknown) => {
      const body = isRecord(payload) ? payload : { text: payload };
      const room = roomOf(payload, false) ?? data.room;
      const id = nextChatId++;
      // Sender included even when it chats to a room it has not joined.
      const recipients = roomSize(room) + (socket.rooms.has(room) ? 0 : 1);
      const message = { ...body, id, from: data.sessionId, room };
      io.to(room).emit('chat', message);
      if (!socket.rooms.has(room)) socket.emit('chat', message);
      eventsSent += recipients;
      if (typeof ack === 'function') ack({ ok: true, id });
    });

    socket.on('subscribe', (...args: unknown[]) => {
      void socket.join(TICK_ROOM);
      const ack = args[args.length - 1];
      if (typeof ack === 'function') ack({ ok: true, rate: tickRatePerSecond });
    });

    socket.on('unsubscribe', (...args: unknown[]) => {
      void socket.leave(TICK_ROOM);
      const ack = args[args.length - 1];
      if (typeof ack === 'function') ack({ ok: true });
    });

    socket.on('message', (...args: unknown[]) => {
      const last = args[args.length - 1];
      const echoed = typeof last === 'function' ? args.slice(0, -1) : args;
      socket.emit('message', ...echoed);
      eventsSent++;
      if (typeof last === 'function') last(...echoed);
    });
  });

  const tickTimer =
    tickRatePerSecond > 0
      ? setInterval(() => {
          const subscribers = roomSize(TICK_ROOM);
          if (subscribers === 0) return;
          // Epoch milliseconds with a fraction, comparable with the client's ${now}.
          io.to(TICK_ROOM).emit('tick', { seq: ++tickSeq, sentAt: performance.timeOrigin + performance.now() });
          eventsSent += subscribers;
        }, 1000 / tickRatePerSecond)
      : undefined;
  tickTimer?.unref();

  await new Promise<void>((resolve, reject) => {
    httpServer.once('error', reject);
    httpServer.listen(opts.port ?? 0, host, () => {
      httpServer.off('error', reject);
      resolve();
    });
  });
  const port = (httpServer.address() as AddressInfo).port;
  const urlHost = host.includes(':') ? `[${host}]` : host;

  return {
    url: `${opts.tls ? 'https' : 'http'}://${urlHost}:${port}`,
    port,
    stats: () => ({
      connections,
      openConnections: io.engine.clientsCount,
      eventsReceived,
      eventsSent,
      bytesReceived: wire.bytesReceived,
      bytesSent: wire.bytesSent,
    }),
    close: async () => {
      clearInterval(tickTimer);
      io.disconnectSockets(true);
      // io.close() closes the engine and the http server; keep-alive sockets are ended too.
      await new Promise<void>((resolve) => {
        void io.close(() => resolve());
        httpServer.closeAllConnections();
      });
      wire.destroyAll();
    },
  };
}

/** Counts bytes on every TCP socket the server accepts (for stats and the byte-count tests). */
class ServerWire {
  private closedSent = 0;
  private closedReceived = 0;
  private readonly live = new Set<NetSocket>();

  constructor(server: HttpServer) {
    server.on('connection', (socket: NetSocket) => {
      this.live.add(socket);
      socket.once('close', () => {
        this.live.delete(socket);
        this.closedSent += socket.bytesWritten;
        this.closedReceived += socket.bytesRead;
      });
    });
  }

  get bytesSent(): number {
    let total = this.closedSent;
    for (const s of this.live) total += s.bytesWritten;
    return total;
  }

  get bytesReceived(): number {
    let total = this.closedReceived;
    for (const s of this.live) total += s.bytesRead;
    return total;
  }

  destroyAll(): void {
    for (const s of this.live) s.destroy();
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Uint8Array);
}

/** `join "room"` or `{room}`; a chat's string payload is its text, not a room. */
function roomOf(payload: unknown, stringIsRoom: boolean): string | undefined {
  if (stringIsRoom && typeof payload === 'string' && payload.length > 0) return payload;
  if (isRecord(payload) && typeof payload.room === 'string' && payload.room.length > 0) return payload.room;
  return undefined;
}
