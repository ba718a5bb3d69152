// Heuristics for values that change from run to run (ids, timestamps, nonces, tokens) and for
// values that are secrets. A recorded value that varies must not end up in an exact matcher (the
// replay would never match it), and a secret must never end up in the scenario file at all.

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const LONG_HEX_RE = /^(?:0x)?[0-9a-f]{16,}$/i;
const ISO_DATE_RE = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}/;
const EPOCH_STRING_RE = /^\d{10}(?:\d{3})?(?:\.\d+)?$/;
const JWT_RE = /^[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}$/;
// Long opaque tokens: base64/base64url of 20+ chars mixing letters and digits.
const OPAQUE_RE = /^[A-Za-z0-9+/_-]{20,}={0,2}$/;

// Keys whose values identify one run, one message or one moment.
const VOLATILE_KEY_EXACT = new Set([
  'id', 'ids', 'uuid', 'guid', 'nonce', 'token', 'ts', 'time', 'timestamp', 'date', 'now',
  'sid', 'session', 'sessionid', 'created', 'updated', 'expires', 'expiry', 'exp', 'iat', 'nbf',
  'seq', 'sequence', 'rand', 'random', 'signature', 'sig', 'hash', 'etag', 'serial', 'counter',
  // Short ids written as one word: user, group, process, thread/trace, message.
  'uid', 'gid', 'pid', 'tid', 'mid', 'rid', 'cid', 'txid',
]);
// `user_id`, `USER_ID`, `created-at`, `msg.ts`: a separator, then the id word (any case).
const VOLATILE_KEY_SNAKE_RE = /(?:^|[_\-.])(?:id|ids|uuid|guid|nonce|token|ts|time|timestamp|date|at|seq|hash|sig)$/i;
// `userId`, `sessionID`, `createdAt`: camelCase, so the case says where the word starts
// (case-insensitive, `paid`, `valid`, `chat` and `format` would count).
const VOLATILE_KEY_CAMEL_RE = /[a-z0-9](?:Id|Ids|ID|IDs|Uuid|UUID|Guid|GUID|Nonce|Token|Ts|Time|Timestamp|Date|At|Seq|Hash)$/;
// `userid`, `messageid`, `requestid`, `createdat`, `USERID`: one word, no case or separator to
// split it, so only with a prefix that names what the id is of (a bare `…id` is `paid`, `valid`,
// `android`; a bare `…at` is `chat`, `format`).
const VOLATILE_KEY_COMPOUND_RE = new RegExp(
  '^(?:user|usr|message|msg|request|req|session|sess|conn|connection|client|device|room|channel|order|trace|' +
    'span|event|evt|tx|txn|transaction|correlation|account|acct|player|game|chat|thread|conversation|job|task|' +
    'instance|node|entity|record|doc|document|item|product|customer|socket|stream|sub|subscription|call|peer|' +
    'sender|recipient|author|owner|parent|group|team|org|tenant|server|reply|response|packet|frame|batch|upload|' +
    'file|post|comment|ticket|invoice|payment|cart|reference|ref|trade|quote|delivery|notification|' +
    'created|updated|sent|received|expires|expired|issued|modified|deleted|started|ended|joined|last)' +
    '(?:id|ids|uuid|guid|token|ts|time|timestamp|at|seq|nonce|hash|no|num)$',
  'i',
);

/** Keys that carry a request/reply correlation value (JSON-RPC id, Phoenix ref, …), in any
 *  spelling: `requestId`, `request_id`, `REQUEST_ID`, `requestid` are one key. */
const CORRELATION_KEY_WORDS = new Set([
  'id', 'requestid', 'reqid', 'correlationid', 'ref', 'rid', 'cid', 'msgid', 'messageid', 'txid', 'callid',
  'nonce', 'tag', 'seq',
]);
export const CORRELATION_KEYS: { has(key: string): boolean } = {
  has: (key: string) => CORRELATION_KEY_WORDS.has(key.toLowerCase().replace(/[_\-.]/g, '')),
};

/** Keys whose string values are a discriminator worth naming a step after. */
export const DISCRIMINATOR_KEYS = ['type', 'event', 'op', 'action', 'cmd', 'command', 'method', 'kind', 'topic'];

export function isVolatileKey(key: string): boolean {
  return (
    VOLATILE_KEY_EXACT.has(key.toLowerCase()) ||
    VOLATILE_KEY_SNAKE_RE.test(key) ||
    VOLATILE_KEY_CAMEL_RE.test(key) ||
    VOLATILE_KEY_COMPOUND_RE.test(key)
  );
}

/** A string whose shape says it is generated: uuid, long hex, ISO date, epoch digits, JWT, opaque token. */
export function isVolatileString(value: string): boolean {
  return (
    UUID_RE.test(value) ||
    LONG_HEX_RE.test(value) ||
    ISO_DATE_RE.test(value) ||
    EPOCH_STRING_RE.test(value) ||
    JWT_RE.test(value) ||
    (OPAQUE_RE.test(value) && /\d/.test(value) && /[A-Za-z]/.test(value))
  );
}

