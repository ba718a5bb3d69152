import { createPrivateKey as createKey, X509Certificate } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { generateSelfSignedCertificate } from '../../src/targets/tls.js';

describe('generateSelfSignedCertificate', () => {
  for (const keyType of ['ec', 'rsa'] as const) {
    it(`writes a ${keyType} certificate that node's X509Certificate parses and verifies`, () => {
      const made = generateSelfSignedCertificate({ keyType, commonName: 'volley test' });
      const x509 = new X509Certificate(made.cert);
      expect(x509.subject).toBe('CN=volley test');
      expect(x509.issuer).toBe('CN=volley test');
      expect(x509.ca).toBe(true);
      expect(x509.verify(x509.publicKey)).toBe(true);
      expect(x509.checkPrivateKey(createKey(made.key))).toBe(true);
      expect(x509.fingerprint256).toBe(made.fingerprint256);
      expect(x509.subjectAltName).toBe('DNS:localhost, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1');
      expect(x509.checkHost('localhost')).toBe('localhost');
      expect(x509.checkIP('127.0.0.1')).toBe('127.0.0.1');
      expect(x509.checkIP('::1')).toBe('::1');
      expect(x509.checkIP('127.0.0.2')).toBeUndefined();
      // node prints the extKeyUsage extension here: serverAuth and clientAuth.
      expect(x509.keyUsage).toEqual(['1.3.6.1.5.5.7.3.1', '1.3.6.1.5.5.7.3.2']);
    });
  }

  it('encodes IPv6 SANs with :: compression and an IPv4 tail', () => {
    const made = generateSelfSignedCertificate({
      commonName: 'volley',
      altNames: ['fe80::1:2', '::ffff:10.0.0.1', '2001:db8::'],
    });
    const x509 = new X509Certificate(made.cert);
    expect(x509.checkIP('fe80::1:2')).toBe('fe80::1:2');
    expect(x509.checkIP('::ffff:a00:1')).toBeDefined();
    expect(x509.checkIP('2001:db8::')).toBe('2001:db8::');
    expect(x509.checkHost('localhost')).toBeUndefined();
  });

  it('makes the validity period from days, and an expired one from days <= 0', () => {
    const year = new X509Certificate(generateSelfSignedCertificate({ days: 30 }).cert);
    const spanMs = Date.parse(year.validTo) - Date.parse(year.validFrom);
    expect(spanMs / 86_400_000).toBeGreaterThan(29.9);
    expect(spanMs / 86_400_000).toBeLessThan(30.1);
    const expired = new X509Certificate(generateSelfSignedCertificate({ days: -1 }).cert);
    expect(Date.parse(expired.validTo)).toBeLessThan(Date.now());
    expect(Date.parse(expired.validFrom)).toBeLessThan(Date.parse(expired.validTo));
  });

  it('uses GeneralizedTime for dates from 2050 on', () => {
    const x509 = new X509Certificate(generateSelfSignedCertificate({ days: 365 * 40 }).cert);
    expect(new Date(x509.validTo).getUTCFullYear()).toBeGreaterThanOrEqual(2050);
  });
});
