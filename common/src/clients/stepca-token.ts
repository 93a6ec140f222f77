import crypto from 'node:crypto';
import fs from 'node:fs';
import { SignJWT, compactDecrypt, importJWK, type JWK } from 'jose';

/** The JWK provisioner's signing key, decrypted once at start-up and kept in memory only. */
export interface ProvisionerKey {
  name: string;
  kid: string;
  alg: string;
  key: Awaited<ReturnType<typeof importJWK>>;
}

interface CaJsonProvisioner {
  type: string;
  name: string;
  key?: { kid?: string; alg?: string };
  encryptedKey?: string;
}

/**
 * Reads the encrypted provisioner key from either a ca.json (finds the named JWK provisioner) or
 * a file holding just the compact JWE.
 */
export function readEncryptedKey(file: string, provisioner: string): string {
  const text = fs.readFileSync(file, 'utf8').trim();
  if (!text.startsWith('{')) return text;
  const cfg = JSON.parse(text) as { authority?: { provisioners?: CaJsonProvisioner[] } };
  const p = cfg.authority?.provisioners?.find((x) => x.type === 'JWK' && x.name === provisioner);
  if (!p?.encryptedKey) throw new Error(`step-ca: no JWK provisioner "${provisioner}" with an encryptedKey in ${file}`);
  return p.encryptedKey;
}

/**
 * Decrypts the provisioner key (a PBES2 JWE made by `step ca init`). step uses many PBES2
 * iterations, above jose's default cap, so the cap is raised explicitly for this one call.
 */
export async function decryptProvisionerKey(name: string, jwe: string, password: string): Promise<ProvisionerKey> {
  let plaintext: Uint8Array;
  try {
    ({ plaintext } = await compactDecrypt(jwe, new TextEncoder().encode(password), {
      keyManagementAlgorithms: ['PBES2-HS256+A128KW', 'PBES2-HS384+A192KW', 'PBES2-HS512+A256KW'],
      maxPBES2Count: 1_000_000,
    }));
  } catch (err) {
    throw new Error(`step-ca: cannot decrypt the key of provisioner "${name}": wrong STEPCA_PROVISIONER_PASSWORD?`, { cause: err });
  }
  const jwk = JSON.parse(new TextDecoder().decode(plaintext)) as JWK;
  const alg = jwk.alg ?? 'ES256';
  if (!jwk.kid) throw new Error(`step-ca: provisioner "${name}" key has no kid`);
  return { name, kid: jwk.kid, alg, key: await importJWK(jwk, alg) };
}

export interface TokenOptions {
  /** Full URL of the endpoint the token is for, e.g. https://ca:9000/1.0/sign. */
  audience: string;
  subject: string;
  sans?: string[];
  rootFingerprint: string;
  lifetimeSec?: number;
}

/** A one-time token as `step ca token` makes it; step-ca rejects reuse by jti. */
export function oneTimeToken(pk: ProvisionerKey, opts: TokenOptions): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const claims: Record<string, unknown> = { sha: opts.rootFingerprint };
  if (opts.sans) claims.sans = opts.sans;
  return new SignJWT(claims)
    .setProtectedHeader({ alg: pk.alg, kid: pk.kid, typ: 'JWT' })
    .setIssuer(pk.name)
    .setAudience(opts.audience)
    .setSubject(opts.subject)
    .setIssuedAt(now)
    .setNotBefore(now)
    .setExpirationTime(now + (opts.lifetimeSec ?? 300))
    .setJti(crypto.randomBytes(32).toString('hex'))
    .sign(pk.key);
}
