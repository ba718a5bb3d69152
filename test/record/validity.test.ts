// Every scenario the recorder side generates must load with the project's own loadScenario,
// and the ones whose recordings have a matching test server must replay against it.

import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { importHar } from '../../src/record/import.js';
import { generateScenario } from '../../src/record/generate.js';
import { startRecorder } from '../../src/record/proxy.js';
import { loadScenario } from '../../src/scenario/load.js';
import type { Scenario } from '../../src/scenario/types.js';
import { replay } from './replay.js';
import { startEchoServer, startRpcServer, startSessionServer, type TestServer } from './servers.js';

const dir = fileURLToPath(new URL('../fixtures/har/', import.meta.url));
// The placeholders' variables must be set for the loader to accept `${env.…}` references.
const ENV = { COOKIE: 'c', AUTH_TOKEN: 't', X_API_KEY: 'k', ACCESS_TOKEN: 'a', TOKEN: 't', PASSWORD: 'p' };

function load(yaml: string, file: string): Scenario {
  const r = loadScenario({ file, source: yaml, env: ENV });
  if (!r.ok) throw new Error(r.problems.map((p) => `${p.file}:${p.pos?.line}:${p.pos?.col}: ${p.message}`).join('\n'));
  return r.scenario;
}

/** The commented-out alternatives, uncommented: they must load too once a user moves them. */
function alternatives(yaml: string): string[] {
  const blocks = yaml.split(/^# -{20,}\n/m).slice(1);
  return blocks.map((b) =>
    b
      .split('\n')
      .filter((l) => !/^# (Another connection|To replay it|list of steps)/.test(l))
      .map((l) => (l.startsWith('# ') ? l.slice(2) : l.startsWith('#') ? l.slice(1) : l))
      .join('\n'),
  );
}

const importable = readdirSync(dir).filter((f) => /^(chrome|firefox|binary|correlation|out-of-order)/.test(f));

describe('generated scenarios load with loadScenario', () => {
  it('covers every importable fixture', () => {
    expect(importable.sort()).toEqual(['binary.har', 'chrome-chat.har', 'correlation.har', 'firefox-prices.har', 'out-of-order.har']);
  });

  it.each(importable.flatMap((f) => [[f, 'keep'], [f, 'none']] as const))('%s with --timing %s', (file, timing) => {
    const g = importHar(`${dir}${file}`, { timing });
    const s = load(g.yaml, `${file}.yaml`);
    expect(s.load).toMatchObject({ model: 'connections', connections: 1, iterations: 1 });
    expect(s.steps[s.steps.length - 1]).toMatchObject({ kind: 'close', code: 1000 });
    for (const alt of alternatives(g.yaml)) load(alt, `${file}.alternative.yaml`);
  });

  it('the loader refuses the scenario until the env variables it names are set', () => {
    const g = importHar(`${dir}chrome-chat.har`, { timing: 'keep' });
    const r = loadScenario({ file: 'chat.yaml', source: g.yaml, env: {} });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.problems.map((p) => p.message).join('\n')).toMatch(/environment variable COOKIE is not set/);
  });
});

describe('generated scenarios replay against servers that behave like the recordings', () => {
  let session: TestServer;
  let echo: TestServer;
  beforeAll(async () => {
    session = await startSessionServer();
    echo = await startEchoServer();
  });
  afterAll(async () => {
    await session.close();
    await echo.close();
  });

  it('correlation: the session id issued by this server (not the recorded one) is captured and sent back', async () => {
    const s = load(importHar(`${dir}correlation.har`, { timing: 'keep' }).yaml, 'correlation.yaml');
    const r = await replay(s, session.url);
    expect(r.vars.get('sid')).toMatch(/^sess-[0-9a-f]{20}$/);
    expect(r.vars.get('sid')).not.toBe('sess-a6f0c7d2e91b4c3f8d5e');
    expect(r.matched).toEqual(['hello', 'auth', 'send-2']);
    // The server answered "ok" and echoed, which it only does for its own id.
    expect(session.received.map((x) => x.data.toString())).toContain(`echo:${r.vars.get('sid')}:hi`);
  });

  it('binary: bytes go out and come back as recorded', async () => {
    const s = load(importHar(`${dir}binary.har`, { timing: 'none' }).yaml, 'binary.yaml');
    const r = await replay(s, echo.url);
    expect(r.matched).toEqual(['send-1', 'send-2']);
    expect([...echo.received[0]!.data]).toEqual([1, 2, 3, 250]);
  });

  it('out-of-order: the expect skips the two notifications and takes the reply with its id', async () => {
    const rpc = await startRpcServer();
    try {
      const s = load(importHar(`${dir}out-of-order.har`, { timing: 'keep' }).yaml, 'rpc.yaml');
      const r = await replay(s, rpc.url);
      expect(r.matched).toEqual(['getBalance', 'tick']);
      expect(r.framesSkipped).toBe(2);
    } finally {
      await rpc.close();
    }
  });

  it('a recording made through the proxy replays against the same server', async () => {
    const rec = await startRecorder({ upstream: session.url, listen: '127.0.0.1:0' });
    try {
      const ws = new WebSocket(`${rec.listenUrl}/session`);
      const hello = await new Promise<{ sid: string }>((resolve, reject) => {
        ws.once('message', (d) => resolve(JSON.parse(String(d)) as { sid: string }));
        ws.once('error', reject);
      });
      const ok = new Promise((resolve) => ws.once('message', resolve));
      ws.send(JSON.stringify({ type: 'auth', sid: hello.sid }));
      await ok;
      ws.close();
      await new Promise((resolve) => ws.once('close', resolve));
    } finally {
      await rec.stop();
    }
    const g = generateScenario(rec.flows(), { timing: 'keep', origin: 'volley record' });
    const s = load(g.yaml, 'recorded.yaml');
    const r = await replay(s, session.url);
    expect(r.matched).toEqual(['hello', 'auth']);
    expect(r.framesSkipped).toBe(0);
  });
});