/** Epoch seconds (2001..2286) or epoch milliseconds in the same range. */
export function isEpochLike(value: number): boolean {
  return (value >= 1e9 && value < 1e10) || (value >= 1e12 && value < 1e13);
}

export function isVolatile(key: string | undefined, value: unknown): boolean {
  if (typeof value === 'string') return (key !== undefined && isVolatileKey(key)) || isVolatileString(value);
  if (typeof value === 'number') return (key !== undefined && isVolatileKey(key)) || isEpochLike(value);
  return false;
}

// --- secrets --------------------------------------------------------------------------------

// Whole keys that are credentials but whose words alone are too common to count (`pass`, `auth`,
// `otp`, `pin`: in `passengers`, `author`, `pinned` they are not).
const SECRET_KEY_EXACT_RE = /^(?:pass|auth|otp|pin|totp|mfa[_-]?code|creds)$/i;
/** Words that make a key a credential wherever they stand in it (`csrf_token`, `user_password`,
 *  `api_secret`, `passcode`). A key made of one lower-case word (`authtoken`, `userpassword`)
 *  counts when it ends with one of them (not `pwd` or `jwt`: too short to end a word with). */
const SECRET_WORDS = new Set([
  'password', 'passwd', 'pwd', 'passcode', 'passphrase', 'secret', 'secrets', 'token', 'jwt', 'apikey',
  'credential', 'credentials', 'signature', 'authorization', 'accesskey', 'secretkey', 'privatekey',
  'sessionkey', 'apitoken', 'authtoken',
]);
const SECRET_WORD_SUFFIX_RE = /(?:password|passwd|passcode|passphrase|secret|token|apikey|accesskey|secretkey|privatekey|sessionkey|credentials?|signature)$/;
/** `api_key`, `accessKey`, `x-api-key`, `privateKey`, `auth_key`: one of these words, then `key`. */
const SECRET_KEY_OWNERS = new Set(['api', 'access', 'private', 'secret', 'session', 'auth', 'client', 'signing', 'encryption']);
/** The last word that makes a key describe a credential rather than hold it: `token_type:
 *  "Bearer"`, `tokenExpiresAt`, `password_min_length`, `secretName` (a Kubernetes secret's name),
 *  `token_url`. A value under such a key is not secret, and replacing it with `${env.…}` would
 *  only ask the user for a variable that holds what the recording already shows. */
const SECRET_META_WORDS = new Set([
  'type', 'types', 'kind', 'count', 'counts', 'len', 'length', 'size', 'ttl', 'expires', 'expiry', 'exp',
  'expiration', 'expired', 'url', 'uri', 'endpoint', 'hint', 'policy', 'name', 'format', 'scheme', 'required',
  'enabled', 'set', 'left', 'remaining', 'limit', 'used', 'usage', 'at', 'field', 'param', 'header', 'status',
  'version', 'strength', 'changed', 'reset', 'rules', 'mode', 'algorithm', 'alg',
]);

/** "x_api_key" -> [x, api, key]; "accessKey" -> [access, key]; "APIKey" -> [api, key]; "jwt2" -> [jwt, 2]. */
export function keyWords(key: string): string[] {
  return key
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1 $2')
    .replace(/([A-Za-z])([0-9])/g, '$1 $2')
    .split(/[^A-Za-z0-9]+/)
    .filter(Boolean)
    .map((w) => w.toLowerCase());
}

const SECRET_HEADER_RE = /token|secret|api[-_]?key|access[-_]?key|auth|password|session|signature|credential/i;
// Query parameters that sign or key a URL: Azure SAS (`sig`), Google/AWS presigned URLs
// (`X-Goog-Signature`, `X-Amz-Credential`), API gateways (`key`, `code`-less). Names too generic
// to be secrets as JSON keys (`key: "ArrowUp"`) are secrets in a URL's query.
const SECRET_QUERY_RE =
  /^(?:sig|key|sas|sas[_-]?token|hmac|otp|pass|passwd|pwd|credentials?|x-(?:amz|goog)-(?:signature|credential|security-token)|access[_-]?key(?:[_-]?id)?|secret[_-]?key)$/i;

/**
 * A JSON key or query parameter whose value is a credential. The key is split into words
 * (camelCase, `_`, `-`, `.`): it is a credential when a word says so (`password`, `passcode`,
 * `secret`, `token`, `jwt`, `apikey`, `credentials`, `signature`, `authorization`…), or a word
 * pair does (`api`/`access`/`private`/`secret`/`session`/`auth`/`client` then `key`), unless the
 * last word says the value describes the credential (`token_type`, `passwordLength`,
 * `tokenExpiresAt`). `key` alone (a key press), `keyboard`, `monkey`, `tokens_left`, `author`,
 * `passengers` are not credentials.
 */
