import crypto from 'node:crypto';
import { DEVICE_ID } from './csr.ts';
import { Refused } from './errors.ts';
import type { FactoryCaRecord } from './store.ts';

const CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';
const MAX_DEPTH = 4;

/** What a factory certificate proves: this hardware (its CN) was made for the CA's tenant. */
export interface FactoryIdentity {
  deviceId: string;
  ca: FactoryCaRecord;
}

/** Checks a CA certificate before registration: parseable, a CA, currently valid. */
export function parseFactoryCa(pem: string, now = new Date()): { pem: string; sha256: string; subject: string } {
  let cert: crypto.X509Certificate;
  try {
    cert = new crypto.X509Certificate(pem);
  } catch {
    throw new Refused('invalid', 'not a PEM certificate');
  }
  if (!cert.ca) throw new Refused('invalid', `${oneLine(cert.subject)} is not a CA certificate (basicConstraints CA:TRUE)`);
  if (!validAt(cert, now)) throw new Refused('invalid', `${oneLine(cert.subject)} is not valid now (${cert.validFrom} – ${cert.validTo})`);
  return { pem: cert.toString(), sha256: crypto.createHash('sha256').update(cert.raw).digest('hex'), subject: oneLine(cert.subject) };
}

/**
 * Verifies a device's factory chain (leaf first, as sent in the TLS handshake, which already proved
 * the device holds the leaf's key) against the registered factory CAs. Every refusal says why; the
 * registration it chains to gives the tenant.
 */
export function verifyFactoryChain(chainDer: readonly Buffer[], cas: readonly FactoryCaRecord[], now = new Date()): FactoryIdentity {
  if (!chainDer.length) throw new Refused('unauthenticated', 'no valid enrollment claim: send a claim token or a factory certificate (TLS client certificate)');
  let certs: crypto.X509Certificate[];
  try {
    certs = chainDer.map((d) => new crypto.X509Certificate(d));
  } catch {
    throw new Refused('invalid', 'the client certificate chain could not be parsed');
  }
  const leaf = certs[0]!;
  const rest = certs.slice(1);
  if (leaf.ca) throw new Refused('unauthenticated', 'the factory certificate is a CA certificate, not a device certificate');
  if (!validAt(leaf, now)) throw new Refused('unauthenticated', `factory certificate not valid now (${leaf.validFrom} – ${leaf.validTo})`);
  const eku = leaf.keyUsage;
  if (eku && !eku.includes(CLIENT_AUTH)) throw new Refused('unauthenticated', 'factory certificate is not for client authentication (extendedKeyUsage)');
  const cn = commonName(leaf);
  if (!cn || !DEVICE_ID.test(cn)) throw new Refused('unauthenticated', `factory certificate subject CN must be the device id (${DEVICE_ID.source})`);

  const anchors = cas.map((ca) => ({ ca, cert: new crypto.X509Certificate(ca.pem) }));
  let current = leaf;
  for (let depth = 0; depth <= MAX_DEPTH; depth++) {
    const anchor = anchors.find((a) => issuedBy(current, a.cert));
    if (anchor) {
      if (anchor.ca.revoked) throw new Refused('forbidden', `factory CA ${anchor.ca.id} (${anchor.ca.subject}) is revoked`);
      if (!validAt(anchor.cert, now)) throw new Refused('unauthenticated', `factory CA ${anchor.ca.subject} has expired`);
      return { deviceId: cn, ca: anchor.ca };
    }
    const next = rest.find((c) => c.ca && validAt(c, now) && issuedBy(current, c));
    if (!next) break;
    current = next;
  }
  throw new Refused('unauthenticated', 'factory certificate does not chain to a registered factory CA');
}

function issuedBy(cert: crypto.X509Certificate, issuer: crypto.X509Certificate): boolean {
  return issuer.ca && cert.checkIssued(issuer) && cert.verify(issuer.publicKey);
}

function validAt(cert: crypto.X509Certificate, now: Date): boolean {
  return Date.parse(cert.validFrom) <= now.getTime() && now.getTime() <= Date.parse(cert.validTo);
}

function commonName(cert: crypto.X509Certificate): string | undefined {
  const cns = cert.subject.split('\n').filter((l) => l.startsWith('CN='));
  return cns.length === 1 ? cns[0]!.slice(3) : undefined;
}

const oneLine = (dn: string) => dn.split('\n').join(', ');
