import 'reflect-metadata';
import { execFileSync } from 'node:child_process';
import crypto, { webcrypto } from 'node:crypto';
import fs from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import * as x509 from '@peculiar/x509';
import { KeycloakClient, KeycloakTokenVerifier, ThingsBoardClient, createLogger, loadConfig } from '@cdm/common';
import { bridgeEnv, createPerson, createTenantGroup, defaultContext, thingsboardTenant } from '@cdm/stack';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createApi, createApiServer } from './api.ts';
import { composeEnrollBridge } from './compose.ts';
import { enrollBridgeConfig } from './config.ts';
import { createClaim } from './claims.ts';
import { makeFactoryPki } from './factory.test-helpers.ts';

/**
 * The second claim method (factory certificates, over mTLS) and the admin API, against the real
 * Keycloak (people, tokens), step-ca and WireGuard of the local stack and the ThingsBoard and hawkBit
 * fakes. Tenants are made as tenant-sync makes them: a Keycloak group and a ThingsBoard tenant whose
 * title is the group name and whose cdmId is the group id.
 */
const stack = inject('stack');
const ctx = defaultContext();
const run = crypto.randomBytes(3).toString('hex');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cdm-admin-'));
const tokenDir = path.join(tmp, 'tokens');
fs.mkdirSync(tokenDir);
const env = { ...bridgeEnv(stack, ctx.stateDir)['enroll-bridge'], DATA_DIR: path.join(tmp, 'data'), TENANT_TOKEN_DIR: tokenDir, LOG_LEVEL: 'warn' };
const config = loadConfig(enrollBridgeConfig, env);
const logger = createLogger('admin-e2e', { level: 'silent' });
const bridge = await composeEnrollBridge(config, logger);
const kcUrl = stack.keycloak!.url;
const kcAdmin = new KeycloakClient({ baseURL: kcUrl, realm: 'cdm', authRealm: 'master', clientId: 'admin-cli', username: 'admin', password: 'admin' });
const tb = new ThingsBoardClient({ baseURL: config.THINGSBOARD_URL, username: config.THINGSBOARD_USERNAME, password: config.THINGSBOARD_PASSWORD });
const pki = makeFactoryPki(`Factory ${run}`);
const stranger = makeFactoryPki(`Stranger ${run}`);
const names = { a: `e2e-adm-${run}-a`, b: `e2e-adm-${run}-b` };
const groups: Record<string, string> = {};
const people: string[] = [];
const password = `pw-${run}-${crypto.randomBytes(4).toString('hex')}`;
let base = '';
let server: ReturnType<typeof createApiServer>;
let serverCert = '';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);
const alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
async function csr(cn: string): Promise<string> {
  const keys = (await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify'])) as unknown as { privateKey: never; publicKey: never };
  return (await x509.Pkcs10CertificateRequestGenerator.create({ name: `CN=${cn}`, keys, signingAlgorithm: alg })).toString('pem');
}
const wgPub = () =>
  execFileSync('wg', ['pubkey'], { input: execFileSync('wg', ['genkey']) })
    .toString()
    .trim();
const peers = () => execFileSync('ip', ['netns', 'exec', config.WG_NETNS!, 'wg', 'show', config.WG_INTERFACE, 'allowed-ips']).toString();

/** One HTTPS request as a device or an admin tool makes it; a client certificate when given. */
function call(method: string, p: string, o: { body?: unknown; token?: string; cert?: string; key?: string } = {}): Promise<{ status: number; body: any }> {
  const data = o.body === undefined ? undefined : JSON.stringify(o.body);
  return new Promise((resolve, reject) => {
    const req = https.request(
      `${base}${p}`,
      {
        method,
        ca: serverCert,
        ...(o.cert ? { cert: fs.readFileSync(o.cert), key: fs.readFileSync(o.key!) } : {}),
        headers: { ...(data ? { 'content-type': 'application/json' } : {}), ...(o.token ? { authorization: `Bearer ${o.token}` } : {}) },
      },
      (res) => {
        let text = '';
        res.on('data', (c) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode!, body: text ? JSON.parse(text) : undefined }));
      },
    );
    req.on('error', reject);
    req.end(data);
  });
}
async function tokenFor(username: string, clientId = 'cdm-console'): Promise<string> {
  const res = await fetch(`${kcUrl}/realms/cdm/protocol/openid-connect/token`, {
    method: 'POST',
    body: new URLSearchParams({ grant_type: 'password', client_id: clientId, username, password }),
  });
  const body = (await res.json()) as { access_token?: string; error_description?: string };
  if (!body.access_token) throw new Error(`Keycloak refused ${username}: ${body.error_description}`);
  return body.access_token;
}
const person = async (username: string, ...groups: string[]) => void people.push(await createPerson(kcAdmin, { username, password, groups }));
const tokens: Record<string, string> = {};

