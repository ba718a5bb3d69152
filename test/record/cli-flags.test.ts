// The import/record command lines: `--url-filter` without a regex is an error (it used to import
// everything, exit 0), and `volley record`'s stderr lines show upstream URLs without their
// credentials (`+ #1 …`, `! #1 … refused the handshake`, `relaying to …`).

import { existsSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { runCli, startCli, tempDir } from '../helpers/cli.js';
import { startEchoServer, startServer } from './servers.js';

const fixtures = fileURLToPath(new URL('../fixtures/har/', import.meta.url));
const dir = tempDir('volley-record-flags-');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe.concurrent('volley import --url-filter', () => {
  it.each([
    ['with no value', ['--url-filter'], /^volley: .*url-filter/],
    ['with no value, before another flag', ['--url-filter', '--timing', 'none'], /^volley: .*url-filter/],
    ['empty', ['--url-filter', ''], /^volley: --url-filter(: expected a regular expression| needs a value)/],
    ['empty, with =', ['--url-filter='], /^volley: .*url-filter/],
  ])('%s: one line, exit 2, nothing written', async (_what, flag, message) => {
    const out = path.join(dir, `filter-${flag.join('_').replace(/\W+/g, '')}.yaml`);
    const r = await runCli(['import', path.join(fixtures, 'firefox-prices.har'), '-o', out, ...flag], { timeoutMs: 20_000 });
    expect(r.code, r.stderr).toBe(2);
    expect(r.stdout).toBe('');
    const lines = r.stderr.trimEnd().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(message);
    expect(existsSync(out)).toBe(false);
  });

  it('a regex still picks entries', async () => {
    const r = await runCli(['import', path.join(fixtures, 'firefox-prices.har'), '--url-filter', '/socket'], { timeoutMs: 20_000 });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('target: wss://chat.example.test/socket');
  });

  it('importHar itself refuses an empty regex (it would match every URL)', async () => {
    const { importHar } = await import('../../src/record/import.js');
    expect(() => importHar(path.join(fixtures, 'firefox-prices.har'), { urlFilter: '', timing: 'none' })).toThrow(
      '--url-filter: expected a regular expression that URLs must match, got an empty one',
    );
  });
});

/** `volley record` (frames printed) until the client is done, then SIGINT; its stderr. */
async function record(upstream: string, client: (listenUrl: string) => Promise<void>) {
  let stderr = '';
  const run = startCli(['record', '--upstream', upstream, '--listen', '127.0.0.1:0', '-o', path.join(dir, `rec-${Date.now()}-${Math.random()}.yaml`)], {
    timeoutMs: 30_000,
    onStderr: (t) => (stderr += t),
  });
  try {
    await expect.poll(() => /point the client at (ws:\/\/\S+)/.exec(stderr)?.[1], { timeout: 10_000 }).toBeDefined();
    await client(/point the client at (ws:\/\/\S+)/.exec(stderr)![1]!);
  } finally {
    if (run.child.exitCode === null) run.child.kill('SIGINT');
  }
  return run.done;
}

/** Opens a WebSocket to `url`; resolves once it is open and closed again, or was refused. */
function connectOnce(url: string): Promise<void> {
  return new Promise<void>((resolve) => {
    const ws = new WebSocket(url);
    ws.once('open', () => {
      ws.send('hello');
      ws.once('message', () => ws.close(1000));
    });
    ws.once('close', () => resolve());
    ws.once('error', () => resolve());
  });
}

describe.concurrent('volley record: no credential from a URL on stderr', () => {
  it('the + line and the relaying line show the URLs with REDACTED', async () => {
    const server = await startEchoServer();
    try {
      const r = await record(`${server.url}/feed?api_key=UPSTREAMSECRET1&room=1`, async (listen) => {
        await connectOnce(`${listen}/`); // a bare / gets the --upstream URL as given
        await connectOnce(`${listen}/chat?access_token=CLIENTSECRET2&room=2`);
      });
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).not.toContain('UPSTREAMSECRET1');
      expect(r.stderr).not.toContain('CLIENTSECRET2');
      expect(r.stderr).toContain(`relaying to ${server.url}/feed?api_key=REDACTED&room=1`);
      expect(r.stderr).toContain(`+ #1 ${server.url}/feed?api_key=REDACTED&room=1`);
      expect(r.stderr).toContain(`+ #2 ${server.url}/chat?access_token=REDACTED&room=2`);
      expect(r.stderr).toMatch(/→ #1 \+\d+\.\d{3}s hello/);
    } finally {
      await server.close();
    }
  }, 60_000);

  it('the ! line of a refused handshake shows the URL with REDACTED', async () => {
    const server = await startServer(() => {}, { refuseWith: 401 });
    try {
      const r = await record(`${server.url}/feed`, async (listen) => {
        await connectOnce(`${listen}/feed?token=CLIENTSECRET3&x=1`);
      });
      expect(r.code).toBe(2);
      expect(r.stderr).not.toContain('CLIENTSECRET3');
      expect(r.stderr).toContain(`! #1 ${server.url}/feed?token=REDACTED&x=1 refused the handshake: 401`);
    } finally {
      await server.close();
    }
  }, 60_000);
});