export function isSecretKey(key: string): boolean {
  if (SECRET_KEY_EXACT_RE.test(key)) return true;
  const words = keyWords(key);
  if (words.length === 0) return false;
  if (words.length > 1 && SECRET_META_WORDS.has(words[words.length - 1]!)) return false;
  if (words.length === 1) return SECRET_WORDS.has(words[0]!) || SECRET_WORD_SUFFIX_RE.test(words[0]!);
  for (let i = 0; i < words.length; i++) {
    const w = words[i]!;
    if (SECRET_WORDS.has(w)) return true;
    if (w === 'key' && i > 0 && SECRET_KEY_OWNERS.has(words[i - 1]!)) return true;
  }
  return false;
}

/** A request header that carries a credential (besides Authorization and Cookie). */
export function isSecretHeader(name: string): boolean {
  const lower = name.toLowerCase();
  if (lower === 'authorization' || lower === 'cookie' || lower === 'proxy-authorization') return true;
  if (lower.startsWith('sec-websocket-')) return false; // Sec-WebSocket-Key is a nonce, dropped anyway
  return SECRET_HEADER_RE.test(lower);
}

/** A URL query parameter whose value is a credential: what isSecretKey and isSecretHeader say,
 *  plus the names signed and keyed URLs use (`sig`, `key`, `X-Amz-Signature`…). */
export function isSecretQueryParam(name: string, value: string): boolean {
  return isSecretKey(name) || isSecretHeader(name) || SECRET_QUERY_RE.test(name) || looksLikeCredential(value);
}

const K8S_BEARER_PROTOCOL = 'base64url.bearer.authorization.k8s.io.';
/** Subprotocol names after which browsers' workaround sends the token as the next subprotocol
 *  (browsers cannot set Authorization on a WebSocket): `access_token, eyJ…`. */
const TOKEN_CARRIER_PROTOCOL_RE = /^(?:access[_-]?token|token|bearer|auth|authorization|jwt|api[_-]?key)$/i;

/**
 * Splits a credential out of an offered subprotocol: `prefix` is kept and the rest is the secret.
 * A JWT or long opaque token is secret whole; Kubernetes' `base64url.bearer.authorization.k8s.io.`
 * carries its token after the prefix; a value right after `access_token` (or `token`, `bearer`…)
 * is that token. undefined: not a credential.
 */
export function subprotocolCredential(protocol: string, previous: string | undefined): { prefix: string } | undefined {
  if (protocol.toLowerCase().startsWith(K8S_BEARER_PROTOCOL) && protocol.length > K8S_BEARER_PROTOCOL.length) {
    return { prefix: protocol.slice(0, K8S_BEARER_PROTOCOL.length) };
  }
  if (previous !== undefined && TOKEN_CARRIER_PROTOCOL_RE.test(previous)) return { prefix: '' };
  if (looksLikeCredential(protocol)) return { prefix: '' };
  // Protocol names are words with dots and versions (`graphql-transport-ws`, `wamp.2.json`);
  // 20+ characters of base64 mixing letters and digits with no dot is a token.
  if (!protocol.includes('.') && OPAQUE_RE.test(protocol) && /\d/.test(protocol) && /[A-Za-z]/.test(protocol) && protocol.length >= 24) return { prefix: '' };
  return undefined;
}

/** Credentials in URLs inside free text (an origin like "recording of wss://h/?token=…", an
 *  error listing URLs) become REDACTED; user:password is dropped. */
export function redactUrls(text: string): string {
  return text.replace(/\b(?:wss?|https?):\/\/[^\s,]+/gi, (raw) => {
    try {
      const url = new URL(raw);
      let changed = false;
      if (url.username || url.password) {
        url.username = '';
        url.password = '';
        changed = true;
      }
      for (const [key, value] of [...url.searchParams]) {
        if (isSecretQueryParam(key, value)) {
          url.searchParams.set(key, 'REDACTED');
          changed = true;
        }
      }
      // Unchanged, the URL stays as it was written (no added trailing slash).
      return changed ? url.toString() : raw;
    } catch {
      return raw;
    }
  });
}

/** A value that is a credential whatever its key: a JWT or a Bearer token. */
export function looksLikeCredential(value: string): boolean {
  return JWT_RE.test(value) || /^Bearer\s+\S{8,}$/i.test(value);
}

/** Tokens inside free text that vary per run, with the regex that matches any such token. */
export const VOLATILE_TOKEN_PATTERNS: readonly { re: RegExp; pattern: string }[] = [
  { re: /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi, pattern: '[0-9a-fA-F-]{36}' },
  { re: /\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?/g, pattern: '[0-9T:.Z+ -]+' },
  { re: /[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}/g, pattern: '[A-Za-z0-9_.-]+' },
  { re: /\b(?:0x)?[0-9a-f]{16,}\b/gi, pattern: '[0-9a-fA-Fx]+' },
  { re: /\b\d{10}(?:\d{3})?(?:\.\d+)?\b/g, pattern: '\\d+(?:\\.\\d+)?' },
];

/** "X-Api-Key" -> "X_API_KEY"; "sessionToken" -> "SESSION_TOKEN" (an env variable name). */
export function envNameFor(name: string): string {
  const snake = name
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .replace(/[^A-Za-z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '')
    .toUpperCase();
  return /^[A-Z_]/.test(snake) ? snake || 'SECRET' : `V_${snake}`;
}
