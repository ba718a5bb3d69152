// How keys are classified: credentials (written as ${env.NAME}), values that change per run
// (left out of matchers), and correlation keys (kept so an expect waits for its own reply).
// Over-matching is not harmless either: a key taken for a credential makes the replay ask for an
// environment variable, one taken for an id loosens the matcher; so the ordinary keys are pinned
// down here too.

import { describe, expect, it } from 'vitest';
import { CORRELATION_KEYS, isSecretKey, isVolatileKey, keyWords } from '../../src/record/volatile.js';

describe('isSecretKey', () => {
  it.each([
    // the audit's misses
    'auth_token', 'api_token', 'secret_key', 'x_api_key', 'user_password', 'api_secret', 'access_key', 'csrf_token',
    'accessKey', 'secretKey', 'passcode',
    // and what was caught before
    'password', 'passwd', 'pwd', 'pass', 'secret', 'token', 'jwt', 'auth', 'authorization', 'Authorization', 'credentials',
    'credential', 'apiKey', 'api-key', 'apikey', 'APIKey', 'X-API-KEY', 'access_token', 'accessToken', 'refresh_token',
    'refreshToken', 'idToken', 'id_token', 'sessionToken', 'session_token', 'client_secret', 'clientSecret', 'private_key',
    'privateKey', 'signature', 'otp', 'pin',
    // spelled otherwise
    'AUTH_TOKEN', 'authtoken', 'accesstoken', 'userpassword', 'clientsecret', 'sessionKey', 'session-key', 'auth.key',
    'jwt2', 'passphrase', 'newPassword', 'password_confirmation', 'x-csrf-token', 'signingKey', 'encryption_key',
  ])('%s is a credential', (key) => {
    expect(isSecretKey(key)).toBe(true);
  });

  it.each([
    // words that contain a secret word, or `key` alone (a key press in a game or an editor)
    'key', 'keys', 'keyboard', 'monkey', 'keyCode', 'hotkey', 'tokens_left', 'tokens', 'tokenizer', 'author', 'authors',
    'passengers', 'passage', 'compass', 'pinned', 'spin', 'secretary', 'publicKey', 'public_key', 'keyId',
    // keys that describe a credential rather than hold it
    'token_type', 'tokenType', 'password_min_length', 'passwordRequired', 'tokenExpiresAt', 'token_expires', 'secretName',
    'token_url', 'tokenEndpoint', 'signatureAlgorithm',
    // ordinary keys
    'type', 'user', 'room', 'text', 'sessionId', 'session', 'id', 'channel', 'op',
  ])('%s is not a credential', (key) => {
    expect(isSecretKey(key)).toBe(false);
  });

  it('splits keys into words at camelCase, separators and digits', () => {
    expect(keyWords('x_api_key')).toEqual(['x', 'api', 'key']);
    expect(keyWords('accessKey')).toEqual(['access', 'key']);
    expect(keyWords('APIKey')).toEqual(['api', 'key']);
    expect(keyWords('X-CSRF-Token')).toEqual(['x', 'csrf', 'token']);
    expect(keyWords('auth.token')).toEqual(['auth', 'token']);
    expect(keyWords('jwt2')).toEqual(['jwt', '2']);
  });
});

describe('isVolatileKey', () => {
  it.each([
    // the audit's misses
    'USER_ID', 'messageid', 'SESSION_ID', 'userid', 'msgid', 'requestid', 'uid',
    // and what was caught before
    'id', 'userId', 'user_id', 'sessionId', 'sessionID', 'createdAt', 'created_at', 'ts', 'timestamp', 'nonce', 'seq',
    'requestId', 'uuid', 'msg-id', 'msg.ts',
    // spelled otherwise
    'USERID', 'MessageId', 'CREATED_AT', 'createdat', 'sentat', 'orderno', 'trace_id', 'traceid', 'pid', 'txid',
  ])('%s varies per run', (key) => {
    expect(isVolatileKey(key)).toBe(true);
  });

  it.each(['paid', 'valid', 'android', 'void', 'grid', 'chat', 'format', 'seat', 'type', 'user', 'room', 'text', 'status', 'kind', 'method', 'data', 'said'])(
    '%s does not',
    (key) => {
      expect(isVolatileKey(key)).toBe(false);
    },
  );
});

describe('CORRELATION_KEYS', () => {
  it('knows a correlation key in any spelling', () => {
    for (const key of ['id', 'ID', 'requestId', 'request_id', 'REQUEST_ID', 'requestid', 'msgid', 'MSG_ID', 'messageId', 'ref', 'seq', 'correlation-id']) {
      expect(CORRELATION_KEYS.has(key), key).toBe(true);
    }
    for (const key of ['type', 'user', 'room', 'sessionId', 'userid']) expect(CORRELATION_KEYS.has(key), key).toBe(false);
  });
});
