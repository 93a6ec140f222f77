import { SignJWT, exportJWK, generateKeyPair } from 'jose';
import { http, HttpResponse } from 'msw';
import { beforeAll, describe, expect, it } from 'vitest';
import { useMsw } from '../clients/testing.ts';
import { KeycloakTokenVerifier, requireRoleInTenant, tenantsOf } from './keycloak-jwt.ts';

const issuer = 'http://kc.test/realms/cdm';
const server = useMsw();
type Key = Awaited<ReturnType<typeof generateKeyPair>>['privateKey'];
let key: Key;
let otherKey: Key;

beforeAll(async () => {
  const pair = await generateKeyPair('RS256');
  key = pair.privateKey as Key;
  otherKey = (await generateKeyPair('RS256')).privateKey as Key;
  const jwk = { ...(await exportJWK(pair.publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
  server.use(http.get(`${issuer}/protocol/openid-connect/certs`, () => HttpResponse.json({ keys: [jwk] })));
});

const token = (claims: Record<string, unknown> = {}, o: { key?: Key; exp?: string | number } = {}) =>
  new SignJWT({ preferred_username: 'adam', realm_access: { roles: ['cdm-admin'] }, groups: ['/tenants/acme', '/tenants/acme/site-1', '/other/x'], ...claims })
    .setProtectedHeader({ alg: 'RS256', kid: 'k1' })
    .setIssuer((claims.iss as string) ?? issuer)
    .setAudience((claims.aud as string) ?? 'cdm-api')
    .setSubject('u-1')
    .setIssuedAt()
    .setExpirationTime(o.exp ?? '5m')
    .sign(o.key ?? key);

describe('KeycloakTokenVerifier', () => {
  const v = new KeycloakTokenVerifier({ issuer, audience: 'cdm-api' });

  it('accepts a valid token and reads roles and tenants', async () => {
    const u = await v.verify(await token());
    expect(u).toMatchObject({ sub: 'u-1', username: 'adam' });
    expect(tenantsOf(u)).toEqual(['acme']);
    expect(() => requireRoleInTenant(u, 'cdm-admin', 'acme')).not.toThrow();
    expect(() => requireRoleInTenant(u, 'cdm-admin', 'globex')).toThrow('not a member of tenant globex');
    expect(() => requireRoleInTenant(u, 'cdm-oncall', 'acme')).toThrow('cdm-oncall role required');
  });

  it('refuses wrong issuer, audience, expiry, signature, and no token — each with a reason', async () => {
    await expect(v.verify(await token({ iss: 'http://evil/realms/cdm' }))).rejects.toThrow('issued by another realm (iss)');
    await expect(v.verify(await token({ aud: 'cdm-terminal' }))).rejects.toThrow(/not issued for this service \(aud/);
    await expect(v.verify(await token({}, { exp: Math.floor(Date.now() / 1000) - 120 }))).rejects.toThrow('expired');
    await expect(v.verify(await token({}, { key: otherKey }))).rejects.toThrow('bad signature');
    await expect(v.verify(undefined)).rejects.toMatchObject({ status: 401 });
    await expect(v.verify('not.a.jwt')).rejects.toMatchObject({ status: 401 });
  });
});
