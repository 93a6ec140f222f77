import { createPublicKey } from 'node:crypto';
import { SignJWT, exportJWK, exportSPKI, generateKeyPair, type JWK } from 'jose';
import { http, HttpResponse } from 'msw';
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { useMsw } from '../clients/testing.ts';
import { KeycloakTokenVerifier } from './keycloak-jwt.ts';

const issuer = 'http://kc.test/realms/cdm';
const server = useMsw();
type Key = Awaited<ReturnType<typeof generateKeyPair>>['privateKey'];
let key: Key;
let otherKey: Key;
let jwk: JWK;
let spki = '';
let published: JWK[] = [];

beforeAll(async () => {
  const pair = await generateKeyPair('RS256', { extractable: true });
  key = pair.privateKey as Key;
  otherKey = (await generateKeyPair('RS256')).privateKey as Key;
  jwk = { ...(await exportJWK(pair.publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
  spki = await exportSPKI(pair.publicKey);
  published = [jwk];
});
// msw drops handlers after each test; the realm keeps publishing its keys.
beforeEach(() => server.use(http.get(`${issuer}/protocol/openid-connect/certs`, () => HttpResponse.json({ keys: published }))));

const token = (claims: Record<string, unknown> = {}, o: { key?: Key; exp?: string | number; kid?: string } = {}) =>
  new SignJWT({ preferred_username: 'adam', ...claims })
    .setProtectedHeader({ alg: 'RS256', kid: o.kid ?? 'k1' })
    .setIssuer((claims.iss as string) ?? issuer)
    .setAudience((claims.aud as string) ?? 'cdm-api')
    .setSubject('u-1')
    .setIssuedAt()
    .setExpirationTime(o.exp ?? '5m')
    .sign(o.key ?? key);

const b64 = (x: object) => Buffer.from(JSON.stringify(x)).toString('base64url');
const claims = () => ({ iss: issuer, aud: 'cdm-api', sub: 'u-1', preferred_username: 'adam', exp: Math.floor(Date.now() / 1000) + 300 });

describe('KeycloakTokenVerifier', () => {
  const v = new KeycloakTokenVerifier({ issuer, audience: 'cdm-api' });

  it('accepts a valid token and reads identity and expiry only', async () => {
    const u = await v.verify(await token({ realm_access: { roles: ['cdm-admin'] }, groups: ['/tenants/acme'] }));
    expect(u).toEqual({ sub: 'u-1', username: 'adam', exp: expect.any(Number) });
  });

  it('refuses wrong issuer, audience, expiry, signature, and no token — each with a reason', async () => {
    await expect(v.verify(await token({ iss: 'http://evil/realms/cdm' }))).rejects.toThrow('issued by another realm (iss)');
    await expect(v.verify(await token({ aud: 'cdm-terminal' }))).rejects.toThrow(/not issued for this service \(aud/);
    await expect(v.verify(await token({}, { exp: Math.floor(Date.now() / 1000) - 120 }))).rejects.toThrow('expired');
    await expect(v.verify(await token({}, { key: otherKey }))).rejects.toThrow('bad signature');
    await expect(v.verify(undefined)).rejects.toMatchObject({ status: 401 });
    await expect(v.verify('not.a.jwt')).rejects.toMatchObject({ status: 401 });
  });

  it('attack: an unsigned token (alg none) is refused', async () => {
    const forged = `${b64({ alg: 'none', typ: 'JWT', kid: 'k1' })}.${b64(claims())}.`;
    await expect(v.verify(forged)).rejects.toMatchObject({ status: 401 });
  });

  it('attack: HS256 signed with the realm public key as the HMAC secret (algorithm confusion) is refused', async () => {
    const secret = new TextEncoder().encode(spki);
    const forged = await new SignJWT(claims()).setProtectedHeader({ alg: 'HS256', kid: 'k1' }).sign(secret);
    await expect(v.verify(forged)).rejects.toMatchObject({ status: 401 });
    const der = createPublicKey(spki).export({ type: 'spki', format: 'der' });
    const forged2 = await new SignJWT(claims()).setProtectedHeader({ alg: 'HS256', kid: 'k1' }).sign(new Uint8Array(der));
    await expect(v.verify(forged2)).rejects.toMatchObject({ status: 401 });
  });

  it('attack: a token naming an unknown key id is refused, even signed by a key of the attacker', async () => {
    await expect(v.verify(await token({}, { key: otherKey, kid: 'attacker' }))).rejects.toThrow(/unknown key/);
  });

  it('follows a JWKS rotation: a token signed with the new key is accepted once the realm publishes it, the retired key is refused', async () => {
    const rot = new KeycloakTokenVerifier({ issuer, audience: 'cdm-api', jwksCooldownMs: 0 });
    await expect(rot.verify(await token())).resolves.toMatchObject({ sub: 'u-1' });
    const next = await generateKeyPair('RS256', { extractable: true });
    published = [{ ...(await exportJWK(next.publicKey)), kid: 'k2', alg: 'RS256', use: 'sig' }];
    try {
      await expect(rot.verify(await token({}, { key: next.privateKey as Key, kid: 'k2' }))).resolves.toMatchObject({ sub: 'u-1' });
      await expect(rot.verify(await token())).rejects.toThrow(/unknown key/);
    } finally {
      published = [jwk];
    }
  });
});
