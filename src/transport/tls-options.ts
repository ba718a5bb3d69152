// TLS options shared by every transport: the scenario's `connect.tls` (file paths) resolved
// once into buffers, and one classifier so a certificate failure reads the same, and counts as
// errors{kind:tls}, whichever transport hit it.

import { readFileSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { VolleyError } from '../errors.js';
import type { TlsOptions } from '../scenario/types.js';
import type { ResolvedTls } from './types.js';

/** Reads the ca/cert/key files (relative to baseDir, the scenario's folder). Throws VolleyError
 *  INVALID_INPUT naming the file when one cannot be read. */
export function resolveTls(tls: TlsOptions | undefined, baseDir: string): ResolvedTls | undefined {
  if (!tls) return undefined;
  const resolved: ResolvedTls = { rejectUnauthorized: !tls.insecure };
  if (tls.ca !== undefined) resolved.ca = readTlsFile(tls.ca, 'ca', baseDir);
  if (tls.cert !== undefined) resolved.cert = readTlsFile(tls.cert, 'cert', baseDir);
  if (tls.key !== undefined) resolved.key = readTlsFile(tls.key, 'key', baseDir);
  if (tls.servername !== undefined) resolved.servername = tls.servername;
  return resolved;
}

function readTlsFile(file: string, role: 'ca' | 'cert' | 'key', baseDir: string): Buffer {
  const path = isAbsolute(file) ? file : resolve(baseDir, file);
  try {
    return readFileSync(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : (err as Error).message;
    throw new VolleyError('INVALID_INPUT', `${file}: cannot read the TLS ${role} file (${why})`, [
      { file, message: `cannot read the TLS ${role} file (${why})` },
    ]);
  }
}

// OpenSSL verification codes (as node sets err.code) -> the short reason users see.
const CERT_REASONS: Record<string, string> = {
  DEPTH_ZERO_SELF_SIGNED_CERT: 'self-signed certificate',
  SELF_SIGNED_CERT_IN_CHAIN: 'self-signed certificate in the chain',
  CERT_HAS_EXPIRED: 'certificate has expired',
  CERT_NOT_YET_VALID: 'certificate is not yet valid',
  ERR_TLS_CERT_ALTNAME_INVALID: 'hostname mismatch',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'unknown certificate issuer (unable to verify the first certificate)',
  UNABLE_TO_GET_ISSUER_CERT: 'unknown certificate issuer',
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: 'unknown certificate issuer',
  CERT_SIGNATURE_FAILURE: 'certificate signature failure',
  CERT_REVOKED: 'certificate revoked',
  CERT_UNTRUSTED: 'certificate not trusted',
  CERT_REJECTED: 'certificate rejected',
  INVALID_CA: 'invalid CA certificate',
  INVALID_PURPOSE: 'certificate not valid for this purpose',
  HOSTNAME_MISMATCH: 'hostname mismatch',
  ERR_TLS_HANDSHAKE_TIMEOUT: 'TLS handshake timed out',
};

/**
 * A one-line reason when `err` (or the error it wraps: `cause`, ws's `error`, engine.io's
 * `description`) is a TLS certificate or handshake failure; undefined otherwise, so callers fall
 * back to their own classification (refused, reset, timeout…).
 */
export function classifyTlsError(err: unknown): string | undefined {
  let current: unknown = err;
  for (let depth = 0; depth < 4 && current !== null && typeof current === 'object'; depth++) {
    const reason = reasonOf(current as { code?: unknown; reason?: unknown; message?: unknown });
    if (reason !== undefined) return reason;
    const wrapper = current as { cause?: unknown; error?: unknown; description?: unknown };
    current = wrapper.cause ?? wrapper.error ?? wrapper.description;
  }
  return undefined;
}

function reasonOf(err: { code?: unknown; reason?: unknown; message?: unknown }): string | undefined {
  const code = typeof err.code === 'string' ? err.code : undefined;
  if (code === undefined) return undefined;
  const known = CERT_REASONS[code];
  if (known !== undefined) {
    // Node's altname error explains which names were expected; keep that one detail.
    if (code === 'ERR_TLS_CERT_ALTNAME_INVALID' && typeof err.reason === 'string') return `${known}: ${err.reason}`;
    return known;
  }
  // Handshake-level failures (TLS to a plain port, an alert from the server, a bad key). Node
  // reports OpenSSL's record errors as EPROTO with "SSL routines:<function>:<reason>" inside.
  const message = typeof err.message === 'string' ? err.message : '';
  const openSsl = /SSL routines:[^:]*:([^:]+)/.exec(message);
  if (code === 'EPROTO' && openSsl) return `TLS handshake failed: ${openSsl[1]}`;
  if (code.startsWith('ERR_SSL_') || code.startsWith('ERR_TLS_')) {
    return `TLS handshake failed: ${openSsl ? openSsl[1] : message.split('\n')[0] || code}`;
  }
  return undefined;
}
