// Ctrl-C in a terminal goes to the whole foreground process group. The children of --processes
// used to share the parent's group, so each got the terminal's SIGINT and then the parent's
// forwarded one, and took the second as "stop now": running sessions were cut instead of given
// gracefulStop. Here the signal goes to the group, as a terminal sends it.

import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { CountingServer } from './helpers.js';
import { counter, readJson, repoRoot, startCountingServer, tempDir, until } from './helpers.js';

let server: CountingServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

describe('volley run --processes and a terminal Ctrl-C', () => {
  it('SIGINT to the process group: one graceful stop, running sessions finish', async () => {
    server = await startCountingServer();
    const dir = tempDir();
    // Sessions of about 2 s; gracefulStop gives them 5 s after the signal.
    writeFileSync(
      path.join(dir, 'g.yaml'),
      `name: grace
target: ${server.url}
load: {model: connections, connections: 4, duration: 30s, gracefulStop: 5s}
steps:
  - send: "join g-\${vu} \${vu}"
    expect: {match: "^join ", timeout: 5s}
  - loop:
      count: 10
      every: 200ms
      steps:
        - send: "n \${iter} vu \${vu}"
          expect: {text: "n \${iter} vu \${vu}", timeout: 5s}
`,
    );
    // Its own process group, as a shell gives a foreground job.
    const child = spawn(process.execPath, [path.join(repoRoot, 'bin', 'volley.js'), 'run', 'g.yaml', '--processes', '2', '--workers', '1', '--out', 'out', '--quiet', '--no-html'], {
      cwd: dir,
      detached: true,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    const killer = setTimeout(() => child.kill('SIGKILL'), 45_000);
    try {
      const s = server;
      // Both processes are sending (vus 1..4 stripe across them), mid-session.
      await until(() => s.framesReceived() >= 30 && new Set(s.connections.map((c) => (c.vu ?? 0) % 2)).size === 2, 30_000, 'traffic from both processes');
      process.kill(-child.pid!, 'SIGINT');
      const code = await exited;
      expect(code, stderr).toBe(130);
    } finally {
      clearTimeout(killer);
    }
    const merged = readJson(path.join(dir, 'out', 'report.json'));
    expect(merged.interrupted).toBe(true);
    // Every session running at the signal finished its steps: none was cut.
    expect(counter(merged, 'sessions_interrupted')).toBe(0);
    expect(counter(merged, 'sessions_completed')).toBeGreaterThanOrEqual(4);
    expect(counter(merged, 'frames_sent')).toBe(server.framesReceived());
  }, 60_000);
});
