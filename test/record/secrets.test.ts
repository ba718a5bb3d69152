// Credentials that used to reach the scenario or stderr: credential subprotocols, signed-URL
// query parameters (`sig`, `key`…), `X-Access-Key`, `Authorization: Bearer …` inside a text
// frame, and the URLs listed by the --url-filter error.

import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { VolleyError } from '../../src/errors.js';
import type { ObservedFlow } from '../../src/record/flows.js';
import { generateScenario } from '../../src/record/generate.js';
import { parseHar } from '../../src/record/har.js';
import { loadScenario } from '../../src/scenario/load.js';

const T0 = 1_764_050_000_000;
const JWT = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJqd3RzZWNyZXQifQ.c2lnbmF0dXJlc2VjcmV0MTIzNDU2';
const SECRETS = ['QUERYSIGSECRET', 'QKEYSECRET', 'SASSECRET99', 'AMZSIGSECRET', 'CREDSECRET', 'ACCESSKEYSECRET', 'KUBESECRETTOKEN', 'S3CR3TB34R3R', 'c2lnbmF0dXJlc2VjcmV0MTIzNDU2', 'eyJzdWIiOiJqd3RzZWNyZXQifQ'];

const flow: ObservedFlow = {
  url: 'ws://127.0.0.1:9/sec?sig=QUERYSIGSECRET&key=QKEYSECRET&sas=SASSECRET99&X-Amz-Signature=AMZSIGSECRET&credential=CREDSECRET&room=a',
  requestHeaders: {
    Origin: 'http://127.0.0.1:9',
    'X-Access-Key': 'ACCESSKEYSECRET',
    'Sec-WebSocket-Protocol': `graphql-ws, base64url.bearer.authorization.k8s.io.KUBESECRETTOKEN, access_token, ${JWT}`,
  },
  subprotocols: ['graphql-ws', 'base64url.bearer.authorization.k8s.io.KUBESECRETTOKEN', 'access_token', JWT],
  startedAtMs: T0,
  frames: [
    { direction: 'send', timeMs: T0 + 10, opcode: 1, data: 'CONNECT\nAuthorization: Bearer S3CR3TB34R3R\n\n', index: 0 },
    { direction: 'receive', timeMs: T0 + 12, opcode: 1, data: 'CONNECTED', index: 1 },
  ],
  source: 'log.entries[0] in sec.har',
};

describe('credentials never reach the scenario', () => {
  const g = generateScenario([flow], { timing: 'none', origin: `volley import sec.har (${flow.url})` });
  const d = parse(g.yaml) as { target: string; connect: { headers: Record<string, string>; subprotocols: string[]; query: Record<string, string> }; steps: Record<string, unknown>[] };

  it('no secret anywhere in the file, header comment included', () => {
    for (const s of SECRETS) expect(g.yaml).not.toContain(s);
  });

  it('signed-URL query parameters move to connect.query as env placeholders; the rest stays', () => {
    expect(d.target).toBe('ws://127.0.0.1:9/sec?room=a');
    expect(d.connect.query).toEqual({
      sig: '${env.SIG}',
      key: '${env.KEY}',
      sas: '${env.SAS}',
      'X-Amz-Signature': '${env.X_AMZ_SIGNATURE}',
      credential: '${env.CREDENTIAL}',
    });
  });

  it('X-Access-Key is a credential header', () => {
    expect(d.connect.headers['X-Access-Key']).toBe('${env.X_ACCESS_KEY}');
  });

  it('a JWT subprotocol, a Kubernetes bearer subprotocol and the value after access_token become placeholders', () => {
    expect(d.connect.subprotocols).toEqual(['graphql-ws', 'base64url.bearer.authorization.k8s.io.${env.KUBE_TOKEN}', 'access_token', '${env.ACCESS_TOKEN}']);
    expect(g.warnings.join('\n')).toMatch(/subprotocol 2 carries a credential/);
  });

  it('Authorization: Bearer inside a sent text frame is replaced like a whole-string Bearer', () => {
    expect(d.steps[0]!.send).toBe('CONNECT\nAuthorization: ${env.TOKEN}\n\n');
    expect(g.envVars).toEqual(expect.arrayContaining(['TOKEN', 'SIG', 'KEY', 'X_ACCESS_KEY', 'KUBE_TOKEN', 'ACCESS_TOKEN']));
    const env = Object.fromEntries(g.envVars.map((v) => [v, 'x']));
    const r = loadScenario({ file: 'sec.yaml', source: g.yaml, env });
    expect(r.ok, r.ok ? '' : JSON.stringify(r.problems)).toBe(true);
  });

  it('ordinary subprotocol names and a text "bearer" word are left alone', () => {
    const plain = generateScenario(
      [{ ...flow, url: 'ws://127.0.0.1:9/', requestHeaders: {}, subprotocols: ['graphql-transport-ws', 'wamp.2.json', 'v12.stomp'], frames: [{ direction: 'send', timeMs: T0 + 1, opcode: 1, data: 'the bearer instruments', index: 0 }] }],
      { timing: 'none', origin: 'test' },
    );
    const p = parse(plain.yaml) as { connect: { subprotocols: string[] }; steps: Record<string, unknown>[] };
    expect(p.connect.subprotocols).toEqual(['graphql-transport-ws', 'wamp.2.json', 'v12.stomp']);
    expect(p.steps[0]!.send).toBe('the bearer instruments');
    expect(plain.envVars).toEqual([]);
  });
});

describe('--url-filter with no match', () => {
  it('lists the URLs it found with their credentials redacted', () => {
    const har = JSON.stringify({ log: { entries: [{ _resourceType: 'websocket', request: { url: flow.url, headers: [] }, _webSocketMessages: [] }, { _resourceType: 'websocket', request: { url: 'ws://127.0.0.1:9/chat?access_token=QUERYSECRET987654321', headers: [] }, _webSocketMessages: [] }] } });
    let message = '';
    try {
      parseHar(har, 'sec.har', { urlFilter: /nomatch/ });
    } catch (err) {
      expect(err).toBeInstanceOf(VolleyError);
      message = (err as Error).message;
    }
    expect(message).toMatch(/no WebSocket entries match --url-filter \/nomatch\//);
    expect(message).toContain('access_token=REDACTED');
    expect(message).toContain('room=a');
    for (const s of [...SECRETS, 'QUERYSECRET987654321']) expect(message).not.toContain(s);
  });
});
