import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSocketIoChat } from '../../src/targets/socketio-chat.js';
import { generateSelfSignedCertificate } from '../../src/targets/tls.js';
import { createSocketIoTransport } from '../../src/transport/socketio.js';
import type { ResolvedTls } from '../../src/transport/types.js';
import { caught, RecordingSink, startSocketIoServer, transportOptions, TRANSPORT_SETS, type TestSocketIoServer } from '../socketio/helpers.js';

const cert = generateSelfSignedCertificate();
let server: TestSocketIoServer;

beforeAll(async () => {
  server = await startSocketIoServer({ tls: { cert: cert.cert, key: cert.key } });
  server.io.on('connection', (socket) => socket.on('echo-ack', (data: unknown, ack: (v: unknown) => void) => ack(data)));
});
afterAll(() => server.close());

const trusted: ResolvedTls = { ca: Buffer.from(cert.cert), rejectUnauthorized: true };

describe.each(TRANSPORT_SETS)('Socket.IO over https, $label', ({ transports }) => {
  it('connects when the certificate is given as the ca, counting TLS records on the wire', async () => {
    await server.socketsClosed(3000); // earlier tests' sockets must not add bytes to this count
    const readBefore = server.bytesRead();
    const writtenBefore = server.bytesWritten();
    const transport = createSocketIoTransport(transportOptions(server.url, transports, { tls: trusted }), new RecordingSink());
    await transport.connect();
    expect(await transport.emit!('echo-ack', ['secret'], 2000)).toEqual(['secret']);
    await transport.close(1000, 'done');
    await server.socketsClosed(3000);
    expect(transport.bytesSent).toBe(server.bytesRead() - readBefore);
    expect(transport.bytesReceived).toBe(server.bytesWritten() - writtenBefore);
  });

  it('fails with kind tls and the reason without the ca', async () => {
    const transport = createSocketIoTransport(transportOptions(server.url, transports), new RecordingSink());
    const err = await caught(transport.connect());
    expect(err).toMatchObject({ kind: 'tls', message: `TLS: self-signed certificate (${server.url})` });
  });

  it('connects with rejectUnauthorized: false', async () => {
    const transport = createSocketIoTransport(
      transportOptions(server.url, transports, { tls: { rejectUnauthorized: false } }),
      new RecordingSink(),
    );
    await transport.connect();
    expect(transport.isOpen).toBe(true);
    await transport.close(1000, 'done');
  });
});

describe('Socket.IO over https, names', () => {
  it('reports a hostname mismatch when the servername is not in the certificate', async () => {
    const transport = createSocketIoTransport(
      transportOptions(server.url, ['websocket'], { tls: { ...trusted, servername: 'example.com' } }),
      new RecordingSink(),
    );
    const err = await caught(transport.connect());
    expect(err).toMatchObject({ kind: 'tls', message: expect.stringMatching(/^TLS: hostname mismatch: .*example\.com/) });
  });
});

describe('builtin socketio-chat over https', () => {
  it('serves the certificate it is given', async () => {
    const chat = await startSocketIoChat({ tls: { cert: cert.cert, key: cert.key }, tickRatePerSecond: 0 });
    try {
      expect(chat.url).toBe(`https://127.0.0.1:${chat.port}`);
      const transport = createSocketIoTransport(transportOptions(chat.url, ['polling', 'websocket'], { tls: trusted }), new RecordingSink());
      await transport.connect();
      const joined = await transport.emit!('join', [{ room: 'secure' }], 2000);
      expect(joined).toEqual([{ room: 'secure', members: 1, sessionId: expect.any(String) }]);
      await transport.close(1000, 'done');
    } finally {
      await chat.close();
    }
  });
});
