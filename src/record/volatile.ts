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
]);
const VOLATILE_KEY_SUFFIX_RE =
  /(?:^|[_\-.])(?:id|ids|uuid|guid|nonce|token|ts|time|timestamp|date|at|seq|hash|sig)$|[a-z0-9](?:Id|Ids|ID|Uuid|Guid|Nonce|Token|Ts|Time|Timestamp|Date|At|Seq|Hash)$/;

/** Keys that carry a request/reply correlation value (JSON-RPC id, Phoenix ref, …). */
export const CORRELATION_KEYS = new Set([
  'id', 'requestId', 'request_id', 'reqId', 'req_id', 'correlationId', 'correlation_id', 'ref',
  'rid', 'cid', 'msgId', 'msg_id', 'messageId', 'message_id', 'txid', 'callId', 'call_id', 'nonce',
  'tag', 'seq',
]);

/** Keys whose string values are a discriminator worth naming a step after. */
export const DISCRIMINATOR_KEYS = ['type', 'event', 'op', 'action', 'cmd', 'command', 'method', 'kind', 'topic'];

export function isVolatileKey(key: string): boolean {
  return VOLATILE_KEY_EXACT.has(key.toLowerCase()) || VOLATILE_KEY_SUFFIX_RE.test(key);
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

const SECRET_KEY_RE =
  /^(?:password|passwd|pass|pwd|secret|token|jwt|auth|authorization|credentials?|api[_-]?key|apikey|access[_-]?token|refresh[_-]?token|id[_-]?token|session[_-]?token|client[_-]?secret|private[_-]?key|signature)$|[a-z](?:Password|Secret|Token|ApiKey|Credentials?)$/i;
const SECRET_HEADER_RE = /token|secret|api[-_]?key|access[-_]?key|auth|password|session|signature|credential/i;
// Query parameters that sign or key a URL: Azure SAS (`sig`), Google/AWS presigned URLs
// (`X-Goog-Signature`, `X-Amz-Credential`), API gateways (`key`, `code`-less). Names too generic
// to be secrets as JSON keys (`key: "ArrowUp"`) are secrets in a URL's query.
const SECRET_QUERY_RE =
  /^(?:sig|key|sas|sas[_-]?token|hmac|otp|pass|passwd|pwd|credentials?|x-(?:amz|goog)-(?:signature|credential|security-token)|access[_-]?key(?:[_-]?id)?|secret[_-]?key)$/i;

/** A JSON key or query parameter whose value is a credential. */
export function isSecretKey(key: string): boolean {
  return SECRET_KEY_RE.test(key);
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