beforeAll(async () => {
  const roles: Record<string, Awaited<ReturnType<typeof createTenantGroup>>['roles']> = {};
  for (const k of ['a', 'b'] as const) {
    const g = await createTenantGroup(kcAdmin, names[k]);
    groups[k] = g.id;
    roles[k] = g.roles;
    await thingsboardTenant(tb, groups[k]!, names[k]);
    fs.writeFileSync(path.join(tokenDir, `${groups[k]}.json`), JSON.stringify({ cdmId: groups[k], org: 'cdm', bucket: `cdm-${groups[k]}`, token: `t-${k}` }));
  }
  await person(`adm-${run}`, roles.a!.admin);
  await person(`op-${run}`, roles.a!.operator);
  await person(`admb-${run}`, roles.b!.admin);
  await person(`mixed-${run}`, roles.b!.admin, groups.a!); // admin of B, a plain member of A
  for (const u of ['adm', 'op', 'admb', 'mixed']) tokens[u] = await tokenFor(`${u}-${run}`);

  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-keyout',
      'api.key',
      '-out',
      'api.pem',
      '-days',
      '2',
      '-subj',
      '/CN=127.0.0.1',
      '-addext',
      'subjectAltName=IP:127.0.0.1',
    ],
    { cwd: tmp, stdio: 'ignore' },
  );
  serverCert = fs.readFileSync(path.join(tmp, 'api.pem'), 'utf8');
  const verifier = new KeycloakTokenVerifier({ issuer: config.ADMIN_OIDC_ISSUER!, audience: config.ADMIN_OIDC_AUDIENCE });
  const app = createApi({ enroller: bridge.enroller, logger, rootPem: bridge.clients.stepca.rootPem, perAddressPerMinute: 10_000, perClaimPerMinute: 10_000, admin: bridge.admin(verifier) });
  server = createApiServer(app, { cert: serverCert, key: fs.readFileSync(path.join(tmp, 'api.key')), rootPem: bridge.clients.stepca.rootPem });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server?.close();
  for (const d of await bridge.store.listDevices()) if (d.status !== 'decommissioned') await bridge.enroller.decommission(d.deviceId).catch(() => undefined);
  await bridge.store.close();
  for (const id of people) await kcAdmin.deleteUser(id).catch(() => undefined);
  for (const id of Object.values(groups)) await kcAdmin.deleteGroup(id).catch(() => undefined);
});

