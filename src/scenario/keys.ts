// The keys each object of the scenario format accepts. The loader reports anything else (with a
// suggestion), and test/scenario/schema.test.ts keeps schema/scenario.schema.json in step: each
// context here is a definition of the same name there, with exactly these properties.

export const OBJECT_KEYS = {
  scenario: [
    'name',
    'target',
    'transport',
    'connect',
    'longPoll',
    'socketio',
    'load',
    'data',
    'autoReply',
    'setup',
    'steps',
    'thresholds',
  ],
  connect: ['headers', 'subprotocols', 'timeout', 'perMessageDeflate', 'tls', 'localAddresses', 'query', 'maxPayload'],
  tls: ['ca', 'cert', 'key', 'insecure', 'servername'],
  longPoll: ['url'],
  socketio: ['path', 'namespace', 'transports', 'auth', 'query'],
  load: ['model', 'connections', 'duration', 'iterations', 'stages', 'rate', 'maxConnections', 'gracefulStop'],
  stage: ['duration', 'target'],
  data: ['file', 'order'],
  autoReply: ['text', 'match', 'json', 'binary', 'flags', 'send'],
  setup: ['request', 'capture'],
  request: ['method', 'url', 'headers', 'body', 'timeout'],
  step: ['name', 'send', 'expect', 'emit', 'think', 'loop', 'ping', 'close', 'set'],
  payload: ['text', 'json', 'binary'],
  expect: ['text', 'match', 'json', 'binary', 'flags', 'event', 'timeout', 'strict', 'capture', 'latencyFrom'],
  regexCapture: ['regex', 'group'],
  emit: ['event', 'data', 'binary', 'ack', 'timeout'],
  loop: ['count', 'duration', 'every', 'steps'],
  ping: ['timeout'],
  close: ['code', 'reason'],
  threshold: ['threshold', 'abortOnFail', 'delayAbortEval'],
} as const satisfies Record<string, readonly string[]>;

export type ObjectContext = keyof typeof OBJECT_KEYS;

/** The keys that make a step do something; a step has one (send and emit may add an expect). */
export const STEP_ACTIONS = ['send', 'expect', 'emit', 'think', 'loop', 'ping', 'close', 'set'] as const;
