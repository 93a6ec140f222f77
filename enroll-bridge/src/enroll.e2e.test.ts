import 'reflect-metadata';
import { execFileSync } from 'node:child_process';
import crypto, { webcrypto } from 'node:crypto';
import fs from 'node:fs';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import * as x509 from '@peculiar/x509';
import { HawkbitClient, HawkbitDdiClient, OPERATORS_CUSTOMER, ThingsBoardClient, createLogger, loadConfig } from '@cdm/common';
import { bridgeEnv, defaultContext, thingsboardTenant } from '@cdm/stack';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createApi, createApiServer } from './api.ts';
import { createClaim } from './claims.ts';
import { hashClaimToken, newClaimToken } from './claim-token.ts';
import { newClaimId } from './enroll.ts';
import { composeEnrollBridge, enableTargetTokens } from './compose.ts';
import { enrollBridgeConfig } from './config.ts';
import type { Step } from './store.ts';

/**
 * The enrollment API against the real step-ca and WireGuard hub of the local stack and the
 * ThingsBoard and hawkBit contract fakes: what a device sees over HTTP, and what each upstream
 * holds afterwards.
 */
const stack = inject('stack');
const ctx = defaultContext();
const run = crypto.randomBytes(3).toString('hex');
const tenant = `e2e-enroll-${run}`;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cdm-enroll-'));
const tokenDir = path.join(tmp, 'tokens');
fs.mkdirSync(tokenDir);
fs.writeFileSync(path.join(tokenDir, `${tenant}.json`), JSON.stringify({ cdmId: tenant, org: 'cdm', bucket: `cdm-${tenant}`, authId: 'a1', token: 'influx-write-token-e2e' }));
const env = { ...bridgeEnv(stack, ctx.stateDir)['enroll-bridge'], DATA_DIR: path.join(tmp, 'data'), TENANT_TOKEN_DIR: tokenDir, LOG_LEVEL: 'warn' };
const config = loadConfig(enrollBridgeConfig, env);
const logger = createLogger('enroll-e2e', { level: process.env.E2E_LOG ?? 'silent' });
const faults = new Map<string, Step>();
const bridge = await composeEnrollBridge(config, logger, {
  beforeStep: (step, deviceId) => {
    if (faults.get(deviceId) === step) {
      faults.delete(deviceId);
      throw new Error(`injected crash before ${step}`);
    }
  },
});
const tb = new ThingsBoardClient({ baseURL: config.THINGSBOARD_URL, username: config.THINGSBOARD_USERNAME, password: config.THINGSBOARD_PASSWORD });
const hawkbit = new HawkbitClient({ baseURL: config.HAWKBIT_URL, username: config.HAWKBIT_USERNAME, password: config.HAWKBIT_PASSWORD });
let base = '';
let server: ReturnType<typeof createApiServer>;
let bridgeAdmin: ThingsBoardClient;
let operators = '';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);
const alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
type Keys = { privateKey: never; publicKey: never };
const newKeys = async () => (await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify'])) as unknown as Keys;
/** A request as enroll.sh makes one: signed by the device key, with a fresh challengePassword nonce. */
async function csr(cn: string, keys?: Keys, nonce = crypto.randomBytes(16).toString('hex')): Promise<string> {
  const attributes = nonce ? [new x509.ChallengePasswordAttribute(nonce)] : [];
  const req = await x509.Pkcs10CertificateRequestGenerator.create({ name: `CN=${cn}`, keys: keys ?? (await newKeys()), signingAlgorithm: alg, attributes });
  return req.toString('pem');
}
const wgPub = () =>
  execFileSync('wg', ['pubkey'], { input: execFileSync('wg', ['genkey']) })
    .toString()
    .trim();

async function enroll(body: unknown, claim?: string, headers: Record<string, string> = {}) {
  const res = await fetch(`${base}/v1/enroll`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(claim ? { authorization: `Bearer ${claim}` } : {}), ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as Record<string, any> };
}
const claim = async (uses = 10, extra: { expires?: string; deviceId?: string } = {}) =>
  (await createClaim(bridge.store, { tenantId: tenant, uses, expires: extra.expires ?? '1h', deviceId: extra.deviceId })).token;
const peers = () => execFileSync('ip', ['netns', 'exec', config.WG_NETNS!, 'wg', 'show', config.WG_INTERFACE, 'allowed-ips']).toString();

beforeAll(async () => {
  // The tenant as tenant-sync leaves it: a ThingsBoard tenant with the cdm id and a bridge admin.
  ({ as: bridgeAdmin } = await thingsboardTenant(tb, tenant));
  operators = (await bridgeAdmin.saveCustomer({ title: OPERATORS_CUSTOMER })).id!.id;
  server = createApiServer(createApi({ enroller: bridge.enroller, logger, rootPem: bridge.clients.stepca.rootPem, perAddressPerMinute: 10_000, perClaimPerMinute: 10_000 }));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server?.close();
  for (const d of await bridge.store.listDevices({ tenantId: tenant })) if (d.status !== 'decommissioned') await bridge.enroller.decommission(d.deviceId).catch(() => undefined);
  await bridge.store.close();
});

describe('enrollment API on the local stack', () => {
  const device = `dev-${run}-0001`;
  let first: Record<string, any>;
  let firstCsr: string;
  let firstKeys: Keys;
  let firstWg: string;
  let token: string;

  it('enrolls a device: certificate chains to the root, peer on the hub, device in ThingsBoard, target in hawkBit', async () => {
    token = await claim(2);
    firstKeys = await newKeys();
    firstCsr = await csr(device, firstKeys);
    firstWg = wgPub();
    const r = await enroll({ deviceId: device, csr: firstCsr, wgPublicKey: firstWg }, token);
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    first = r.body;
    fs.writeFileSync(path.join(tmp, 'chain.pem'), r.body.certificate.chain);
    const verify = execFileSync('openssl', ['verify', '-CAfile', stack.stepca!.extra!.rootCert!, '-untrusted', path.join(tmp, 'chain.pem'), path.join(tmp, 'chain.pem')]).toString();
    expect(verify).toContain(': OK');
    expect(r.body.wireguard).toMatchObject({ address: expect.stringMatching(/^10\.77\.\d+\.\d+\/32$/), endpoint: config.WG_ENDPOINT, allowedIps: [config.WG_POOL_CIDR] });
    expect(peers()).toContain(`${firstWg}\t${r.body.wireguard.address}`);
    const d = await bridgeAdmin.findDeviceByName(device);
    expect(d?.type).toBe('cdm-x509');
    expect(d?.customerId?.id, "assigned to the tenant's Operators customer: its ThingsBoard users see it").toBe(operators);
    expect((await bridgeAdmin.getDeviceCredentials(d!.id!.id))?.credentialsType).toBe('X509_CERTIFICATE');
    const attrs = await bridgeAdmin.getAttributes({ id: d!.id!.id, entityType: 'DEVICE' }, 'SERVER_SCOPE');
    expect(Object.fromEntries(attrs.map((a) => [a.key, a.value]))).toMatchObject({ serial: device, wg_ip: r.body.wireguard.address.replace('/32', ''), tenant });
    expect((await hawkbit.getTarget(device))?.controllerId).toBe(device);
    expect(r.body.influxdb).toEqual({ org: 'cdm', bucket: `cdm-${tenant}`, token: 'influx-write-token-e2e' });
    // The security token in the answer lets the device poll hawkBit's DDI API as itself.
    await enableTargetTokens(hawkbit);
    const ddi = new HawkbitDdiClient({ baseURL: config.HAWKBIT_URL, controllerId: device, securityToken: r.body.hawkbit.securityToken });
    expect((await ddi.poll()).sleepMs).toBeGreaterThan(0);
    await expect(new HawkbitDdiClient({ baseURL: config.HAWKBIT_URL, controllerId: device, securityToken: 'wrong' }).poll()).rejects.toThrow(/401/);
  });

  it('attack: a replayed enrollment request (the same signed CSR) gets nothing: no tokens, no host key change', async () => {
    const hostKey = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIK8MB3K8tK5oR9PYuHvlWV3SnWSPHpJQXKVKW4fbFLDa attacker';
    const r = await enroll({ deviceId: device, csr: firstCsr, wgPublicKey: firstWg, sshHostKey: hostKey }, await claim(1));
    expect(r).toMatchObject({ status: 409, body: { error: expect.stringContaining('used before') } });
    expect(JSON.stringify(r.body)).not.toContain(first.hawkbit.securityToken);
    expect((await bridge.store.getDevice(device))?.sshHostKey).toBeUndefined();
    // what the device signed decides, not the signature's bytes: two signings of one request (ECDSA differs each time) are one request
    expect((await enroll({ deviceId: device, csr: await csr(device, firstKeys, ''), wgPublicKey: firstWg }, token)).status).toBe(200);
    expect((await enroll({ deviceId: device, csr: await csr(device, firstKeys, ''), wgPublicKey: firstWg }, token)).status).toBe(409);
  });

  it('answers a retry with the same keys, freshly signed, with the same identity, without using up the claim', async () => {
    const r = await enroll({ deviceId: device, csr: await csr(device, firstKeys), wgPublicKey: firstWg }, token);
    expect(r.status).toBe(200);
    expect(r.body.wireguard.address).toBe(first.wireguard.address);
    expect(r.body.certificate.serial).toBe(first.certificate.serial);
    expect((await bridge.store.listClaims(tenant)).find((c) => c.maxUses === 2)?.usesLeft).toBe(1);
  });

  it('refuses a takeover by device id with other keys, and allows it with a claim for exactly that device', async () => {
    const other = { deviceId: device, csr: await csr(device), wgPublicKey: wgPub() };
    expect(await enroll(other, await claim())).toMatchObject({ status: 409, body: { error: expect.stringContaining('needs a claim created for this device') } });
    expect(await enroll(other, await claim(1, { deviceId: `dev-${run}-other` }))).toMatchObject({ status: 403, body: { error: 'enrollment claim is for another device' } });
    const r = await enroll(other, await claim(1, { deviceId: device }));
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body.wireguard.address).toBe(first.wireguard.address);
    expect(r.body.certificate.serial).not.toBe(first.certificate.serial);
    expect(peers()).not.toContain(firstWg);
    expect(peers()).toContain(other.wgPublicKey);
    // the old identity is retired: its certificate revoked, its hawkBit token no longer accepted
    await expect(bridge.clients.stepca.revoke(first.certificate.serial)).rejects.toThrow(/revoked/i);
    expect(r.body.hawkbit.securityToken).not.toBe(first.hawkbit.securityToken);
    await expect(new HawkbitDdiClient({ baseURL: config.HAWKBIT_URL, controllerId: device, securityToken: first.hawkbit.securityToken }).poll()).rejects.toThrow(/401/);
  });

  it('refuses bad input with a 4xx and the reason, and creates nothing', async () => {
    const ok = { deviceId: `dev-${run}-bad`, csr: await csr(`dev-${run}-bad`), wgPublicKey: wgPub() };
    const c = await claim();
    const cases: [string, Promise<{ status: number; body: Record<string, unknown> }>, number, string][] = [
      [
        'wrong content type',
        fetch(`${base}/v1/enroll`, { method: 'POST', headers: { 'content-type': 'text/plain', authorization: `Bearer ${c}` }, body: 'x' }).then(async (r) => ({
          status: r.status,
          body: (await r.json()) as Record<string, unknown>,
        })),
        415,
        'application/json',
      ],
      ['malformed JSON', enroll('{"deviceId":', c), 400, 'not valid JSON'],
      ['oversized body', enroll({ ...ok, csr: 'x'.repeat(20_000) }, c), 413, 'larger than 16 KiB'],
      ['unknown field', enroll({ ...ok, admin: true }, c), 400, 'Unrecognized key'],
      ['missing field', enroll({ deviceId: ok.deviceId, csr: ok.csr }, c), 400, 'wgPublicKey'],
      ['serial outside the pattern', enroll({ ...ok, deviceId: 'dev/../../x' }, c), 400, 'deviceId must match'],
      ['bad CSR', enroll({ ...ok, csr: 'not a csr' }, c), 400, 'not a PEM-encoded PKCS#10'],
      ['CN mismatch', enroll({ ...ok, csr: await csr('someone-else') }, c), 400, 'CN must be the device id'],
      ['bad WireGuard key', enroll({ ...ok, wgPublicKey: 'abc' }, c), 400, 'WireGuard public key'],
      ['no claim', enroll(ok), 401, 'Authorization: Bearer'],
      ['forged claim', enroll(ok, `cdm_claim_${crypto.randomBytes(32).toString('base64url')}`), 401, 'no valid enrollment claim'],
      ['expired claim', enroll(ok, await expiredClaim()), 403, 'expired'],
    ];
    for (const [name, p, status, reason] of cases) {
      const r = await p;
      expect(r.status, `${name}: ${JSON.stringify(r.body)}`).toBe(status);
      expect(String(r.body.error), name).toContain(reason);
    }
    expect(await bridge.store.getDevice(ok.deviceId)).toBeUndefined();
    expect(await hawkbit.getTarget(ok.deviceId)).toBeUndefined();
  });

  it('attack: refuses another device’s WireGuard key (409), and that device keeps its tunnel', async () => {
    const victim = `dev-${run}-wgv`;
    const victimWg = wgPub();
    const v = await enroll({ deviceId: victim, csr: await csr(victim), wgPublicKey: victimWg }, await claim(1));
    expect(v.status, JSON.stringify(v.body)).toBe(200);
    const thief = `dev-${run}-wgt`;
    const r = await enroll({ deviceId: thief, csr: await csr(thief), wgPublicKey: victimWg }, await claim(1));
    expect(r).toMatchObject({ status: 409, body: { error: expect.stringContaining('wgPublicKey belongs to another device') } });
    expect(peers()).toContain(`${victimWg}\t${v.body.wireguard.address}`);
    expect(await bridge.store.getDevice(thief)).toBeUndefined();
    expect(await hawkbit.getTarget(thief)).toBeUndefined();
  });

  it('attack: refuses to take over a hawkBit target that is not this tenant’s (409), creating nothing', async () => {
    const serial = `dev-${run}-hbx`;
    // Another tenant's device (or one made by hand) already has this controller id in hawkBit.
    await hawkbit.createTargets([{ controllerId: serial, name: serial, description: 'cdm tenant some-other-tenant' }]);
    const r = await enroll({ deviceId: serial, csr: await csr(serial), wgPublicKey: wgPub() }, await claim(1));
    expect(r).toMatchObject({ status: 409, body: { error: expect.stringContaining(`hawkBit already has a target ${serial} that is not this tenant's device`) } });
    expect((await hawkbit.getTarget(serial))?.description).toBe('cdm tenant some-other-tenant');
    expect(await bridge.store.getDevice(serial)).toBeUndefined();
    expect(await bridgeAdmin.findDeviceByName(serial)).toBeUndefined();
    await hawkbit.deleteTarget(serial);
  });

  it('refuses a claim replayed beyond its uses', async () => {
    const c = await claim(1);
    expect((await enroll({ deviceId: `dev-${run}-r1`, csr: await csr(`dev-${run}-r1`), wgPublicKey: wgPub() }, c)).status).toBe(200);
    expect(await enroll({ deviceId: `dev-${run}-r2`, csr: await csr(`dev-${run}-r2`), wgPublicKey: wgPub() }, c)).toMatchObject({ status: 403, body: { error: 'enrollment claim has no uses left' } });
    expect(await bridge.store.getDevice(`dev-${run}-r2`)).toBeUndefined();
  });

  for (const step of ['certificate', 'thingsboard', 'hawkbit', 'wireguard'] as const) {
    it(`recovers from a crash before the ${step} step on retry, leaving nothing orphaned`, async () => {
      const id = `dev-${run}-crash-${step}`;
      const keys = await newKeys();
      const body = { deviceId: id, csr: await csr(id, keys), wgPublicKey: wgPub() };
      const c = await claim(1);
      faults.set(id, step);
      const failed = await enroll(body, c);
      expect(failed.status).toBe(502);
      expect(failed.body.error).toContain(`${step} step failed`);
      expect(failed.body.error).not.toContain('injected crash'); // the device is told which step, not the upstream's words
      expect((await bridge.store.getDevice(id))?.status).toBe('enrolling');
      const r = await enroll({ ...body, csr: await csr(id, keys) }, c); // a fresh request, the same claim: its use was taken with the record
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      expect(await bridge.store.getDevice(id)).toMatchObject({ status: 'active', done: ['certificate', 'thingsboard', 'hawkbit', 'wireguard'] });
      const devices = [];
      for await (const page of bridgeAdmin.devicePages()) devices.push(...page.filter((d) => d.name === id));
      expect(devices).toHaveLength(1);
      expect((await hawkbit.listTargets({ q: `controllerId==${id}` })).length).toBe(1);
      expect(
        peers()
          .split('\n')
          .filter((l) => l.includes(`${r.body.wireguard.address}`)),
      ).toHaveLength(1);
    });
  }

  it('repair completes an enrollment the device abandoned after signing, and rolls back one that never got a certificate', async () => {
    const signed = `dev-${run}-abandoned-signed`;
    faults.set(signed, 'hawkbit');
    expect((await enroll({ deviceId: signed, csr: await csr(signed), wgPublicKey: wgPub() }, await claim(1))).status).toBe(502);
    const unsigned = `dev-${run}-abandoned-unsigned`;
    faults.set(unsigned, 'certificate');
    expect((await enroll({ deviceId: unsigned, csr: await csr(unsigned), wgPublicKey: wgPub() }, await claim(1))).status).toBe(502);
    const r = await bridge.enroller.repair(0);
    expect(r.completed).toContain(signed);
    expect(r.rolledBack).toContain(unsigned);
    expect(await bridge.store.getDevice(signed)).toMatchObject({ status: 'active' });
    expect((await hawkbit.getTarget(signed))?.controllerId).toBe(signed);
    expect(await bridge.store.getDevice(unsigned)).toMatchObject({ status: 'decommissioned', wgIp: '' });
  });

  it('attack: a leaked multi-use claim cannot enroll more devices than the tenant’s quota', async () => {
    const small = await composeEnrollBridge({ ...config, DATA_DIR: path.join(tmp, 'quota'), TENANT_DEVICE_QUOTA: 2 }, logger);
    try {
      const c = (await createClaim(small.store, { tenantId: tenant, uses: 100, expires: '1h' })).token;
      const ids = [0, 1, 2].map((i) => `dev-${run}-q${i}`);
      for (const id of ids.slice(0, 2)) await small.enroller.enroll({ deviceId: id, csr: await csr(id), wgPublicKey: wgPub(), claimToken: c });
      await expect(small.enroller.enroll({ deviceId: ids[2]!, csr: await csr(ids[2]!), wgPublicKey: wgPub(), claimToken: c })).rejects.toMatchObject({
        reason: 'forbidden',
        message: expect.stringContaining('quota of 2 devices'),
      });
      expect(await small.store.getDevice(ids[2]!)).toBeUndefined();
      expect(await hawkbit.getTarget(ids[2]!)).toBeUndefined();
      await small.enroller.decommission(ids[0]!);
      await small.enroller.enroll({ deviceId: ids[2]!, csr: await csr(ids[2]!), wgPublicKey: wgPub(), claimToken: c });
    } finally {
      for (const d of await small.store.listDevices()) if (d.status !== 'decommissioned') await small.enroller.decommission(d.deviceId).catch(() => undefined);
      await small.store.close();
    }
  });

  it('rate-limits per source address with a 429 and a reason', async () => {
    const limited = createApi({ enroller: bridge.enroller, logger, rootPem: '', perAddressPerMinute: 2, perClaimPerMinute: 100 }).listen(0, '127.0.0.1');
    await new Promise((r) => limited.once('listening', r));
    const url = `http://127.0.0.1:${(limited.address() as AddressInfo).port}/v1/enroll`;
    const statuses = [];
    for (let i = 0; i < 3; i++) statuses.push((await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })).status);
    const last = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    limited.close();
    expect(statuses).toEqual([400, 400, 429]);
    expect(((await last.json()) as { error: string }).error).toContain('too many enrollment requests');
  });

  it('creates claims from the command line, naming the tenant by its ThingsBoard title', async () => {
    const cli = path.resolve(import.meta.dirname, 'main.ts');
    const outText = execFileSync(process.execPath, ['--import', 'tsx', cli, 'claim', 'create', '--tenant', tenant, '--uses', '3', '--expires', '2h'], {
      env: { ...process.env, ...env, LOG_LEVEL: 'warn' },
    }).toString();
    const token = /token \(shown once[^)]*\): (cdm_claim_\S+)/.exec(outText)?.[1];
    expect(outText).toContain(`for tenant ${tenant}: 3 use(s)`);
    const id = `dev-${run}-cli`;
    expect((await enroll({ deviceId: id, csr: await csr(id), wgPublicKey: wgPub() }, token)).status).toBe(200);
    expect(() => execFileSync(process.execPath, ['--import', 'tsx', cli, 'claim', 'create', '--tenant', 'no-such-tenant'], { env: { ...process.env, ...env }, stdio: 'pipe' })).toThrow(
      /no cdm tenant "no-such-tenant"/,
    );
  });

  it('gives 500 concurrent enrollments 500 distinct addresses', async () => {
    const c = await claim(500);
    const bodies = await Promise.all(Array.from({ length: 500 }, async (_, i) => ({ deviceId: `dev-${run}-m${i}`, csr: await csr(`dev-${run}-m${i}`), wgPublicKey: wgPub() })));
    const t0 = Date.now();
    const results = await Promise.all(bodies.map((b) => enroll(b, c)));
    console.log(`500 concurrent enrollments: ${Date.now() - t0} ms`);
    expect(results.filter((r) => r.status !== 200).map((r) => r.body.error)).toEqual([]);
    expect(new Set(results.map((r) => r.body.wireguard.address)).size).toBe(500);
    expect((await bridge.store.getClaim((await bridge.store.listClaims(tenant)).find((x) => x.maxUses === 500)!.id))?.usesLeft).toBe(0);
  }, 300_000);

  it('lets the first devices of a brand-new tenant enroll at the same time (one device profile made)', async () => {
    const fresh = `${tenant}-new`;
    const { as } = await thingsboardTenant(tb, fresh);
    fs.writeFileSync(path.join(tokenDir, `${fresh}.json`), JSON.stringify({ cdmId: fresh, org: 'cdm', bucket: `cdm-${fresh}`, token: 't2' }));
    const c = (await createClaim(bridge.store, { tenantId: fresh, uses: 20, expires: '1h' })).token;
    const results = await Promise.all(Array.from({ length: 20 }, async (_, i) => enroll({ deviceId: `dev-${run}-n${i}`, csr: await csr(`dev-${run}-n${i}`), wgPublicKey: wgPub() }, c)));
    expect(results.filter((r) => r.status !== 200).map((r) => r.body.error)).toEqual([]);
    expect((await as.findDeviceProfile('cdm-x509'))?.name).toBe('cdm-x509');
    for (const d of await bridge.store.listDevices({ tenantId: fresh })) await bridge.enroller.decommission(d.deviceId);
  });

  it('decommissions: certificate revoked, peer, target and device gone, address free; re-enrolment needs a new claim use', async () => {
    const d = (await bridge.store.getDevice(device))!;
    const r = await bridge.enroller.decommission(device);
    expect(r).toMatchObject({ status: 'decommissioned', wgIp: '', done: [] });
    expect(peers()).not.toContain(d.wgPublicKey);
    expect(await hawkbit.getTarget(device)).toBeUndefined();
    expect(await bridgeAdmin.findDeviceByName(device)).toBeUndefined();
    await expect(bridge.clients.stepca.revoke(d.certSerial!)).rejects.toThrow(/revoked/i);
    const spent = await claim(1);
    await bridge.store.consumeClaim((await bridge.store.listClaims(tenant)).at(-1)!.id);
    expect((await enroll({ deviceId: device, csr: await csr(device), wgPublicKey: wgPub() }, spent)).status).toBe(403);
  });
});

/** A claim whose expiry has passed, as time passing would leave it. */
async function expiredClaim(): Promise<string> {
  const token = newClaimToken();
  await bridge.store.createClaim({ id: newClaimId(), tokenSha256: hashClaimToken(token), tenantId: tenant, uses: 1, expiresAt: new Date(Date.now() - 1000) });
  return token;
}