describe('admin API and factory certificates on the local stack', () => {
  const dev = (n: number) => `fac-${run}-${n}`;
  let caId = '';

  it('refuses callers without a valid admin token: none, wrong audience, operator role, another tenant’s admin', async () => {
    expect((await call('GET', `/v1/admin/devices?tenant=${names.a}`)).status).toBe(401);
    const terminal = await tokenFor(`adm-${run}`, 'cdm-terminal');
    const wrongAud = await call('GET', `/v1/admin/devices?tenant=${names.a}`, { token: terminal });
    expect(wrongAud).toMatchObject({ status: 401, body: { error: expect.stringMatching(/audience/) } });
    expect(JSON.stringify(wrongAud.body)).not.toContain(terminal.slice(-20));
    expect(await call('POST', '/v1/admin/claims', { token: tokens.op, body: { tenant: names.a } })).toMatchObject({ status: 403, body: { error: expect.stringMatching(/admin role in tenant/) } });
    // attack: admin of one tenant and a plain member of another (realm-wide roles made them admin of both)
    expect(await call('POST', '/v1/admin/claims', { token: tokens.mixed, body: { tenant: names.a } })).toMatchObject({ status: 403, body: { error: expect.stringMatching(/admin role in tenant/) } });
    expect((await call('GET', `/v1/admin/devices?tenant=${names.b}`, { token: tokens.mixed })).status).toBe(200);
    expect(await call('POST', '/v1/admin/claims', { token: tokens.admb, body: { tenant: names.a } })).toMatchObject({ status: 403, body: { error: expect.stringMatching(/not a member/) } });
    expect((await call('GET', `/v1/admin/devices?tenant=no-such-${run}`, { token: tokens.adm })).status).toBe(404);
    expect((await call('POST', '/v1/admin/claims', { token: tokens.adm, body: { tenant: names.a, uses: 0 } })).status).toBe(400);
  });

  it('registers a factory CA for the tenant; a device with a certificate from it enrolls over mTLS with no claim token', async () => {
    // attack: the CA certificate is public (every device sends it); without a signature by its key, nothing
    expect(await call('POST', '/v1/admin/factory-cas', { token: tokens.adm, body: { tenant: names.a, pem: pki.rootPem } })).toMatchObject({
      status: 400,
      body: { error: expect.stringMatching(/proof of possession/) },
    });
    const r = await call('POST', '/v1/admin/factory-cas', { token: tokens.adm, body: { tenant: names.a, pem: pki.rootPem, proof: pki.prove(groups.a!) } });
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    caId = r.body.id;
    expect((await call('POST', '/v1/admin/factory-cas', { token: tokens.adm, body: { tenant: names.a, pem: pki.rootPem, proof: pki.prove(groups.a!) } })).body.error).toMatch(/already registered/);
    // attack: another tenant's admin holding the line CA's key cannot register it: it overlaps tenant a's root
    expect(await call('POST', '/v1/admin/factory-cas', { token: tokens.admb, body: { tenant: names.b, pem: pki.lineCaPem, proof: pki.prove(groups.b!, 'line') } })).toMatchObject({
      status: 409,
      body: { error: expect.stringMatching(/overlaps factory CA/) },
    });
    const f = pki.device(dev(1));
    const e = await call('POST', '/v1/enroll', { ...f, body: { deviceId: dev(1), csr: await csr(dev(1)), wgPublicKey: wgPub() } });
    expect(e.status, JSON.stringify(e.body)).toBe(200);
    expect(e.body).toMatchObject({ deviceId: dev(1), tenantId: groups.a, influxdb: { token: 't-a' } });
    expect(peers()).toContain(e.body.wireguard.address);
    const list = await call('GET', `/v1/admin/devices?tenant=${names.a}`, { token: tokens.adm });
    expect(list.body.devices.map((d: { deviceId: string; status: string }) => `${d.deviceId}:${d.status}`)).toEqual([`${dev(1)}:active`]);
    expect(JSON.stringify(list.body)).not.toContain('BEGIN CERTIFICATE');
  });

  it('refuses factory enrollments: unregistered CA, CN for another device, no certificate and no claim', async () => {
    const s = stranger.device(dev(2));
    expect(await call('POST', '/v1/enroll', { ...s, body: { deviceId: dev(2), csr: await csr(dev(2)), wgPublicKey: wgPub() } })).toMatchObject({
      status: 401,
      body: { error: expect.stringMatching(/registered factory CA/) },
    });
    const f = pki.device(dev(3));
    expect(await call('POST', '/v1/enroll', { ...f, body: { deviceId: dev(4), csr: await csr(dev(4)), wgPublicKey: wgPub() } })).toMatchObject({
      status: 403,
      body: { error: expect.stringMatching(/for device/) },
    });
    expect(await call('POST', '/v1/enroll', { body: { deviceId: dev(4), csr: await csr(dev(4)), wgPublicKey: wgPub() } })).toMatchObject({ status: 401 });
    expect(await bridge.store.getDevice(dev(2))).toBeUndefined();
    expect(await bridge.store.getDevice(dev(4))).toBeUndefined();
  });

  it('creates a claim through the API that a device then uses; another tenant’s admin sees none of it', async () => {
    const c = await call('POST', '/v1/admin/claims', { token: tokens.adm, body: { tenant: names.a, uses: 1, expires: '1h' } });
    expect(c.status, JSON.stringify(c.body)).toBe(201);
    expect(c.body.token).toMatch(/^cdm_claim_/);
    const e = await call('POST', '/v1/enroll', { token: c.body.token, body: { deviceId: dev(5), csr: await csr(dev(5)), wgPublicKey: wgPub() } });
    expect(e.status, JSON.stringify(e.body)).toBe(200);
    expect((await call('GET', '/v1/admin/claims?tenant=' + names.a, { token: tokens.adm })).body.claims.find((x: { id: string }) => x.id === c.body.claim.id)).toMatchObject({ usesLeft: 0 });
    expect((await call('GET', `/v1/admin/devices/${dev(5)}`, { token: tokens.admb })).status).toBe(404);
    expect((await call('POST', `/v1/admin/devices/${dev(5)}/decommission`, { token: tokens.admb })).status).toBe(404);
    expect((await call('POST', `/v1/admin/claims/${c.body.claim.id}/revoke`, { token: tokens.admb })).status).toBe(404);
    expect((await call('GET', `/v1/admin/devices/${dev(5)}`, { token: tokens.adm })).body).toMatchObject({ deviceId: dev(5), status: 'active' });
  });

  it('attack recovery: a serial another tenant squatted with a claim moves to the tenant whose factory certificate proves the hardware', async () => {
    const id = dev(7);
    const squat = (await createClaim(bridge.store, { tenantId: groups.b!, uses: 5, expires: '1h' })).token;
    const s = await call('POST', '/v1/enroll', { token: squat, body: { deviceId: id, csr: await csr(id), wgPublicKey: wgPub() } });
    expect(s.status, JSON.stringify(s.body)).toBe(200);
    const squatted = (await bridge.store.getDevice(id))!;
    const f = pki.device(id);
    const e = await call('POST', '/v1/enroll', { ...f, body: { deviceId: id, csr: await csr(id), wgPublicKey: wgPub() } });
    expect(e.status, JSON.stringify(e.body)).toBe(200);
    expect(e.body).toMatchObject({ deviceId: id, tenantId: groups.a });
    expect(await bridge.store.getDevice(id)).toMatchObject({ tenantId: groups.a, enrolledBy: 'factory', status: 'active' });
    expect(peers()).not.toContain(squatted.wgPublicKey);
    await expect(bridge.clients.stepca.revoke(squatted.certSerial!)).rejects.toThrow(/revoked/i);
    // and the squatter cannot take it back with a claim
    expect(await call('POST', '/v1/enroll', { token: squat, body: { deviceId: id, csr: await csr(id), wgPublicKey: wgPub() } })).toMatchObject({
      status: 403,
      body: { error: expect.stringMatching(/another tenant/) },
    });
  });

  it('decommissions through the API; the device cannot come back with its factory certificate', async () => {
    const before = (await bridge.store.getDevice(dev(1)))!;
    const r = await call('POST', `/v1/admin/devices/${dev(1)}/decommission`, { token: tokens.adm });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body).toMatchObject({ deviceId: dev(1), status: 'decommissioned' });
    expect(peers()).not.toContain(before.wgPublicKey);
    const f = pki.device(dev(1));
    expect(await call('POST', '/v1/enroll', { ...f, body: { deviceId: dev(1), csr: await csr(dev(1)), wgPublicKey: wgPub() } })).toMatchObject({
      status: 403,
      body: { error: expect.stringMatching(/decommissioned/) },
    });
  });

  it('revokes the factory CA: its devices can no longer enroll', async () => {
    expect((await call('POST', `/v1/admin/factory-cas/${caId}/revoke`, { token: tokens.admb })).status).toBe(404);
    expect((await call('POST', `/v1/admin/factory-cas/${caId}/revoke`, { token: tokens.adm })).body).toMatchObject({ id: caId, revoked: true });
    const f = pki.device(dev(6));
    expect(await call('POST', '/v1/enroll', { ...f, body: { deviceId: dev(6), csr: await csr(dev(6)), wgPublicKey: wgPub() } })).toMatchObject({
      status: 403,
      body: { error: expect.stringMatching(/revoked/) },
    });
  });

  it('attack: a renamed group, and a new group given its old name, move no authority (decided by group id)', async () => {
    const old = `e2e-adm-${run}-r`;
    const victim = await createTenantGroup(kcAdmin, old);
    groups.r = victim.id;
    await person(`admr-${run}`, victim.roles.admin);
    const t = await tokenFor(`admr-${run}`);
    await kcAdmin.renameGroup(victim.id, `${old}-renamed`);
    const squatter = await createTenantGroup(kcAdmin, old);
    groups.s = squatter.id;
    await person(`adms-${run}`, squatter.roles.admin);
    const ts = await tokenFor(`adms-${run}`);
    // the name now means the new group: its admin may, the old group's admin may not
    expect((await call('GET', `/v1/admin/claims?tenant=${old}`, { token: ts })).body).toMatchObject({ tenant: { cdmId: squatter.id } });
    expect((await call('GET', `/v1/admin/claims?tenant=${old}`, { token: t })).status).toBe(403);
    // the old group's admin keeps their tenant under its id
    expect((await call('GET', `/v1/admin/claims?tenant=${victim.id}`, { token: t })).body).toMatchObject({ tenant: { cdmId: victim.id, name: `${old}-renamed` } });
    expect((await call('GET', `/v1/admin/claims?tenant=${victim.id}`, { token: ts })).status).toBe(403);
  });
});
