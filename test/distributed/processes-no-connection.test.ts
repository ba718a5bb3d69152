// `--processes` against a server that accepts TCP and never answers the upgrade, with a
// connect.timeout longer than the run: no attempt failed before the end, so the exit-3 line
// must say why (the sessions were still connecting), not "unknown reason".

import { writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { tempDir, volley } from './helpers.js';

let close: (() => Promise<void>) | undefined;
afterEach(async () => {
  await close?.();
  close = undefined;
});

describe('--processes when no connection opened', () => {
  it('exit 3 with the reason: every session was still connecting when the run ended', async () => {
    const sockets = new Set<net.Socket>();
    const server = net.createServer((s) => {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.resume(); // read the upgrade request, never answer it
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    close = () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      });
    const port = (server.address() as net.AddressInfo).port;
    const dir = tempDir();
    writeFileSync(
      path.join(dir, 'silent.yaml'),
      `name: silent
target: ws://127.0.0.1:${port}/
connect: {timeout: 30s}
load: {model: connections, connections: 2, duration: 1s, gracefulStop: 500ms}
steps:
  - send: x
`,
    );
    const res = await volley(['run', 'silent.yaml', '--processes', '2', '--workers', '1', '--out', 'out', '--quiet', '--no-html'], { cwd: dir }).done;
    expect(res.code, res.stderr).toBe(3);
    expect(res.stderr).toMatch(/^volley: the run could not proceed: no connection to ws:\/\/127\.0\.0\.1:\d+\/ could be opened \(all 2 sessions were still connecting when the run ended, before connect\.timeout 30s ran out\)$/m);
    expect(res.stderr).not.toContain('unknown reason');
  }, 60_000);
});
