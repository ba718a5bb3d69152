import { request } from 'node:https';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startTarget, type RunningTarget } from '../../src/targets/index.js';
import { generateSelfSignedCertificate } from '../../src/targets/tls.js';

let target: RunningTarget | undefined;
afterEach(async () => {
  await target?.close();
  target = undefined;
});

describe('a target with tls', () => {
  it('serves wss and https long-poll with the given certificate, counting encrypted bytes', async () => {
    const { cert, key } = generateSelfSignedCertificate();
    target = await startTarget('echo', { tls: { cert, key }, pollTimeoutMs: 2000 });
    expect(target.url).toBe(`wss://127.0.0.1:${target.port}/`);
    expect(target.longPollUrl).toBe(`https://127.0.0.1:${target.port}/lp`);

    const ws = new WebSocket(target.url, { ca: cert });
    const echoed = await new Promise<string>((resolve, reject) => {
      ws.once('open', () => ws.send('over tls'));
      ws.once('message', (d: Buffer) => resolve(d.toString('utf8')));
      ws.once('error', reject);
    });
    expect(echoed).toBe('over tls');
    ws.close();

    const status = await new Promise<number>((resolve, reject) => {
      const req = request(`${target!.longPollUrl}/send?session=s1`, { method: 'POST', ca: cert }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      req.end('hi');
    });
    expect(status).toBe(204);
    // TLS handshakes alone are well over a kilobyte; plain frames would be a few dozen bytes.
    expect(target.stats().bytesReceived).toBeGreaterThan(500);
    expect(target.stats().framesReceived).toBe(2);
  });
});
