import 'reflect-metadata';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import crypto, { webcrypto } from 'node:crypto';
import fs from 'node:fs';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import * as x509 from '@peculiar/x509';
import { HawkbitClient, ThingsBoardClient, createLogger, loadConfig } from '@cdm/common';
import { bridgeEnv, defaultContext, freshDatabase, repoDir, thingsboardTenant } from '@cdm/stack';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createApi, createApiServer } from './api.ts';
import { createClaim } from './claims.ts';
import { composeEnrollBridge } from './compose.ts';
import { enrollBridgeConfig } from './config.ts';
import { syncPeers } from './peer-sync.ts';
import { Store } from './store.ts';
import { dev, storeContract } from './store.suite.test-helpers.ts';

/**
 * enroll-bridge as two replicas on one PostgreSQL database (DATABASE_URL), against the real step-ca,
 * WireGuard hub, ThingsBoard and hawkBit of the local stack: enrollments split across both never
 * share an address or a claim use, the same device at both at once ends as one device, and the
 * repair pass runs on one replica only — killed mid-pass, the other finishes it.
 */
const stack = inject('stack');
const ctx = defaultContext();
const run = crypto.randomBytes(3).toString('hex');
const tenant = `e2e-replicas-${run}`;
const POOL = '10.95.0.0/16';
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cdm-replicas-'));
const tokenDir = path.join(tmp, 'tokens');
fs.mkdirSync(tokenDir);
fs.writeFileSync(path.join(tokenDir, `${tenant}.json`), JSON.stringify({ cdmId: tenant, org: 'cdm', bucket: `cdm-${tenant}`, authId: 'a1', token: 'influx-write-token-e2e' }));
const databaseUrl = await freshDatabase('enroll_replicas');
const env = (name: string) => ({
  ...bridgeEnv(stack, ctx.stateDir)['enroll-bridge'],
  DATA_DIR: path.join(tmp, name),
  TENANT_TOKEN_DIR: tokenDir,
  DATABASE_URL: databaseUrl,
  WG_POOL_CIDR: POOL,
  LOG_LEVEL: 'warn',
});
const logger = createLogger('replicas-e2e', { level: process.env.E2E_LOG ?? 'silent' });
const config = loadConfig(enrollBridgeConfig, env('a'));
const tb = new ThingsBoardClient({ baseURL: config.THINGSBOARD_URL, username: config.THINGSBOARD_USERNAME, password: config.THINGSBOARD_PASSWORD });
const hawkbit = new HawkbitClient({ baseURL: config.HAWKBIT_URL, username: config.HAWKBIT_USERNAME, password: config.HAWKBIT_PASSWORD });
/** Devices whose enrollment stops after the certificate (a replica that crashed there). */
const crashAfterCertificate = new Set<string>();
const replicas = [
  await composeEnrollBridge(config, logger),
  await composeEnrollBridge(loadConfig(enrollBridgeConfig, env('b')), logger, {
    beforeStep: (step, deviceId) => {
      if (step !== 'certificate' && crashAfterCertificate.has(deviceId)) throw new Error('injected crash after the certificate');
    },
  }),
];
const bases: string[] = [];
const servers: ReturnType<typeof createApiServer>[] = [];
const daemons: ChildProcess[] = [];

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);
const alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
async function csr(cn: string): Promise<string> {
  const keys = (await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify'])) as unknown as { privateKey: never; publicKey: never };
  const req = await x509.Pkcs10CertificateRequestGenerator.create({
    name: `CN=${cn}`,
    keys,
    signingAlgorithm: alg,
    attributes: [new x509.ChallengePasswordAttribute(crypto.randomBytes(16).toString('hex'))],
  });
  return req.toString('pem');
}
const wgPub = () =>
  execFileSync('wg', ['pubkey'], { input: execFileSync('wg', ['genkey']) })
    .toString()
    .trim();
async function enroll(replica: number, deviceId: string, claim: string) {
  const res = await fetch(`${bases[replica]}/v1/enroll`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${claim}` },
    body: JSON.stringify({ deviceId, csr: await csr(deviceId), wgPublicKey: wgPub() }),
  });
  return { status: res.status, body: (await res.json()) as Record<string, any> };
}
const peers = () => execFileSync('ip', ['netns', 'exec', config.WG_NETNS!, 'wg', 'show', config.WG_INTERFACE, 'allowed-ips']).toString();
const store = replicas[0]!.store;

let tenantAdmin: ThingsBoardClient;
beforeAll(async () => {
  ({ as: tenantAdmin } = await thingsboardTenant(tb, tenant));
  for (const r of replicas) {
    const server = createApiServer(createApi({ enroller: r.enroller, logger, rootPem: r.clients.stepca.rootPem, perAddressPerMinute: 10_000, perClaimPerMinute: 10_000 }));
    await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
    servers.push(server);
    bases.push(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
  }
});
afterAll(async () => {
  for (const d of daemons) d.kill('SIGKILL');
  for (const s of servers) s.close();
  for (const d of await store.listDevices({ tenantId: tenant })) if (d.status !== 'decommissioned') await replicas[0]!.enroller.decommission(d.deviceId).catch(() => undefined);
  for (const r of replicas) await r.store.close();
});

describe('enroll-bridge store on PostgreSQL', () => {
  let current = '';
  storeContract({
    open: async (poolCidr) => Store.open({ url: (current = await freshDatabase('enroll_store')), dataDir: tmp, poolCidr }),
    reopen: (poolCidr) => Store.open({ url: current, dataDir: tmp, poolCidr }),
  });

  it('a store that ran on SQLite moves into PostgreSQL on the first start with DATABASE_URL, once, all of it', async () => {
    const dataDir = fs.mkdtempSync(path.join(tmp, 'move-'));
    const old = await Store.open({ dataDir, poolCidr: '10.9.0.0/24' });
    for (let i = 0; i < 5; i++) await old.createDevice(dev(i));
    await old.markDone('dev-1', ['certificate', 'thingsboard'], true, { status: 'active', certSerial: 's1' });
    await old.releaseAddress('dev-3');
    await old.createClaim({ id: 'c', tokenSha256: 'h', tenantId: 't1', uses: 3, expiresAt: new Date(Date.now() + 60_000) });
    await old.useRequest('r1', 'dev-1');
    await old.close();
    const url = await freshDatabase('enroll_move');
    const said: string[] = [];
    const moved = await Store.open({ url, dataDir, poolCidr: '10.9.0.0/24', log: (m) => said.push(m) });
    expect(said).toEqual([expect.stringMatching(/^enroll-bridge: \d+ rows of .*enroll-bridge\.sqlite copied into PostgreSQL/)]);
    expect(fs.existsSync(path.join(dataDir, 'enroll-bridge.sqlite'))).toBe(false);
    expect(await moved.getDevice('dev-1')).toMatchObject({ status: 'active', certSerial: 's1', done: ['certificate', 'thingsboard'], wgIp: '10.9.0.3' });
    expect((await moved.getClaim('c'))?.usesLeft).toBe(3);
    expect(await moved.useRequest('r1', 'dev-1')).toBe(false); // a request used before stays used
    expect((await moved.createDevice(dev(7))).wgIp).toBe('10.9.0.5'); // dev-3's freed address, the pool as it was
    expect((await moved.createDevice(dev(8))).wgIp).toBe('10.9.0.7');
    await moved.close();
    // The next start finds PostgreSQL in use and copies nothing again.
    const again = await Store.open({ url, dataDir, poolCidr: '10.9.0.0/24', log: (m) => said.push(m) });
    expect(said).toHaveLength(1);
    expect(await again.addressesInUse()).toBe(6);
    await again.close();
  });

  it('two replicas taking addresses and claim uses at once: every address once, exactly the uses there were', async () => {
    const url = await freshDatabase('enroll_race');
    const [a, b] = [await Store.open({ url, dataDir: tmp, poolCidr: '10.9.0.0/24' }), await Store.open({ url, dataDir: tmp, poolCidr: '10.9.0.0/24' })];
    await a.createClaim({ id: 'c', tokenSha256: 'h', tenantId: 't1', uses: 150, expiresAt: new Date(Date.now() + 60_000) });
    const outcomes = await Promise.allSettled(
      Array.from({ length: 200 }, (_, i) =>
        (i % 2 ? a : b).atomically(async (tx) => {
          if (!(await tx.consumeClaim('c'))) throw new Error('no uses left');
          return tx.createDevice(dev(i));
        }),
      ),
    );
    const made = outcomes.flatMap((o) => (o.status === 'fulfilled' ? [o.value] : []));
    expect(made).toHaveLength(150);
    expect(outcomes.filter((o) => o.status === 'rejected').map((o) => ((o as PromiseRejectedResult).reason as Error).message)).toEqual(Array(50).fill('no uses left'));
    expect(new Set(made.map((d) => d.wgIp)).size).toBe(150);
    expect((await a.getClaim('c'))?.usesLeft).toBe(0);
    expect(await b.addressesInUse()).toBe(150);
    await Promise.all([a.close(), b.close()]);
  });

  it('a tenant quota holds when both replicas enroll its last places at once', async () => {
    const url = await freshDatabase('enroll_quota');
    const [a, b] = [await Store.open({ url, dataDir: tmp, poolCidr: '10.9.0.0/24' }), await Store.open({ url, dataDir: tmp, poolCidr: '10.9.0.0/24' })];
    const quota = 10;
    const outcomes = await Promise.allSettled(
      Array.from({ length: 40 }, (_, i) =>
        (i % 2 ? a : b).atomically(async (tx) => {
          await tx.lockTenant('t1');
          if ((await tx.countDevices('t1')) >= quota) throw new Error('quota');
          return tx.createDevice(dev(i));
        }),
      ),
    );
    expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(quota);
    expect(await a.countDevices('t1')).toBe(quota);
    await Promise.all([a.close(), b.close()]);
  });
});

describe('two enroll-bridge replicas on one database', () => {
  it('enrollments split across both: distinct addresses, every peer on the hub, one ThingsBoard device and hawkBit target each', async () => {
    const { token } = await createClaim(store, { tenantId: tenant, uses: 30, expires: '1h' });
    const ids = Array.from({ length: 24 }, (_, i) => `rep-${run}-${String(i).padStart(3, '0')}`);
    const results = await Promise.all(ids.map((id, i) => enroll(i % 2, id, token)));
    expect(results.map((r) => r.status)).toEqual(ids.map(() => 200));
    const addresses = results.map((r) => String(r.body.wireguard.address));
    expect(new Set(addresses).size).toBe(ids.length);
    const hub = peers();
    for (const a of addresses) expect(hub).toContain(a);
    expect((await store.getClaim((await store.listClaims(tenant))[0]!.id))?.usesLeft).toBe(30 - ids.length);
    const records = await Promise.all(ids.map(async (id) => (await store.getDevice(id))!));
    expect(new Set(records.map((d) => d.tbDeviceId)).size).toBe(ids.length);
    for (const d of records.slice(0, 4)) expect((await tenantAdmin.getDevice(d.tbDeviceId!))?.name).toBe(d.deviceId);
    for (const id of ids.slice(0, 4)) expect((await hawkbit.getTarget(id))?.controllerId).toBe(id);
  });

  it('the same device at both replicas at once ends as one device with one address', async () => {
    const { token } = await createClaim(store, { tenantId: tenant, uses: 5, expires: '1h' });
    const id = `rep-${run}-twice`;
    const [x, y] = await Promise.all([enroll(0, id, token), enroll(1, id, token)]);
    // One enrolls; the other waited for it (one operation per device across replicas) and then
    // found the device enrolled with another key: refused, nothing taken.
    expect([x.status, y.status].sort()).toEqual([200, 409]);
    const d = (await store.getDevice(id))!;
    expect(d.status).toBe('active');
    expect([x, y].find((r) => r.status === 200)!.body.wireguard.address).toBe(`${d.wgIp}/32`);
    expect((await store.listDevices({ tenantId: tenant })).filter((r) => r.deviceId === id)).toHaveLength(1);
    expect((await store.listClaims(tenant)).at(-1)?.usesLeft).toBe(4);
  });
});

describe("each replica's hub follows the store", () => {
  it('a peer the hub lost comes back with its address; a stray peer on a pool address goes; others stay', async () => {
    const r = replicas[1]!;
    const enrolled = (await store.listDevices({ tenantId: tenant, status: 'active' }))[0]!;
    const wg = (...args: string[]) => execFileSync('ip', ['netns', 'exec', config.WG_NETNS!, 'wg', ...args]).toString();
    // What a replica's hub looks like when another replica enrolled the device, or after a restart.
    wg('set', config.WG_INTERFACE, 'peer', enrolled.wgPublicKey, 'remove');
    const stray = wgPub();
    wg('set', config.WG_INTERFACE, 'peer', stray, 'allowed-ips', '10.95.200.1/32');
    const outside = wgPub();
    wg('set', config.WG_INTERFACE, 'peer', outside, 'allowed-ips', '192.0.2.7/32');
    expect(peers()).not.toContain(`${enrolled.wgIp}/32`);
    const res = await syncPeers({ store: r.store, wireguard: r.clients.wireguard, logger });
    expect(res.failed).toBe(0);
    expect(res.set).toBeGreaterThanOrEqual(1);
    expect(res.removed).toBeGreaterThanOrEqual(1); // and any 10.95 peer an earlier run left behind
    const hub = peers();
    expect(hub).toContain(`${enrolled.wgPublicKey}\t${enrolled.wgIp}/32`);
    expect(hub).not.toContain(stray);
    expect(hub).toContain(`${outside}\t192.0.2.7/32`);
    expect(await syncPeers({ store: r.store, wireguard: r.clients.wireguard, logger })).toEqual({ set: 0, removed: 0, failed: 0 });
    wg('set', config.WG_INTERFACE, 'peer', outside, 'remove');
  });
});

describe('the repair pass with two replicas running', () => {
  /** An enroll-bridge daemon (main.ts) on the shared database, repair every 2 s, lease 4 s. */
  function daemon(name: string): { proc: ChildProcess; out: () => string } {
    let out = '';
    const proc = spawn(process.execPath, ['--import', 'tsx', path.join(repoDir, 'enroll-bridge', 'src', 'main.ts')], {
      cwd: repoDir,
      env: { ...process.env, ...env(name), API_PORT: '0', API_TLS_CERT_FILE: '', API_TLS_KEY_FILE: '', HEALTH_PORT: '0', REPAIR_SCHEDULE: '*/2 * * * * *', LEASE_SECONDS: '4', LOG_LEVEL: 'info' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    proc.stdout!.on('data', (b: Buffer) => (out += b.toString()));
    proc.stderr!.on('data', (b: Buffer) => (out += b.toString()));
    daemons.push(proc);
    return { proc, out: () => out };
  }
  const until = async (what: string, ok: () => boolean | Promise<boolean>, ms: number) => {
    const end = Date.now() + ms;
    while (!(await ok())) {
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  };

  it('one replica repairs; killed mid-pass, the other takes the lease over and finishes every enrollment', async () => {
    const [p, q] = [daemon('p'), daemon('q')];
    await until('a leader', () => /leader \(lease taken\)/.test(p.out() + q.out()), 60_000);
    const leader = /leader \(lease taken\)/.test(p.out()) ? p : q;
    const standby = leader === p ? q : p;
    expect(standby.out()).not.toMatch(/leader \(lease taken\)/);

    // 12 enrollments stop after the certificate, as if their replica crashed there.
    const { token } = await createClaim(store, { tenantId: tenant, uses: 12, expires: '1h' });
    const ids = Array.from({ length: 12 }, (_, i) => `rep-${run}-h${String(i).padStart(2, '0')}`);
    for (const id of ids) crashAfterCertificate.add(id);
    const half = await Promise.all(ids.map((id) => enroll(1, id, token)));
    expect(half.map((r) => r.status)).toEqual(ids.map(() => 502));
    const state = async () => Promise.all(ids.map(async (id) => (await store.getDevice(id))!.status));
    expect(new Set(await state())).toEqual(new Set(['enrolling']));

    // The leader's pass starts finishing them; it dies once the first is done.
    await until('the first repaired enrollment', async () => (await state()).includes('active'), 60_000);
    leader.proc.kill('SIGKILL');
    const killedAt = Date.now();
    const left = (await state()).filter((s) => s !== 'active').length;
    await until('the standby to finish them', async () => (await state()).every((s) => s === 'active'), 60_000);
    const tookMs = Date.now() - killedAt;
    expect(standby.out()).toMatch(/leader \(lease taken\)/);
    process.stdout.write(`failover: leader killed with ${left} of ${ids.length} enrollments unfinished; standby finished them ${tookMs} ms later (lease 4 s, pass every 2 s)\n`);
    // Each finished once: one peer per address on the hub, one ThingsBoard device each.
    const hub = peers();
    for (const id of ids) expect(hub).toContain(`${(await store.getDevice(id))!.wgIp}/32`);
    standby.proc.kill('SIGTERM');
  }, 180_000);
});
