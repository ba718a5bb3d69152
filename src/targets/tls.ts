// Self-signed X.509 v3 certificates for the embedded targets and the TLS tests, with no
// dependency beyond node:crypto: node generates the key pair and signs; this file only writes
// the DER of the tbsCertificate and the outer Certificate (RFC 5280 §4.1).
//
// The certificate carries basicConstraints CA:true so the same PEM can be handed to a client as
// its `ca` (a self-signed trust anchor that is also the leaf), plus subjectAltName entries for
// the loopback names, because clients check the hostname against SANs, not the CN.

import { createHash, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';
import { isIP } from 'node:net';

export interface SelfSignedOptions {
  commonName?: string; // default "localhost"
  /** DNS names and IP addresses; default localhost, 127.0.0.1, ::1. */
  altNames?: string[];
  /** Validity from now; default 365. Zero or negative yields an already-expired certificate (tests). */
  days?: number;
  /** Default 'ec' (P-256: fast to generate); 'rsa' is RSA 2048. */
  keyType?: 'ec' | 'rsa';
}

export interface SelfSignedCertificate {
  cert: string; // PEM
  key: string; // PEM (PKCS#8)
  /** SHA-256 of the DER, "AB:CD:…", as crypto.X509Certificate#fingerprint256 prints it. */
  fingerprint256: string;
}

const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;

export function generateSelfSignedCertificate(opts: SelfSignedOptions = {}): SelfSignedCertificate {
  const commonName = opts.commonName ?? 'localhost';
  const altNames = opts.altNames ?? ['localhost', '127.0.0.1', '::1'];
  const days = opts.days ?? 365;
  const keyType = opts.keyType ?? 'ec';

  const { publicKey, privateKey } =
    keyType === 'rsa'
      ? generateKeyPairSync('rsa', { modulusLength: 2048 })
      : generateKeyPairSync('ec', { namedCurve: 'prime256v1' });

  const nowMs = Date.now();
  const notAfterMs = nowMs + days * DAY_MS;
  // An hour back tolerates small clock skew between the signer and the verifier; an expired
  // certificate (days <= 0) still needs notBefore < notAfter.
  const notBeforeMs = Math.min(nowMs - HOUR_MS, notAfterMs - DAY_MS);

  const sigAlg = keyType === 'rsa' ? ALG_SHA256_RSA : ALG_ECDSA_SHA256;
  const spki = publicKey.export({ type: 'spki', format: 'der' });
  const name = encodeName(commonName);
  const tbs = seq(
    explicit(0, integer(Buffer.from([2]))), // version v3
    integer(serialNumber()),
    sigAlg,
    name, // issuer = subject: self-signed
    seq(time(new Date(notBeforeMs)), time(new Date(notAfterMs))),
    name,
    spki,
    explicit(3, seq(...extensions(altNames, spki, keyType))),
  );
  const signature = signTbs(tbs, privateKey, keyType);
  const der = seq(tbs, sigAlg, bitString(signature));

  return {
    cert: toPem('CERTIFICATE', der),
    key: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    fingerprint256: fingerprint(der),
  };
}

function signTbs(tbs: Buffer, key: KeyObject, keyType: 'ec' | 'rsa'): Buffer {
  // ECDSA signatures in X.509 are the DER ECDSA-Sig-Value, which is node's default encoding.
  return keyType === 'rsa' ? sign('sha256', tbs, key) : sign('sha256', tbs, { key, dsaEncoding: 'der' });
}

function extensions(altNames: string[], spki: Buffer, keyType: 'ec' | 'rsa'): Buffer[] {
  // keyUsage bits (RFC 5280 §4.2.1.3), numbered from the most significant bit of the first byte:
  // digitalSignature(0), keyEncipherment(2, RSA key exchange only), keyCertSign(5).
  const keyUsageBits = keyType === 'rsa' ? 0b1010_0100 : 0b1000_0100;
  return [
    extension(OID_BASIC_CONSTRAINTS, true, seq(tlv(0x01, Buffer.from([0xff])))), // cA TRUE
    extension(OID_KEY_USAGE, true, namedBits(keyUsageBits)),
    extension(OID_EXT_KEY_USAGE, false, seq(oid(OID_SERVER_AUTH), oid(OID_CLIENT_AUTH))),
    extension(OID_SUBJECT_ALT_NAME, false, seq(...altNames.map(generalName))),
    extension(OID_SUBJECT_KEY_ID, false, tlv(0x04, subjectKeyId(spki))),
  ];
}

function generalName(name: string): Buffer {
  const family = isIP(name);
  if (family === 4) return tlv(0x87, Buffer.from(name.split('.').map(Number))); // [7] iPAddress
  if (family === 6) return tlv(0x87, ipv6Bytes(name));
  return tlv(0x82, Buffer.from(name, 'ascii')); // [2] dNSName (IA5String)
}

/** RFC 5280 §4.2.1.2 method (1): SHA-1 of the subjectPublicKey BIT STRING's contents. */
function subjectKeyId(spki: Buffer): Buffer {
  const outer = readTlv(spki, 0); // SubjectPublicKeyInfo SEQUENCE
  const algorithm = readTlv(spki, outer.contentStart);
  const keyBits = readTlv(spki, algorithm.end);
  // Skip the BIT STRING's leading "unused bits" byte.
  return createHash('sha1').update(spki.subarray(keyBits.contentStart + 1, keyBits.end)).digest();
}

function readTlv(der: Buffer, offset: number): { contentStart: number; end: number } {
  let lengthOffset = offset + 1;
  let length = der[lengthOffset]!;
  let contentStart = lengthOffset + 1;
  if (length & 0x80) {
    const lengthBytes = length & 0x7f;
    length = 0;
    for (let i = 0; i < lengthBytes; i++) length = length * 256 + der[contentStart + i]!;
    contentStart += lengthBytes;
  }
  return { contentStart, end: contentStart + length };
}

function ipv6Bytes(address: string): Buffer {
  let text = address;
  // An embedded IPv4 tail ("::ffff:1.2.3.4") is rewritten as its two 16-bit groups.
  const lastColon = text.lastIndexOf(':');
  if (text.includes('.', lastColon)) {
    const v4 = text.slice(lastColon + 1).split('.').map(Number);
    const hi = ((v4[0]! << 8) | v4[1]!).toString(16);
    const lo = ((v4[2]! << 8) | v4[3]!).toString(16);
    text = `${text.slice(0, lastColon + 1)}${hi}:${lo}`;
  }
  const parse = (part: string | undefined): number[] =>
    part === undefined || part === '' ? [] : part.split(':').map((g) => parseInt(g, 16));
  const halves = text.split('::');
  const head = parse(halves[0]);
  const tail = parse(halves[1]);
  const zeros = halves.length === 2 ? 8 - head.length - tail.length : 0;
  const groups = [...head, ...new Array<number>(zeros).fill(0), ...tail];
  const out = Buffer.alloc(16);
  groups.forEach((g, i) => out.writeUInt16BE(g, i * 2));
  return out;
}

function serialNumber(): Buffer {
  const serial = randomBytes(16);
  serial[0] = (serial[0]! & 0x7f) | 0x01; // positive and non-zero, so no padding byte is needed
  return serial;
}

function encodeName(commonName: string): Buffer {
  // Name ::= SEQUENCE OF RelativeDistinguishedName (SET OF AttributeTypeAndValue)
  return seq(tlv(0x31, seq(oid(OID_COMMON_NAME), tlv(0x0c, Buffer.from(commonName, 'utf8')))));
}

function time(date: Date): Buffer {
  // RFC 5280 §4.1.2.5: UTCTime through 2049, GeneralizedTime from 2050.
  const iso = date.toISOString(); // YYYY-MM-DDTHH:MM:SS.sssZ
  const digits = iso.slice(0, 19).replace(/[-:T]/g, '') + 'Z';
  const year = date.getUTCFullYear();
  if (year >= 1950 && year < 2050) return tlv(0x17, Buffer.from(digits.slice(2), 'ascii'));
  return tlv(0x18, Buffer.from(digits, 'ascii'));
}

function extension(extnId: string, critical: boolean, value: Buffer): Buffer {
  const parts = [oid(extnId)];
  if (critical) parts.push(tlv(0x01, Buffer.from([0xff])));
  parts.push(tlv(0x04, value));
  return seq(...parts);
}

// --- DER primitives -------------------------------------------------------------------------

function tlv(tag: number, content: Buffer): Buffer {
  return Buffer.concat([Buffer.from([tag]), derLength(content.length), content]);
}

function derLength(length: number): Buffer {
  if (length < 0x80) return Buffer.from([length]);
  const bytes: number[] = [];
  for (let n = length; n > 0; n = Math.floor(n / 256)) bytes.unshift(n & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

function seq(...items: Buffer[]): Buffer {
  return tlv(0x30, Buffer.concat(items));
}

function explicit(tagNumber: number, inner: Buffer): Buffer {
  return tlv(0xa0 | tagNumber, inner);
}

/** INTEGER from big-endian magnitude bytes (the caller keeps the sign bit clear). */
function integer(bytes: Buffer): Buffer {
  return tlv(0x02, bytes);
}

function bitString(bytes: Buffer): Buffer {
  return tlv(0x03, Buffer.concat([Buffer.from([0]), bytes]));
}

/** A one-byte named BIT STRING with trailing zero bits dropped (DER requires minimal length). */
function namedBits(byte: number): Buffer {
  let unused = 0;
  while (unused < 7 && ((byte >> unused) & 1) === 0) unused++;
  return tlv(0x03, Buffer.from([unused, byte]));
}

function oid(dotted: string): Buffer {
  const arcs = dotted.split('.').map(Number);
  const bytes: number[] = [arcs[0]! * 40 + arcs[1]!];
  for (const arc of arcs.slice(2)) {
    const chunk: number[] = [arc & 0x7f];
    for (let n = Math.floor(arc / 128); n > 0; n = Math.floor(n / 128)) chunk.unshift(0x80 | (n & 0x7f));
    bytes.push(...chunk);
  }
  return tlv(0x06, Buffer.from(bytes));
}

function toPem(label: string, der: Buffer): string {
  const base64 = der.toString('base64').replace(/(.{64})/g, '$1\n');
  return `-----BEGIN ${label}-----\n${base64.replace(/\n$/, '')}\n-----END ${label}-----\n`;
}

function fingerprint(der: Buffer): string {
  const hex = createHash('sha256').update(der).digest('hex').toUpperCase();
  return hex.match(/../g)!.join(':');
}

const OID_COMMON_NAME = '2.5.4.3';
const OID_BASIC_CONSTRAINTS = '2.5.29.19';
const OID_KEY_USAGE = '2.5.29.15';
const OID_EXT_KEY_USAGE = '2.5.29.37';
const OID_SUBJECT_ALT_NAME = '2.5.29.17';
const OID_SUBJECT_KEY_ID = '2.5.29.14';
const OID_SERVER_AUTH = '1.3.6.1.5.5.7.3.1';
const OID_CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';
const ALG_ECDSA_SHA256 = seq(oid('1.2.840.10045.4.3.2')); // parameters absent (RFC 5758)
const ALG_SHA256_RSA = seq(oid('1.2.840.113549.1.1.11'), tlv(0x05, Buffer.alloc(0))); // NULL parameters
