import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, request, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VolleyError } from '../../src/errors.js';
import { generateSelfSignedCertificate, type SelfSignedCertificate } from '../../src/targets/tls.js';
import { classifyTlsError, resolveTls } from '../../src/transport/tls-options.js';

function serve(cert: SelfSignedCertificate): Promise<{ server: Server; port: number }> {
  const server = createServer({ cert: cert.cert, key: cert.key }, (_req, res) => res.end('secure hello'));
  return new Promise((resolveServer) =>
    server.listen(0, '127.0.0.1', () => resolveServer({ server, port: (server.address() as AddressInfo).port })),
  );
}

type Outcome = { body: string } | { error: Error };

function get(port: number, tls: { ca?: string; rejectUnauthorized?: boolean; servername?: string }): Promise<Outcome> {
  return new Promise((done) => {
    const req = request({ host: '127.0.0.1', port, path: '/', agent: false, ...tls }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => done({ body }));
    });
    req.on('error', (error) => done({ error }));
    req.end();
  });
}

describe('a self-signed certificate served by a real https server', () => {
  const cert = generateSelfSignedCertificate();
  let server: Server;
  let port = 0;
  beforeAll(async () => ({ server, port } = await serve(cert)));
  afterAll(() => new Promise<void>((done) => server.close(() => done())));

  it('is trusted when given as the ca', async () => {
    expect(await get(port, { ca: cert.cert })).toEqual({ body: 'secure hello' });
  });

  it('is rejected without the ca, classified as a self-signed certificate', async () => {
    const outcome = await get(port, {});
    expect('error' in outcome).toBe(true);
    if ('error' in outcome) expect(classifyTlsError(outcome.error)).toBe('self-signed certificate');
  });

  it('is accepted with rejectUnauthorized: false', async () => {
    expect(await get(port, { rejectUnauthorized: false })).toEqual({ body: 'secure hello' });
  });

  it('is rejected for a name it does not list, classified as a hostname mismatch', async () => {
    const outcome = await get(port, { ca: cert.cert, servername: 'example.com' });
    expect('error' in outcome && classifyTlsError(outcome.error)).toMatch(/^hostname mismatch: .*example\.com/);
  });

  it('is rejected by a client trusting a different certificate', async () => {
    const other = generateSelfSignedCertificate();
    const outcome = await get(port, { ca: other.cert });
    expect('error' in outcome && classifyTlsError(outcome.error)).toBe('self-signed certificate');
  });
});

describe('an expired certificate', () => {
  it('is rejected even with its ca, classified as expired', async () => {
    const cert = generateSelfSignedCertificate({ days: -1 });
    const { server, port } = await serve(cert);
    try {
      const outcome = await get(port, { ca: cert.cert });
      expect('error' in outcome && classifyTlsError(outcome.error)).toBe('certificate has expired');
    } finally {
      await new Promise<void>((done) => server.close(() => done()));
    }
  });
});

describe('classifyTlsError', () => {
  const table: [string, unknown, string | undefined][] = [
    ['a refused connection is not a TLS error', Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }), undefined],
    ['a non-object is not a TLS error', 'boom', undefined],
    ['a wrapped certificate error is found through cause', new Error('wrapper', { cause: { code: 'CERT_HAS_EXPIRED' } }), 'certificate has expired'],
    ['engine.io wraps its error in description', { message: 'websocket error', description: { error: { code: 'DEPTH_ZERO_SELF_SIGNED_CERT' } } }, 'self-signed certificate'],
    ['an SSL protocol error is a failed handshake', { code: 'ERR_SSL_WRONG_VERSION_NUMBER', message: 'wrong version number\nmore' }, 'TLS handshake failed: wrong version number'],
    ['EPROTO without an OpenSSL reason is not classified', { code: 'EPROTO', message: 'protocol error' }, undefined],
  ];
  for (const [title, err, reason] of table) it(title, () => expect(classifyTlsError(err)).toBe(reason));

  it('reports a plain-HTTP port reached over TLS as a failed handshake', async () => {
    const { createServer: createHttpServer } = await import('node:http');
    const plain = createHttpServer((_req, res) => res.end('plain'));
    await new Promise<void>((done) => plain.listen(0, '127.0.0.1', () => done()));
    try {
      const outcome = await get((plain.address() as AddressInfo).port, {});
      expect('error' in outcome && classifyTlsError(outcome.error)).toBe('TLS handshake failed: wrong version number');
    } finally {
      await new Promise<void>((done) => plain.close(() => done()));
    }
  });
});

describe('resolveTls', () => {
  const dir = mkdtempSync(join(tmpdir(), 'volley-tls-'));
  const cert = generateSelfSignedCertificate();
  writeFileSync(join(dir, 'ca.pem'), cert.cert);
  writeFileSync(join(dir, 'key.pem'), cert.key);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('returns undefined without tls options', () => {
    expect(resolveTls(undefined, dir)).toBeUndefined();
  });

  it('reads files relative to the base folder and maps insecure to rejectUnauthorized', () => {
    const resolved = resolveTls({ ca: 'ca.pem', cert: 'ca.pem', key: join(dir, 'key.pem'), insecure: false, servername: 'localhost' }, dir);
    expect(resolved?.ca?.toString()).toBe(cert.cert);
    expect(resolved?.cert?.toString()).toBe(cert.cert);
    expect(resolved?.key?.toString()).toBe(cert.key);
    expect(resolved?.rejectUnauthorized).toBe(true);
    expect(resolved?.servername).toBe('localhost');
    expect(resolveTls({ insecure: true }, dir)).toEqual({ rejectUnauthorized: false });
  });

  it('throws an INVALID_INPUT VolleyError naming the unreadable file', () => {
    let thrown: unknown;
    try {
      resolveTls({ ca: 'missing-ca.pem', insecure: false }, dir);
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(VolleyError);
    expect((thrown as VolleyError).code).toBe('INVALID_INPUT');
    expect((thrown as VolleyError).message).toBe('missing-ca.pem: cannot read the TLS ca file (no such file)');
  });
});
