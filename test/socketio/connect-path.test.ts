// A wrong socketio.path (or a target that is not the Socket.IO server) must be named as such,
// on one line, and as soon as the server's answer shows it: a 404, a page, a connection closed
// without an answer. Only a server that never answers is a timeout (audit finding 8).

import http from 'node:http';
import type net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSocketIoTransport } from '../../src/transport/socketio.js';
import { TransportError } from '../../src/transport/types.js';
import { caught, RecordingSink, startSocketIoServer, transportOptions, type TestSocketIoServer } from './helpers.js';

type EngineTransports = ('websocket' | 'polling')[];

let sio: TestSocketIoServer;
const plain: http.Server[] = [];

beforeAll(async () => {
  // engine.io ends a WebSocket upgrade at a path that is not its own after destroyUpgradeTimeout.
  sio = await startSocketIoServer({ destroyUpgradeTimeout: 100 });
});

afterAll(async () => {
  await sio.close();
  for (const server of plain) {
    server.closeAllConnections();
    server.close();
  }
});

async function plainServer(handler: http.RequestListener): Promise<string> {
  const server = http.createServer(handler);
  plain.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
}

async function connectError(url: string, transports: EngineTransports, path = '/socket.io', handshakeTimeoutMs = 3000) {
  const options = transportOptions(url, transports, { handshakeTimeoutMs });
  options.socketio!.path = path;
  const transport = createSocketIoTransport(options, new RecordingSink());
  const startedAt = Date.now();
  const err = await caught(transport.connect());
  expect(err).toBeInstanceOf(TransportError);
  const message = (err as TransportError).message;
  expect(message).not.toContain('\n');
  return { kind: (err as TransportError).kind, message, elapsedMs: Date.now() - startedAt };
}

const HINT = 'check socketio.path / target';

describe('Socket.IO with no endpoint at socketio.path', () => {
  it('over websocket, a socket.io server closing the upgrade at another path: no endpoint there', async () => {
    const { kind, message } = await connectError(sio.url, ['websocket'], '/wrong/');
    expect(kind).toBe('handshake_rejected');
    expect(message).toBe(
      `the server closed the connection without answering the Engine.IO handshake at ${sio.url}/wrong/: no Socket.IO endpoint there? ${HINT}`,
    );
  });

  it('over polling, a socket.io server that never answers another path: a timeout that says so', async () => {
    for (const transports of [['polling'], ['polling', 'websocket']] as EngineTransports[]) {
      const { kind, message } = await connectError(sio.url, transports, '/wrong/', 300);
      expect(kind).toBe('connect_timeout');
      expect(message).toBe(`no answer to the Engine.IO handshake at ${sio.url}/wrong/ in 300ms: no Socket.IO endpoint there? ${HINT}`);
    }
  });

  it('a 404 says there is no endpoint at once, on either transport', async () => {
    const url = await plainServer((req, res) => res.writeHead(404, { 'content-type': 'text/plain' }).end(`Cannot GET ${req.url}`));
    for (const transports of [['websocket'], ['polling']] as EngineTransports[]) {
      const { kind, message, elapsedMs } = await connectError(url, transports);
      expect(kind).toBe('handshake_rejected');
      expect(message).toBe(`no Socket.IO endpoint at ${url}/socket.io (HTTP 404): ${HINT}`);
      expect(elapsedMs).toBeLessThan(1000);
    }
  });

  it('a page in place of Engine.IO (an app\'s catch-all route) is named at once, not a "server error"', async () => {
    const url = await plainServer((_req, res) => res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end('<!doctype html><p>app</p>'));
    const polling = await connectError(url, ['polling']);
    expect(polling.kind).toBe('handshake_rejected');
    expect(polling.message).toBe(`the answer to the Engine.IO handshake at ${url}/socket.io is not Engine.IO (HTTP 200, text/html): no Socket.IO endpoint there? ${HINT}`);
    expect(polling.elapsedMs).toBeLessThan(1000);
    const websocket = await connectError(url, ['websocket']);
    expect(websocket.kind).toBe('handshake_rejected');
    expect(websocket.message).toBe(`the WebSocket upgrade at ${url}/socket.io was answered with HTTP 200, not 101: no Socket.IO endpoint there? ${HINT}`);
    expect(websocket.elapsedMs).toBeLessThan(1000);
  });

  it('a connection closed without any answer is named at once, on either transport', async () => {
    const url = await plainServer((req) => req.socket.end());
    for (const transports of [['websocket'], ['polling']] as EngineTransports[]) {
      const { kind, message, elapsedMs } = await connectError(url, transports);
      expect(kind).toBe('handshake_rejected');
      expect(message).toBe(`the server closed the connection without answering the Engine.IO handshake at ${url}/socket.io: no Socket.IO endpoint there? ${HINT}`);
      expect(elapsedMs).toBeLessThan(1000);
    }
  });

  it('keeps Engine.IO\'s own refusals as they were (HTTP 400: Transport unknown)', async () => {
    const wsOnly = await startSocketIoServer({ transports: ['websocket'] });
    try {
      const { kind, message } = await connectError(wsOnly.url, ['polling']);
      expect(kind).toBe('handshake_rejected');
      expect(message).toBe(`Engine.IO handshake rejected by ${wsOnly.url} with HTTP 400: Transport unknown`);
    } finally {
      await wsOnly.close();
    }
  });
});
