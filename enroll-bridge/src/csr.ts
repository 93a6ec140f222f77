// @peculiar/x509 resolves its ASN.1 parsers through tsyringe, which needs the Reflect metadata API.
import 'reflect-metadata';
import crypto, { webcrypto } from 'node:crypto';
import { CertificationRequest } from '@peculiar/asn1-csr';
import { AsnConvert } from '@peculiar/asn1-schema';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

/** The WebCrypto key algorithm fields we read (no DOM lib in this project). */
interface KeyAlgorithm {
  name: string;
  namedCurve?: string;
  modulusLength?: number;
}

/** A device id becomes a CN, a ThingsBoard name, a hawkBit controllerId and a file name: keep it strict. */
export const DEVICE_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{2,63}$/;
export const MAX_CSR_BYTES = 8192;

export class BadCsr extends Error {}

export interface CsrFacts {
  /** SHA-256 (hex) of the SubjectPublicKeyInfo: the device key's identity. */
  keySha256: string;
  keyType: string;
  /**
   * SHA-256 (hex) of what the device signed (certificationRequestInfo, without the signature, so
   * re-encoding the signature — ECDSA's (r, n−s) — yields the same value). A request is accepted
   * once: a second use proves nothing about who holds the key, so a retry must sign anew (enroll.sh
   * puts a fresh challengePassword nonce in every request).
   */
  requestSha256: string;
}

const OID = { SAN: '2.5.29.17', KEY_USAGE: '2.5.29.15', EXT_KEY_USAGE: '2.5.29.37' };
const ALLOWED_EXTENSIONS = new Set([OID.SAN, OID.KEY_USAGE, OID.EXT_KEY_USAGE]);

/**
 * Checks a device CSR before anything is signed: PEM PKCS#10, self-signature valid, subject is
 * exactly CN=<device id>, key EC P-256/P-384 or RSA 2048–4096, and no extension beyond key usage
 * and a SAN naming only the device id (a CSR must not smuggle other names into a certificate).
 */
export async function checkCsr(pem: string, deviceId: string): Promise<CsrFacts> {
  if (!DEVICE_ID.test(deviceId)) throw new BadCsr(`device id must match ${DEVICE_ID.source}`);
  if (Buffer.byteLength(pem) > MAX_CSR_BYTES) throw new BadCsr(`CSR larger than ${MAX_CSR_BYTES} bytes`);
  let csr: x509.Pkcs10CertificateRequest;
  try {
    csr = new x509.Pkcs10CertificateRequest(pem);
  } catch {
    throw new BadCsr('not a PEM-encoded PKCS#10 certificate request');
  }
  // Key type first: WebCrypto cannot verify an unsupported curve, and "not allowed" is the real reason.
  const keyType = describeKey(csr.publicKey.algorithm as KeyAlgorithm);
  if (!(await csr.verify().catch(() => false))) throw new BadCsr('CSR signature does not verify');
  const subject = csr.subjectName.toJSON();
  const cns = subject.flatMap((rdn) => rdn.CN ?? []);
  const others = subject.flatMap((rdn) => Object.keys(rdn).filter((k) => k !== 'CN'));
  if (cns.length !== 1 || cns[0] !== deviceId) throw new BadCsr(`CSR subject CN must be the device id "${deviceId}"`);
  if (others.length) throw new BadCsr(`CSR subject must hold only CN (found ${others.join(', ')})`);
  for (const ext of csr.extensions) {
    if (!ALLOWED_EXTENSIONS.has(ext.type)) throw new BadCsr(`CSR extension ${ext.type} is not allowed`);
    if (ext.type === OID.SAN) {
      const names = new x509.SubjectAlternativeNameExtension(ext.rawData).names.items;
      if (names.some((n) => n.type !== 'dns' || n.value !== deviceId)) throw new BadCsr(`CSR may name only "${deviceId}" (DNS) as subject alternative name`);
    }
  }
  const info = AsnConvert.serialize(AsnConvert.parse(csr.rawData, CertificationRequest).certificationRequestInfo);
  return {
    keySha256: crypto.createHash('sha256').update(Buffer.from(csr.publicKey.rawData)).digest('hex'),
    keyType,
    requestSha256: crypto.createHash('sha256').update(Buffer.from(info)).digest('hex'),
  };
}

function describeKey(alg: KeyAlgorithm): string {
  if (alg.name === 'ECDSA' && (alg.namedCurve === 'P-256' || alg.namedCurve === 'P-384')) return `EC ${alg.namedCurve}`;
  if (alg.name === 'RSASSA-PKCS1-v1_5' || alg.name === 'RSA-PSS') {
    const bits = alg.modulusLength ?? 0;
    if (bits >= 2048 && bits <= 4096) return `RSA ${bits}`;
    throw new BadCsr(`RSA key of ${bits} bits; 2048–4096 allowed`);
  }
  throw new BadCsr(`key type ${alg.name}${alg.namedCurve ? ` ${alg.namedCurve}` : ''} not allowed; use EC P-256/P-384 or RSA 2048–4096`);
}
