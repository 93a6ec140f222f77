import { execFileSync } from 'node:child_process';
import { CompactEncrypt, decodeJwt, decodeProtectedHeader, exportJWK, generateKeyPair, jwtVerify } from 'jose';
import { http, HttpResponse } from 'msw';
import { beforeAll, describe, expect, it } from 'vitest';
import { UpstreamError } from '../errors.ts';
import { StepCaClient, decryptProvisionerKey, fetchRoot, fingerprintPem, type ProvisionerKey } from './stepca.ts';
import { record, useMsw, type Recorded } from './testing.ts';

const base = 'https://ca.test:9000';
const server = useMsw();

/** A throwaway root from openssl (Debian's, always present), as a stand-in for step-ca's. */
function selfSignedRoot(): string {
  return execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-subj', '/CN=test root', '-days', '1', '-keyout', '/dev/null'], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'ignore'],
  });
}

/** Encrypts a provisioner JWK the way `step ca init` does (PBES2 + high iteration count). */
async function encryptedProvisioner(password: string) {
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
  const jwk = { ...(await exportJWK(privateKey)), kid: 'kid-123', alg: 'ES256', use: 'sig' };
  const jwe = await new CompactEncrypt(new TextEncoder().encode(JSON.stringify(jwk)))
    .setProtectedHeader({ alg: 'PBES2-HS256+A128KW', enc: 'A256GCM', p2c: 100_000, cty: 'jwk+json' })
    .encrypt(new TextEncoder().encode(password));
  return { jwe, publicKey };
}

let root: string;
let fp: string;
let prov: ProvisionerKey;
let publicKey: Awaited<ReturnType<typeof generateKeyPair>>['publicKey'];

beforeAll(async () => {
  root = selfSignedRoot();
  fp = fingerprintPem(root);
  const enc = await encryptedProvisioner('s3cret');
  publicKey = enc.publicKey;
  prov = await decryptProvisionerKey('cdm-bridge', enc.jwe, 's3cret');
});

describe('provisioner key and one-time tokens', () => {
  it('refuses a wrong password with a message naming the variable, not the password', async () => {
    const { jwe } = await encryptedProvisioner('right');
    const err = await decryptProvisionerKey('cdm-bridge', jwe, 'pw-Zq81x').catch((e: Error) => e);
    expect((err as Error).message).toContain('STEPCA_PROVISIONER_PASSWORD');
    expect((err as Error).message).not.toContain('pw-Zq81x');
  });

  it('signs sign tokens like `step ca token`: iss, aud, sub, sans, sha, kid, one jti each', async () => {
    let seen: Recorded | undefined;
    server.use(
      http.post(`${base}/1.0/sign`, async ({ request }) => {
        seen = await record(request);
        return HttpResponse.json({ crt: 'LEAF', ca: 'INT', certChain: ['LEAF', 'INT'] }, { status: 201 });
      }),
    );
    const ca = StepCaClient.withRoot({ baseURL: base, rootFingerprint: fp, provisioner: prov }, root);
    const res = await ca.sign('-----BEGIN CERTIFICATE REQUEST-----', 'dev-0001');
    expect(res.certChain).toEqual(['LEAF', 'INT']);
    const body = seen?.body as { csr: string; ott: string };
    expect(body.csr).toContain('CERTIFICATE REQUEST');
    const { payload } = await jwtVerify(body.ott, publicKey, { issuer: 'cdm-bridge', audience: `${base}/1.0/sign` });
    expect(payload).toMatchObject({ sub: 'dev-0001', sans: ['dev-0001'], sha: fp });
    expect(payload.exp! - payload.iat!).toBe(300);
    expect(decodeProtectedHeader(body.ott)).toMatchObject({ kid: 'kid-123', alg: 'ES256', typ: 'JWT' });
  });

  it('revokes passively with a revoke-audience token whose subject is the serial', async () => {
    let seen: Recorded | undefined;
    server.use(
      http.post(`${base}/1.0/revoke`, async ({ request }) => {
        seen = await record(request);
        return HttpResponse.json({ status: 'ok' });
      }),
    );
    const ca = StepCaClient.withRoot({ baseURL: base, rootFingerprint: fp, provisioner: prov }, root);
    await ca.revoke('123456789');
    const body = seen?.body as { serial: string; ott: string; passive: boolean };
    expect(body).toMatchObject({ serial: '123456789', passive: true, reasonCode: 5 });
    expect(decodeJwt(body.ott)).toMatchObject({ aud: `${base}/1.0/revoke`, sub: '123456789' });
  });
});

describe('StepCaClient errors', () => {
  const ca = () => StepCaClient.withRoot({ baseURL: base, rootFingerprint: fp, provisioner: prov, retries: 1 }, root);

  it('maps a rejected token (401) to an UpstreamError naming step-ca and the call', async () => {
    server.use(http.post(`${base}/1.0/sign`, () => HttpResponse.json({ status: 401, message: 'The request lacked necessary authorization to be completed.' }, { status: 401 })));
    const err = await ca()
      .sign('csr', 'dev')
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UpstreamError);
    expect((err as Error).message).toMatch(/^step-ca: POST \/1\.0\/sign failed \(HTTP 401\): The request lacked/);
  });

  it('reports 5xx on health after retrying', async () => {
    let n = 0;
    server.use(
      http.get(`${base}/health`, () => {
        n++;
        return new HttpResponse(null, { status: 502 });
      }),
    );
    await expect(ca().health()).rejects.toThrow(/step-ca: GET \/health failed \(HTTP 502\)/);
    expect(n).toBe(2);
  });
});

describe('fetchRoot', () => {
  it('accepts the root only when its fingerprint matches the pinned one', async () => {
    server.use(http.get(`${base}/root/${fp}`, () => HttpResponse.json({ ca: root })));
    expect(await fetchRoot(base, fp)).toBe(root);
  });

  it('rejects a root that does not match (a CA impostor)', async () => {
    const other = selfSignedRoot();
    server.use(http.get(`${base}/root/${fp}`, () => HttpResponse.json({ ca: other })));
    await expect(fetchRoot(base, fp)).rejects.toThrow(/root fingerprint mismatch/);
  });

  it('reports an unknown fingerprint (404) clearly', async () => {
    server.use(http.get(`${base}/root/${'0'.repeat(64)}`, () => HttpResponse.json({ status: 404, message: 'not found' }, { status: 404 })));
    await expect(fetchRoot(base, '0'.repeat(64))).rejects.toThrow(/step-ca: GET \/root\/\{sha\} failed \(HTTP 404\)/);
  });
});
