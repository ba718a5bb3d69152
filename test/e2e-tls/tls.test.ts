// wss / https end to end, with a self-signed certificate made at test time: trusted through
// `connect.tls.ca` (a file beside the scenario, named relative to it), refused without it (kind
// tls, exit 3 through the CLI when every connection fails), accepted with `insecure: true`; for
// ws, long-poll over https and Socket.IO. And `volley serve echo --tls`.

import { spawn } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { runScenario } from '../../src/engine/coordinator.js';
import type { CounterJson, ReportJson } from '../../src/report/types.js';
import { startTarget, type RunningTarget } from '../../src/targets/index.js';
import { generateSelfSignedCertificate } from '../../src/targets/tls.js';
import { repoRoot, runCli, tempDir } from '../helpers/cli.js';
import { startSocketIoServer, type TestSocketIoServer } from '../socketio/helpers.js';

const count = (r: ReportJson, k: string): number => (r.metrics[k] as CounterJson | undefined)?.count ?? 0;

const cert = generateSelfSignedCertificate();
let echo: RunningTarget;
let sio: TestSocketIoServer;
let dir: string;

beforeAll(async () => {
  echo = await startTarget('echo', { host: '127.0.0.1', port: 0, tls: { cert: cert.cert, key: cert.key } });
  sio = await startSocketIoServer({ tls: { cert: cert.cert, key: cert.key } });
  sio.io.on('connection', (socket) => socket.on('echo', (data: unknown, ack: (v: unknown) => void) => ack(data)));
  dir = tempDir('volley-tls-');
  // The scenario names the ca relative to itself: it lives in a subfolder.
  mkdirSync(path.join(dir, 'certs'));
  writeFileSync(path.join(dir, 'certs', 'server.pem'), cert.cert);
});
afterAll(async () => {
  await echo.close();
  await sio.close();
});

interface Case {
  transport: 'ws' | 'long-poll' | 'socket.io';
  target: () => string;
  steps: string;
}

const cases: Case[] = [
  { transport: 'ws', target: () => echo.url, steps: `  - send: "hello \${vu}"\n    expect: {text: "hello \${vu}", timeout: 3s}\n` },
  { transport: 'long-poll', target: () => echo.url, steps: `  - send: "hello \${vu}"\n    expect: {text: "hello \${vu}", timeout: 3s}\n` },
  { transport: 'socket.io', target: () => sio.url, steps: `  - emit: {event: echo, data: "hello \${vu}", ack: true, timeout: 3s}\n` },
];

/** Writes the scenario file and returns its path. */
function scenarioFile(c: Case, tls: string | undefined): string {
  const file = path.join(dir, `${c.transport}-${tls === undefined ? 'none' : tls.includes('insecure') ? 'insecure' : 'ca'}.yaml`);
  const connect = tls === undefined ? '' : `connect: {tls: ${tls}}\n`;
  writeFileSync(
    file,
    `name: tls-${c.transport}\ntarget: ${c.target()}\ntransport: ${c.transport}\n${connect}load: {connections: 2}\nsteps:\n${c.steps}  - close: {code: 1000}\n`,
  );
  return file;
}

describe.each(cases)('$transport over TLS with a certificate made now', (c) => {
  it('is trusted through connect.tls.ca, a file relative to the scenario', async () => {
    const file = scenarioFile(c, '{ca: certs/server.pem}');
    const { report } = await runScenario({ file, workers: 1 });
    expect(count(report, 'errors'), JSON.stringify(report.errors)).toBe(0);
    expect(count(report, 'sessions_completed')).toBe(2);
    expect(count(report, 'frames_received')).toBe(2);
    expect(count(report, 'bytes_received')).toBeGreaterThan(0);
  });

  it('is accepted with insecure: true', async () => {
    const file = scenarioFile(c, '{insecure: true}');
    const { report } = await runScenario({ file, workers: 1 });
    expect(count(report, 'errors'), JSON.stringify(report.errors)).toBe(0);
    expect(count(report, 'sessions_completed')).toBe(2);
  });

  it('is refused without the ca: errors{kind:tls}, a clear reason, exit 3 through the CLI', async () => {
    const file = scenarioFile(c, undefined);
    const out = path.join(dir, `out-${c.transport}`);
    const r = await runCli(['run', file, '--out', out, '--quiet', '--workers', '1'], { timeoutMs: 30_000 });
    expect(r.code, r.stdout + r.stderr).toBe(3);
    expect(r.stdout + r.stderr).toMatch(/self-signed certificate/);
    expect(r.stderr).not.toMatch(/\n\s+at /); // one line, no stack
    const report = JSON.parse(readFileSync(path.join(out, 'report.json'), 'utf8')) as ReportJson;
    expect(count(report, 'errors{kind:tls}')).toBe(2);
    expect(report.errors.find((e) => e.kind === 'tls')?.first).toMatch(/TLS: self-signed certificate/);
    expect(count(report, 'frames_sent')).toBe(0);
  });
});

describe('volley serve echo --tls --port 0', () => {
  it('prints the certificate fingerprint and a wss:// URL, serves wss, and stops on SIGINT', async () => {
    const child = spawn(process.execPath, [path.join(repoRoot, 'bin', 'volley.js'), 'serve', 'echo', '--tls', '--port', '0'], {
      cwd: repoRoot,
      env: { ...process.env, NO_COLOR: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const killer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    try {
      let stdout = '';
      child.stdout.setEncoding('utf8');
      const ready = new Promise<void>((resolve, reject) => {
        child.stdout.on('data', (d: string) => {
          stdout += d;
          if (/WebSocket \S+/.test(stdout) && /fingerprint/.test(stdout)) resolve();
        });
        child.on('exit', (code) => reject(new Error(`serve exited early (${code}): ${stdout}`)));
      });
      await ready;
      const fingerprint = /SHA-256 fingerprint ([0-9A-F:]+)/.exec(stdout)?.[1];
      const url = /WebSocket (\S+)/.exec(stdout)?.[1];
      expect(fingerprint).toMatch(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
      expect(url).toMatch(/^wss:\/\/127\.0\.0\.1:\d+\/$/);

      // Connect without trusting it, and check the certificate served is the one announced.
      const ws = new WebSocket(url!, { rejectUnauthorized: false });
      const opened = new Promise<void>((resolve) => ws.on('open', () => resolve()));
      const served = await new Promise<string>((resolve, reject) => {
        ws.on('upgrade', (res) => {
          const socket = res.socket as import('node:tls').TLSSocket;
          resolve(new X509Certificate(socket.getPeerX509Certificate()!.raw).fingerprint256);
        });
        ws.on('error', reject);
      });
      expect(served).toBe(fingerprint);
      await opened;
      const echoed = new Promise<string>((resolve) => ws.once('message', (d) => resolve(String(d))));
      ws.send('over wss');
      expect(await echoed).toBe('over wss');
      ws.close();

      const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
      child.kill('SIGINT');
      expect(await exited).toBe(0);
    } finally {
      clearTimeout(killer);
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
  }, 25_000);
});
