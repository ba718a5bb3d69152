import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runScenario } from '../../src/engine/coordinator.js';
import type { ComparisonJson } from '../../src/report/comparison.js';
import type { CounterJson, ReportJson, TrendJson } from '../../src/report/types.js';
import { runCli, tempDir } from '../helpers/cli.js';
import { startLongPollServer } from '../helpers/longpoll-server.js';

const count = (r: ReportJson, k: string): number => (r.metrics[k] as CounterJson | undefined)?.count ?? 0;

describe('the same scenario over ws and long-poll', () => {
  it('writes comparison.json and comparison.html, and long-poll costs many times the bytes per message', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'echo.yaml');
    writeFileSync(
      file,
      `name: cmp\ntarget: builtin:echo\nload: {connections: 10}\nsteps:\n  - loop:\n      count: 20\n      steps:\n        - send: "m \${iter}"\n          expect: {text: "m \${iter}", timeout: 5s}\n          name: echo\n`,
    );
    const out = path.join(dir, 'out');
    const r = await runCli(['run', file, '--transport', 'ws', '--transport', 'long-poll', '--out', out, '--quiet'], { timeoutMs: 90_000 });
    expect(r.code, r.stderr).toBe(0);
    const cmp = JSON.parse(readFileSync(path.join(out, 'comparison.json'), 'utf8')) as ComparisonJson;
    expect(cmp.format).toBe(1);
    expect(cmp.transports.map((t) => t.transport)).toEqual(['ws', 'long-poll']);
    const [ws, lp] = cmp.transports as [ComparisonJson['transports'][0], ComparisonJson['transports'][0]];
    expect(ws.messages).toBe(400);
    expect(lp.messages).toBe(400);
    expect(lp.bytesPerMessage! / ws.bytesPerMessage!).toBeGreaterThan(5);
    expect(readFileSync(path.join(out, 'comparison.html'), 'utf8')).toContain('long-poll');
    for (const t of ['ws', 'long-poll']) {
      const rep = JSON.parse(readFileSync(path.join(out, t, 'report.json'), 'utf8')) as ReportJson;
      expect(rep.transport).toBe(t);
      expect(count(rep, 'errors')).toBe(0);
    }
    expect(r.stdout).toMatch(/long-poll/);

    // --no-html: the comparison and the reports as JSON only.
    const plain = path.join(dir, 'plain');
    const r2 = await runCli(['run', file, '--transport', 'ws', '--transport', 'long-poll', '--out', plain, '--quiet', '--no-html'], { timeoutMs: 90_000 });
    expect(r2.code, r2.stderr).toBe(0);
    expect(existsSync(path.join(plain, 'comparison.json'))).toBe(true);
    expect(existsSync(path.join(plain, 'comparison.html'))).toBe(false);
    expect(existsSync(path.join(plain, 'ws', 'report.html'))).toBe(false);
  });

  it('a Socket.IO scenario run over ws (one of the compared transports) exits 2 before anything runs, naming the steps', async () => {
    const dir = tempDir();
    const r = await runCli(['run', 'scenarios/socketio-chat.yaml', '--transport', 'socket.io', '--transport', 'ws', '--out', path.join(dir, 'out'), '--quiet']);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/socketio-chat\.yaml:\d+:\d+: steps\.0\.emit: emit needs transport socket\.io/);
    // Not even the first transport ran.
    expect(existsSync(path.join(dir, 'out', 'socket.io', 'report.json'))).toBe(false);
    // validate still accepts it (it does not know the run's --transport) and says warning.
    const v = await runCli(['validate', 'scenarios/socketio-chat.yaml', '--set', 'transport=ws']);
    expect(v.code, v.stderr).toBe(0);
    expect(v.stderr).toMatch(/:\d+:\d+: warning: steps\.0\.emit: emit needs transport socket\.io/);
  });

  it('chat fan-out reaches every member over long-poll as over ws', async () => {
    for (const transport of ['ws', 'long-poll'] as const) {
      const source = `
name: fanout
target: builtin:chat
load: {connections: 5}
steps:
  - send: {json: {type: join, room: r1, user: "u\${vu}"}}
    expect: {json: {type: joined}, timeout: 5s}
  - think: 1s
  - send: {json: {type: say, text: "from \${vu}", sentAt: "\${now}"}}
    expect: {json: {type: message, text: "from \${vu}"}, timeout: 5s}
    name: say
  - think: 1s
  - close: {code: 1000}
`;
      const { report } = await runScenario({ file: '<inline>', source, overrides: { transport }, workers: 1 });
      expect(count(report, 'errors'), JSON.stringify(report.errors)).toBe(0);
      expect((report.metrics['latency{name:say}'] as TrendJson).count).toBe(5);
      // Each member gets its join answer and all 5 broadcasts.
      expect(count(report, 'frames_received')).toBe(5 * (1 + 5));
    }
  });

  it('an outside long-poll server that follows the convention runs the echo scenario with every frame accounted for', async () => {
    const server = await startLongPollServer({ pollTimeoutMs: 2000 });
    try {
      const source = `
name: outside-lp
target: ${server.url.replace(/^http/, 'ws').replace(/\/lp$/, '/')}
transport: long-poll
longPoll: {url: "${server.url}"}
load: {connections: 6}
steps:
  - loop:
      count: 15
      steps:
        - send: "x\${iter}"
          expect: {text: "x\${iter}", timeout: 5s}
          name: echo
  - close: {code: 1000}
`;
      const { report } = await runScenario({ file: '<inline>', source, workers: 2 });
      expect(count(report, 'errors'), JSON.stringify(report.errors)).toBe(0);
      expect(count(report, 'frames_sent')).toBe(server.stats.framesReceived);
      expect(count(report, 'frames_received')).toBe(server.stats.framesSent);
      expect(count(report, 'frames_sent')).toBe(90);
      await server.socketsClosed(5000);
      expect(count(report, 'bytes_sent')).toBe(server.bytesRead());
    } finally {
      await server.close();
    }
  });
});
