// Turns the many shapes of network failure into one error kind (errors{kind}) and a one-line
// message, so every transport counts the same failure the same way.

import type { ErrorKind } from '../metrics/names.js';
import { classifyTlsError } from './tls-options.js';

const TLS_CODES = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'ERR_SSL_WRONG_VERSION_NUMBER',
  'EPROTO',
]);

export interface ClassifiedError {
  kind: ErrorKind;
  message: string;
}

function codeOf(err: unknown): string | undefined {
  if (err && typeof err === 'object' && 'code' in err) {
    const code = (err as { code: unknown }).code;
    if (typeof code === 'string') return code;
  }
  return undefined;
}

function messageOf(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}

/** Classifies an error raised while connecting (before the connection is open). */
export function classifyConnectError(err: unknown, target: string): ClassifiedError {
  const code = codeOf(err);
  const message = messageOf(err).split('\n')[0]!;
  // Certificate and handshake failures read the same on every transport (Socket.IO uses it too).
  const tlsReason = classifyTlsError(err);
  if (tlsReason !== undefined) return { kind: 'tls', message: `TLS: ${tlsReason}` };
  if (code === 'ECONNREFUSED') return { kind: 'connect_refused', message: `connection refused by ${target}` };
  if (code === 'ETIMEDOUT' || /handshake has timed out|timed out/i.test(message))
    return { kind: 'connect_timeout', message: `handshake with ${target} timed out` };
  if (code && TLS_CODES.has(code)) return { kind: 'tls', message: `TLS: ${message}` };
  if (code && (code.startsWith('ERR_TLS') || code.startsWith('ERR_SSL') || code.includes('CERT')))
    return { kind: 'tls', message: `TLS: ${message}` };
  const status = /Unexpected server response: (\d+)/.exec(message);
  if (status) return { kind: 'handshake_rejected', message: `handshake rejected with HTTP ${status[1]} by ${target}` };
  if (code === 'ECONNRESET' || code === 'EPIPE') return { kind: 'reset', message: `connection reset by ${target}` };
  if (code === 'EADDRNOTAVAIL' || code === 'EADDRINUSE' || code === 'EMFILE' || code === 'ENFILE')
    return { kind: 'connect_refused', message: `${code}: ${message}` };
  if (/Invalid Sec-WebSocket|Server sent (a|no) subprotocol|Invalid Upgrade|Invalid status/i.test(message))
    return { kind: 'handshake_rejected', message: `${message} (${target})` };
  return { kind: 'connect_refused', message: `${message} (${target})` };
}

/** Classifies an error on an open connection. */
export function classifyConnectionError(err: unknown): ClassifiedError {
  const code = codeOf(err);
  const message = messageOf(err).split('\n')[0]!;
  const tlsReason = classifyTlsError(err);
  if (tlsReason !== undefined) return { kind: 'tls', message: `TLS: ${tlsReason}` };
  if (code === 'ECONNRESET' || code === 'EPIPE') return { kind: 'reset', message: 'connection reset by the server' };
  if (code && code.startsWith('WS_ERR_')) return { kind: 'protocol_error', message: `${code}: ${message}` };
  if (code && (TLS_CODES.has(code) || code.startsWith('ERR_TLS') || code.startsWith('ERR_SSL')))
    return { kind: 'tls', message: `TLS: ${message}` };
  return { kind: 'protocol_error', message };
}
