// "Did you mean …?" for unknown keys and names: Levenshtein distance plus a table of the words
// people bring from other tools (k6, Artillery, Gatling) or simply misspell.

/** Edit distance where swapping two neighbours counts as one edit ("recieve", "sdi"). */
export function levenshtein(a: string, b: string): number {
  if (a === b) return 0;
  const rows = a.length + 1;
  const cols = b.length + 1;
  const d: number[] = new Array<number>(rows * cols).fill(0);
  for (let i = 0; i < rows; i++) d[i * cols] = i;
  for (let j = 0; j < cols; j++) d[j] = j;
  for (let i = 1; i < rows; i++) {
    for (let j = 1; j < cols; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(d[(i - 1) * cols + j]! + 1, d[i * cols + j - 1]! + 1, d[(i - 1) * cols + j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, d[(i - 2) * cols + j - 2]! + 1);
      d[i * cols + j] = v;
    }
  }
  return d[rows * cols - 1]!;
}

/** Words from other tools and common slips, mapped to volley's key (may be a dotted path). */
export const KEY_ALIASES: Readonly<Record<string, string>> = {
  receive: 'expect',
  recieve: 'expect',
  recv: 'expect',
  wait: 'expect',
  waitFor: 'expect',
  wait_for: 'expect',
  expects: 'expect',
  response: 'expect',
  reply: 'expect',
  sleep: 'think',
  pause: 'think',
  delay: 'think',
  thinkTime: 'think',
  repeat: 'loop',
  times: 'count',
  forever: 'loop',
  write: 'send',
  message: 'send',
  disconnect: 'close',
  end: 'close',
  vars: 'set',
  variables: 'set',
  let: 'set',
  url: 'target',
  endpoint: 'target',
  host: 'target',
  uri: 'target',
  scenario: 'steps',
  flow: 'steps',
  script: 'steps',
  threshold: 'thresholds',
  vus: 'load.connections',
  users: 'load.connections',
  clients: 'load.connections',
  concurrency: 'connections',
  arrivalRate: 'rate',
  arrival_rate: 'rate',
  timeout_ms: 'timeout',
  timeoutMs: 'timeout',
  header: 'headers',
  protocols: 'subprotocols',
  subprotocol: 'subprotocols',
  regex: 'match',
  regexp: 'match',
  pattern: 'match',
  body: 'text',
  csv: 'data',
  capture_as: 'capture',
  captures: 'capture',
  extract: 'capture',
  heartbeat: 'autoReply',
  auto_reply: 'autoReply',
  autoreply: 'autoReply',
  long_poll: 'longPoll',
  longpoll: 'longPoll',
  socketIo: 'socketio',
  socket_io: 'socketio',
  'socket.io': 'socketio',
  ramp: 'stages',
  ramping: 'stages',
  gracefulStopMs: 'gracefulStop',
};

/**
 * The closest of `candidates` to `word`: an alias-table hit whose target is a candidate (or a
 * dotted path when `allowPaths`), else a candidate within a small edit distance.
 */
export function didYouMean(word: string, candidates: readonly string[], allowPaths = false): string | undefined {
  // Own properties only: a key named "toString" must not find Object.prototype.toString.
  const folded = word.toLowerCase();
  const alias = Object.hasOwn(KEY_ALIASES, word) ? KEY_ALIASES[word] : Object.hasOwn(KEY_ALIASES, folded) ? KEY_ALIASES[folded] : undefined;
  if (alias !== undefined && alias !== word && (candidates.includes(alias) || (allowPaths && alias.includes('.')))) {
    return alias;
  }
  const lower = word.toLowerCase();
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const c of candidates) {
    if (c.toLowerCase() === lower) return c;
    const d = levenshtein(lower, c.toLowerCase());
    if (d < bestDistance) {
      bestDistance = d;
      best = c;
    }
  }
  // Short words tolerate one edit, longer ones two or a third of their length.
  const limit = Math.max(1, Math.min(3, Math.floor(word.length / 3)));
  return bestDistance <= limit ? best : undefined;
}
