import crypto from 'node:crypto';
import { Refused } from './errors.ts';
import { parseFactoryCa } from './factory.ts';
import type { FactoryCaRecord, Store } from './store.ts';

/**
 * What the CA's key signs to prove its holder registers it, for this tenant. Bound to the tenant
 * and the certificate: a proof made for one tenant is worth nothing to another.
 */
export const registrationMessage = (tenantId: string, caSha256: string) => `cdm-factory-ca-registration:${tenantId}:${caSha256}`;

/** How a manufacturer makes the proof with the CA key (shown when it is missing or wrong). */
export const proofHowTo = (tenantId: string, caSha256: string) =>
  `sign "${registrationMessage(tenantId, caSha256)}" with the CA's private key and send the signature in base64: printf '%s' '${registrationMessage(tenantId, caSha256)}' | openssl dgst -sha256 -sign ca.key | base64 -w0`;

/**
 * Registers a factory CA for a tenant: a valid CA certificate, a signature by its key over the
 * registration message (a CA certificate is public — every device of that vendor sends it in its
 * TLS chain — so holding the certificate proves nothing), and no overlap with another tenant's
 * registration: the same subject or key, or one issued by the other. Otherwise a tenant admin could
 * register another vendor's intermediate, or a CA of their own named like it, and capture that
 * vendor's devices meant for another tenant.
 */
export async function registerFactoryCa(store: Store, tenantId: string, pem: string, proofBase64: string | undefined): Promise<FactoryCaRecord> {
  const ca = parseFactoryCa(pem);
  const cert = new crypto.X509Certificate(ca.pem);
  if (!proofBase64) throw new Refused('invalid', `proof of possession of the CA key required: ${proofHowTo(tenantId, ca.sha256)}`);
  const signature = Buffer.from(proofBase64.trim(), 'base64');
  const message = Buffer.from(registrationMessage(tenantId, ca.sha256));
  const algorithm = cert.publicKey.asymmetricKeyType === 'ed25519' || cert.publicKey.asymmetricKeyType === 'ed448' ? null : 'sha256';
  let ok: boolean;
  try {
    ok = crypto.verify(algorithm, message, cert.publicKey, signature);
  } catch {
    ok = false;
  }
  if (!ok) throw new Refused('invalid', `the proof is not a signature of the registration message by this CA's key: ${proofHowTo(tenantId, ca.sha256)}`);
  const overlap = overlapping(
    cert,
    (await store.listFactoryCas()).filter((x) => x.tenantId !== tenantId),
  );
  if (overlap) throw new Refused('conflict', `overlaps factory CA ${overlap.ca.id} of another tenant (${overlap.why}): a CA can vouch for one tenant's devices only`);
  return store.addFactoryCa({ id: `fca_${crypto.randomBytes(6).toString('hex')}`, tenantId, ...ca });
}

const spki = (c: crypto.X509Certificate) =>
  crypto
    .createHash('sha256')
    .update(c.publicKey.export({ type: 'spki', format: 'der' }))
    .digest('hex');
const issued = (child: crypto.X509Certificate, parent: crypto.X509Certificate) => child.checkIssued(parent) && child.verify(parent.publicKey);

function overlapping(cert: crypto.X509Certificate, others: FactoryCaRecord[]): { ca: FactoryCaRecord; why: string } | undefined {
  for (const ca of others) {
    const o = new crypto.X509Certificate(ca.pem);
    if (o.subject === cert.subject) return { ca, why: 'same subject' };
    if (spki(o) === spki(cert)) return { ca, why: 'same key' };
    if (issued(cert, o)) return { ca, why: 'issued by it' };
    if (issued(o, cert)) return { ca, why: 'its issuer' };
  }
  return undefined;
}
