// connect.query goes with every request of a long-poll session, also when longPoll.url names an
// endpoint of its own (it was dropped there: a token in the query never reached the server).

import { afterEach, describe, expect, it } from 'vitest';
import { runScenario } from '../../src/engine/coordinator.js';
import { counter } from '../helpers/metrics.js';
import { startLongPollServer, type LongPollTestServer } from '../helpers/longpoll-server.js';

let server: LongPollTestServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

describe('long-poll and connect.query', () => {
  it.each([
    ['the default {lp}', false],
    ['a longPoll.url of its own', true],
  ])('every request to %s carries the rendered query', async (_label, ownUrl) => {
    server = await startLongPollServer();
    const lp = server.url; // http://127.0.0.1:PORT/lp
    const source = `
name: lp-query
target: ws://127.0.0.1:${server.port}/
transport: long-poll
${ownUrl ? `longPoll: {url: "${lp}"}` : ''}
connect: {query: {token: "vu-\${vu}"}}
load: {model: connections, connections: 2, iterations: 1}
steps:
  - send: hello
    expect: {text: hello, timeout: 2s}
`;
    const { report } = await runScenario({ file: '<inline>', source, workers: 1 });
    expect(counter(report, 'errors')).toBe(0);
    const urls = server.stats.requestUrls;
    expect(urls.length).toBeGreaterThan(0);
    for (const u of urls) expect(new URL(u, 'http://x').searchParams.get('token'), u).toMatch(/^vu-\d+$/);
  });
});
