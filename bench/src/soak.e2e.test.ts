import 'reflect-metadata';
import { execFileSync, spawn } from 'node:child_process';
import crypto, { webcrypto } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as x509 from '@peculiar/x509';
import {
  HawkbitClient,
  HawkbitDdiClient,
  KeycloakClient,
  TenantActors,
  ThingsBoardClient,
  bridgeAdminEmail,
  createLogger,
  loadConfig,
  targetDescription,
  x509CredentialsValue,
  type EntityId,
} from '@cdm/common';
import { composeEnrollBridge, createClaim, enrollBridgeConfig } from '@cdm/enroll-bridge';
import { composeOtaBridge, otaBridgeConfig } from '@cdm/ota-bridge';
import { bridgeEnv, createTenantGroup, defaultContext, restartService, type TestTenant } from '@cdm/stack';
import { composeTenantSync, tenantSyncConfig } from '@cdm/tenant-sync';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { serveDirectory } from '../../enroll-bridge/src/directory.test-helpers.ts';

/**
 * A month of operation in minutes. The three bridges run in process against the real local stack
 * (Keycloak, step-ca, ThingsBoard, hawkBit, WireGuard, InfluxDB) on a simulated clock that moves a
 * day per step (ota-bridge's boot windows follow it; Keycloak and step-ca keep real time). Along
 * the way devices enroll, renew at two-thirds of a 9-day lifetime, are decommissioned and enrolled
 * again with the same serial; firmware releases succeed, fail, or never boot; a tenant is renamed and
 * a new one takes its old name; ThingsBoard refuses the bridges' refresh tokens; an enrollment
 * crashes between steps; enroll-bridge is SIGKILLed mid-enrollment, ota-bridge and tenant-sync
 * mid-pass; step-ca, InfluxDB,
 * hawkBit, Keycloak and ThingsBoard are each restarted. At the end: nothing lost, orphaned or stuck.
 * SOAK_DAYS (default 30) and SOAK_RESTARTS=none (skip the upstream restarts) tune it.
 */
const stack = inject('stack');
const ctx = defaultContext(() => undefined);
const DAYS = Number(process.env.SOAK_DAYS ?? 30);
const RESTARTS = process.env.SOAK_RESTARTS === 'none' ? [] : ['stepca', 'influxdb', 'hawkbit', 'keycloak', 'thingsboard'];
const DAY = 86_400_000;
const LIFETIME_DAYS = 9;
const run = crypto.randomBytes(3).toString('hex');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cdm-soak-'));
const tokenDir = path.join(tmp, 'tenant-tokens');
const envs = bridgeEnv(stack, ctx.stateDir);
const logger = createLogger('soak', { level: 'silent' });
let simNow = Date.now();

const tsEnv = { ...envs['tenant-sync'], TOKEN_STORE_DIR: tokenDir, LOG_LEVEL: 'warn' };
const ts = composeTenantSync(loadConfig(tenantSyncConfig, tsEnv), logger);
const enrollConfig = loadConfig(enrollBridgeConfig, { ...envs['enroll-bridge'], DATA_DIR: path.join(tmp, 'enroll'), TENANT_TOKEN_DIR: tokenDir, LOG_LEVEL: 'warn' });
const crashes = new Map<string, string>();
const enroll = await composeEnrollBridge(enrollConfig, logger, {
  beforeStep: (step, deviceId) => {
    if (crashes.get(deviceId) === step) {
      crashes.delete(deviceId);
      throw new Error(`soak: crash before ${step}`);
    }
  },
});
const directory = await serveDirectory(enroll.store, `${stack.keycloak!.url}/realms/cdm`);
const otaEnv = { ...envs['ota-bridge'], DIRECTORY_URL: directory.url, DATA_DIR: path.join(tmp, 'ota'), LOG_LEVEL: 'warn', BOOT_WINDOW_SECONDS: String(6 * 3600) };
const ota = await composeOtaBridge(loadConfig(otaBridgeConfig, otaEnv), logger, { now: () => simNow });
const sys = new ThingsBoardClient({ baseURL: stack.thingsboard!.url, username: 'sysadmin@thingsboard.org', password: 'sysadmin' });
const actors = new TenantActors(sys);
const hawkbit = new HawkbitClient({ baseURL: stack.hawkbit!.url, username: stack.hawkbit!.credentials!.username!, password: stack.hawkbit!.credentials!.password! });
const kcAdmin = new KeycloakClient({ baseURL: stack.keycloak!.url, realm: 'cdm', authRealm: 'master', clientId: 'admin-cli', username: 'admin', password: 'admin' });

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);
const alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
type Keys = { privateKey: never; publicKey: never };
const newKeys = async () => (await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify'])) as unknown as Keys;
const csr = async (cn: string, keys: Keys) =>
  (
    await x509.Pkcs10CertificateRequestGenerator.create({ name: `CN=${cn}`, keys, signingAlgorithm: alg, attributes: [new x509.ChallengePasswordAttribute(crypto.randomBytes(16).toString('hex'))] })
  ).toString('pem');
const wgPub = () =>
  execFileSync('wg', ['pubkey'], { input: execFileSync('wg', ['genkey']) })
    .toString()
    .trim();

/** What the test expects of each device (the model the invariants are checked against). */
interface Dev {
  id: string;
  tenant: string;
  keys: Keys;
  serial: string;
  issuedDay: number;
  token?: string;
  /** Latest OTA action and what it should end as. */
  ota?: { actionId: number; expect: 'success' | 'failure' | 'boot_mismatch' };
  /** The version the device last reported, and its releases (for a failure's explanation). */
  reported?: string;
  history?: string[];
  retiredSerials: string[];
}
const devices = new Map<string, Dev>();
const tenants: Record<'a' | 'b', TestTenant> = {} as never;
const names = { a: `soak-${run}-a`, b: `soak-${run}-b` };
const claims: Record<string, string> = {};
const stats = { enrolled: 0, reenrolled: 0, renewed: 0, decommissioned: 0, releases: 0, deployments: 0, otaPasses: 0, syncPasses: 0, repairs: 0, faults: [] as string[], days: 0 };
const groups: string[] = [];
afterAll(async () => {
  for (const d of await enroll.store.listDevices()) if (d.status !== 'decommissioned') await enroll.enroller.decommission(d.deviceId).catch(() => undefined);
  directory.close();
  await enroll.store.close();
  await ota.store.close();
  for (const g of groups) await kcAdmin.deleteGroup(g).catch(() => undefined);
  await ts.sync.apply().catch(() => undefined);
});

/** A device's keys stay on the device between attempts (enroll.sh keeps them in its state dir). */
const newIdentity = async () => ({ keys: await newKeys(), wg: wgPub() });
async function enrollDevice(id: string, tenant: string, token: string, ident?: { keys: Keys; wg: string }): Promise<void> {
  const { keys, wg } = ident ?? (await newIdentity());
  const r = await enroll.enroller.enroll({ deviceId: id, csr: await csr(id, keys), wgPublicKey: wg, claimToken: token });
  const prev = devices.get(id);
  devices.set(id, {
    id,
    tenant,
    keys,
    serial: r.certificate.serial,
    issuedDay: stats.days,
    token: r.hawkbit.securityToken,
    retiredSerials: prev ? [...new Set([...prev.retiredSerials, prev.serial])] : [],
  });
}

async function otaRelease(release: number): Promise<void> {
  const version = `3.${release}.${parseInt(run, 16) % 1000}`;
  const sm = await hawkbit.createSoftwareModule({ name: `soak-${run}`, version, type: 'os' });
  const ds = await hawkbit.createDistributionSet({ name: `soak-${run}`, version, type: 'os', modules: [{ id: sm.id }] });
  stats.releases++;
  for (const d of devices.values()) {
    if ((await enroll.store.getDevice(d.id))?.status !== 'active') continue;
    await hawkbit.assignDistributionSet(d.id, ds.id, 'forced');
    const ddi = new HawkbitDdiClient({ baseURL: stack.hawkbit!.url, tenant: stack.hawkbit!.extra?.tenant ?? 'DEFAULT', controllerId: d.id, securityToken: d.token });
    let p = await ddi.poll();
    for (let i = 0; p.deploymentActionId === undefined && i < 20; i++) p = await new Promise((r) => setTimeout(r, 250)).then(() => ddi.poll());
    const actionId = p.deploymentActionId!;
    await ddi.getDeploymentBase(actionId);
    const roll = crypto.createHash('sha256').update(`${d.id}/${release}`).digest()[0]! % 20;
    const outcome = roll < 15 ? 'success' : roll < 18 ? 'failure' : 'boot_mismatch';
    await ddi.sendFeedback(actionId, { execution: 'closed', finished: outcome === 'failure' ? 'failure' : 'success' });
    // A device that came up on the new slot reports its version; one that fell back does not.
    if (outcome === 'success') {
      await (await actors.actor(d.tenant)).saveTelemetry({ id: (await enroll.store.getDevice(d.id))!.tbDeviceId!, entityType: 'DEVICE' } as EntityId, { sw_version: version });
      d.reported = version;
    }
    d.ota = { actionId, expect: outcome };
    d.history = [...(d.history ?? []), `day ${stats.days}: action ${actionId} ${version} ${outcome}`];
    stats.deployments++;
  }
}

/**
 * ota-bridge's `poll` or tenant-sync's `apply` as its own process (the daemon's code path),
 * SIGKILLed right after its first write of the pass (the first change it logs), so the kill lands
 * mid-pass with writes behind and ahead of it.
 */
async function killedMidPass(what: 'ota-bridge' | 'tenant-sync'): Promise<string> {
  const [main, args, env, marker] = what === 'ota-bridge' ? ['ota-bridge/src/main.ts', ['poll'], otaEnv, '"msg":"mirrored"'] : ['tenant-sync/src/main.ts', ['apply'], tsEnv, '"msg":"applied"'];
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(ctx.repoDir, main), ...args], { env: { ...process.env, ...env, LOG_LEVEL: 'debug' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let killedAt = '';
  child.stdout.on('data', (c) => {
    out += c;
    if (!killedAt && out.includes(marker)) {
      killedAt = `after ${out.split(marker).length - 1} logged write(s)`;
      child.kill('SIGKILL');
    }
  });
  const end = await new Promise<NodeJS.Signals | number | null>((r) => child.on('exit', (code, signal) => r(signal ?? code)));
  expect(end, `${what} was killed mid-pass (it finished first: nothing to write?)`).toBe('SIGKILL');
  return `${what} SIGKILLed mid-pass ${killedAt}`;
}

/**
 * Makes ThingsBoard outdate every token of a user (access and refresh), as it does when the user's
 * credentials are switched off: measured on 4.3.1.3 (a password change alone outdates nothing).
 * Switching them back on needs a password, so a bridge admin (which has none) first gets a random
 * one through the activation flow.
 */
async function outdateTokens(userId: string): Promise<void> {
  const base = stack.thingsboard!.url;
  const login = (await (
    await fetch(`${base}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'sysadmin@thingsboard.org', password: 'sysadmin' }) })
  ).json()) as { token: string };
  const link = await fetch(`${base}/api/user/${userId}/activationLink`, { headers: { 'X-Authorization': `Bearer ${login.token}` } });
  if (link.ok) {
    const activateToken = new URL(await link.text()).searchParams.get('activateToken');
    const r = await fetch(`${base}/api/noauth/activate?sendActivationMail=false`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ activateToken, password: `Soak-${crypto.randomBytes(12).toString('hex')}` }),
    });
    expect(r.status, await r.clone().text()).toBe(200);
  }
  await sys.setUserCredentialsEnabled(userId, false);
  await sys.setUserCredentialsEnabled(userId, true);
}

/**
 * enroll-bridge as its own daemon on the same store, SIGKILLed while it enrolls a device (right after
 * the first step it records); the device then retries with its own keys and a fresh request, which
 * the bridge in process finishes from where the killed one stopped.
 */
async function enrollKilledMidSaga(id: string, tenant: string, token: string): Promise<string> {
  const port = 20_000 + crypto.randomInt(20_000);
  const env = {
    ...envs['enroll-bridge'],
    DATA_DIR: enrollConfig.DATA_DIR,
    TENANT_TOKEN_DIR: tokenDir,
    API_HOST: '127.0.0.1',
    API_PORT: String(port),
    API_TLS_CERT_FILE: '',
    API_TLS_KEY_FILE: '',
    HEALTH_PORT: String(port + 1),
    LOG_LEVEL: 'debug',
  };
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(ctx.repoDir, 'enroll-bridge/src/main.ts')], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (c) => (out += c));
  const exited = new Promise<NodeJS.Signals | number | null>((r) => child.on('exit', (code, signal) => r(signal ?? code)));
  try {
    for (const deadline = Date.now() + 60_000; !out.includes('"msg":"enroll-bridge started"'); await new Promise((r) => setTimeout(r, 100)))
      if (Date.now() > deadline) throw new Error(`enroll-bridge daemon did not start:\n${out.slice(-2000)}`);
    const ident = await newIdentity();
    const request = fetch(`http://127.0.0.1:${port}/v1/enroll`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ deviceId: id, csr: await csr(id, ident.keys), wgPublicKey: ident.wg }),
    }).catch(() => undefined);
    for (const deadline = Date.now() + 30_000; !out.includes('"msg":"enrollment step done"'); await new Promise((r) => setTimeout(r, 5)))
      if (Date.now() > deadline) throw new Error('the daemon recorded no enrollment step');
    child.kill('SIGKILL');
    expect(await exited).toBe('SIGKILL');
    await request;
    const half = (await enroll.store.getDevice(id))!;
    expect(half.status, 'killed half-way').toBe('enrolling');
    await enrollDevice(id, tenant, token, ident);
    expect((await enroll.store.getDevice(id))!.wgIp).toBe(half.wgIp);
    return `enroll-bridge SIGKILLed mid-enrollment of ${id} after its ${half.done.join(', ')} step(s); the device's retry finished it`;
  } finally {
    child.kill('SIGKILL');
  }
}

async function day(d: number): Promise<void> {
  stats.days = d;
  simNow += DAY;
  const tenant = d % 2 ? 'a' : 'b';
  // Two new devices a day.
  for (let i = 0; i < 2; i++) {
    const id = `SOAK${run}${String(d).padStart(2, '0')}${i}`.toUpperCase();
    const crashing = d === 5 && i === 0;
    if (crashing) crashes.set(id, 'hawkbit'); // the bridge "dies" after signing: repair finishes it
    const ident = await newIdentity();
    try {
      await enrollDevice(id, tenants[tenant].id, claims[tenant]!, ident);
      stats.enrolled++;
    } catch (err) {
      if (!crashing) throw err;
      stats.faults.push(`day ${d}: enrollment of ${id} crashed before its hawkBit step`);
      const r = await enroll.enroller.repair(0);
      stats.repairs++;
      expect(r.completed).toContain(id);
      const rec = (await enroll.store.getDevice(id))!;
      // The device retries with a fresh request and gets its identity (the claim's use was taken once).
      await enrollDevice(id, tenants[tenant].id, claims[tenant]!, ident);
      expect((await enroll.store.getDevice(id))!.wgIp).toBe(rec.wgIp);
      stats.enrolled++;
    }
  }
  // Every fourth day a device is decommissioned; the next day it comes back with the same serial.
  if (d % 4 === 0) {
    const active = new Set((await enroll.store.listDevices({ status: 'active' })).map((d) => d.deviceId));
    const victim = [...devices.values()].find((x) => active.has(x.id));
    if (victim) {
      await enroll.enroller.decommission(victim.id);
      stats.decommissioned++;
      victim.retiredSerials.push(victim.serial);
      victim.ota = undefined;
    }
  }
  if (d % 4 === 1) {
    const gone = new Set((await enroll.store.listDevices({ status: 'decommissioned' })).map((d) => d.deviceId));
    const back = [...devices.values()].find((x) => gone.has(x.id));
    if (back) {
      const claim = (await createClaim(enroll.store, { tenantId: back.tenant, uses: 1, expires: '1h', deviceId: back.id })).token;
      await enrollDevice(back.id, back.tenant, claim);
      stats.reenrolled++;
    }
  }
  // Renewal at two-thirds of the lifetime, with the current certificate and the same key.
  for (const x of devices.values()) {
    if ((await enroll.store.getDevice(x.id))?.status !== 'active' || d - x.issuedDay < (2 * LIFETIME_DAYS) / 3) continue;
    const r = await enroll.enroller.renew(x.id, x.serial, await csr(x.id, x.keys));
    x.serial = r.serial;
    x.issuedDay = d;
    stats.renewed++;
  }
  if (d % 7 === 3) await otaRelease(Math.ceil(d / 7));
  // Faults.
  if (d === 10) stats.faults.push(`day ${d}: ${await killedMidPass('ota-bridge')}`);
  if (d === 12) {
    stats.faults.push(`day ${d}: ${await enrollKilledMidSaga(`SOAK${run}KILL`.toUpperCase(), tenants.b.id, claims.b!)}`);
    stats.enrolled++;
  }
  if (d === 11) {
    // ThingsBoard outdates every token of a user whose credentials change: the bridges' cached clients
    // for tenant a then get 401 on their next call, and their refresh tokens are refused too.
    const tbTenant = await actors.tenantId(tenants.a.id);
    for await (const page of sys.tenantUserPages(tbTenant)) {
      const admin = page.find((u) => u.email === bridgeAdminEmail(tenants.a.id));
      if (admin?.id) await outdateTokens(admin.id.id);
    }
    stats.faults.push(`day ${d}: ThingsBoard outdated the tokens of tenant a's bridge admin`);
  }
  if (d === 15) {
    // Renamed while tenant-sync is not running; a new tenant takes the old name.
    await kcAdmin.renameGroup(tenants.a.id, `${names.a}-renamed`);
    const squat = await createTenantGroup(kcAdmin, names.a);
    groups.push(squat.id);
    stats.faults.push(`day ${d}: tenant a renamed, a new tenant created with its old name`);
    stats.faults.push(`day ${d}: ${await killedMidPass('tenant-sync')}`);
  }
  const restartDay = [13, 17, 19, 22, 25];
  const which = RESTARTS[restartDay.indexOf(d)];
  if (which) {
    // Restarted while a tenant-sync pass and a mirror pass run: what fails in them is retried later.
    const [ms, sync, mirror] = await Promise.all([restartService(ctx, which), ts.sync.apply(), ota.mirror.pass()]);
    stats.faults.push(`day ${d}: ${which} restarted during a tenant-sync and an ota pass (${(ms / 1000).toFixed(1)} s; those passes saw ${sync.failed.length} and ${mirror.failed} failures)`);
  }
  if (d % 5 === 0 || d === 15) {
    const r = await ts.sync.apply();
    stats.syncPasses++;
    expect(r.failed).toEqual([]);
  }
  await ota.mirror.pass();
  stats.otaPasses++;
}

describe(`a simulated month (${DAYS} days) on the local stack`, () => {
  it('keeps every device, certificate, peer, target and OTA result consistent through faults', async () => {
    const t0 = Date.now();
    for (const k of ['a', 'b'] as const) {
      tenants[k] = await createTenantGroup(kcAdmin, names[k]);
      groups.push(tenants[k].id);
    }
    expect((await ts.sync.apply()).failed).toEqual([]);
    stats.syncPasses++;
    for (const k of ['a', 'b'] as const) claims[k] = (await createClaim(enroll.store, { tenantId: tenants[k].id, uses: 500, expires: '1h' })).token;
    if ((await hawkbit.getConfig('authentication.targettoken.enabled')) !== true) await hawkbit.setConfig('authentication.targettoken.enabled', true);

    for (let d = 1; d <= DAYS; d++) await day(d);
    // The month ends with two devices taken out of service for good.
    for (const k of ['a', 'b'] as const) {
      const active = new Set((await enroll.store.listDevices({ status: 'active' })).map((d) => d.deviceId));
      const last = [...devices.values()].reverse().find((x) => x.tenant === tenants[k].id && active.has(x.id));
      if (!last) continue;
      await enroll.enroller.decommission(last.id);
      last.retiredSerials.push(last.serial);
      last.ota = undefined;
      stats.decommissioned++;
    }

    // Settle: tenant-sync once more, the mirror until nothing changes and boot windows have passed.
    expect((await ts.sync.apply()).failed).toEqual([]);
    for (let i = 0; i < 3; i++) {
      simNow += DAY;
      await ota.mirror.pass();
    }
    const last = await ota.mirror.pass();
    expect(last).toMatchObject({ changes: 0, failed: 0 });
    expect((await ts.sync.plan()).systems.flatMap((s) => s.actions)).toEqual([]);

    // Invariants.
    const checked = { devices: 0, active: 0, decommissioned: 0, certificates: 0, peers: 0, targets: 0, otaResults: 0, retiredRevoked: 0 };
    const peers = execFileSync('ip', ['netns', 'exec', enrollConfig.WG_NETNS!, 'wg', 'show', enrollConfig.WG_INTERFACE, 'allowed-ips']).toString();
    const addresses = new Set<string>();
    for (const x of devices.values()) {
      const rec = (await enroll.store.getDevice(x.id))!;
      checked.devices++;
      const as = await actors.actor(x.tenant);
      const tbDevice = await as.findDeviceByName(x.id);
      const target = await hawkbit.getTarget(x.id);
      if (rec.status === 'active') {
        checked.active++;
        expect(rec.done, x.id).toEqual(['certificate', 'thingsboard', 'hawkbit', 'wireguard']);
        expect(rec.certSerial, x.id).toBe(x.serial);
        expect(tbDevice?.id?.id, `${x.id}: one ThingsBoard device, the one the directory names`).toBe(rec.tbDeviceId);
        expect((await as.getDeviceCredentials(rec.tbDeviceId!))?.credentialsValue, `${x.id}: ThingsBoard holds the current certificate`).toBe(
          x509CredentialsValue(rec.certPem!.split(/(?<=-----END CERTIFICATE-----)/)[0]!),
        );
        checked.certificates++;
        expect(target?.description, `${x.id}: hawkBit target of its tenant`).toBe(targetDescription(x.tenant));
        checked.targets++;
        expect(peers, `${x.id}: one WireGuard peer`).toContain(`${rec.wgPublicKey}\t${rec.wgIp}/32`);
        checked.peers++;
        expect(addresses.has(rec.wgIp), `${x.id}: address unique`).toBe(false);
        addresses.add(rec.wgIp);
        if (x.ota) {
          const attrs = Object.fromEntries((await as.getAttributes({ id: rec.tbDeviceId!, entityType: 'DEVICE' } as EntityId, 'SERVER_SCOPE')).map((a) => [a.key, a.value]));
          const why = () => JSON.stringify({ mirrored: ota.store.getDevice(x.id), attrs, reported: x.reported, history: x.history });
          expect({ id: x.id, action: attrs.ota_action_id, status: attrs.ota_status }, why()).toEqual({ id: x.id, action: x.ota.actionId, status: x.ota.expect });
          checked.otaResults++;
        }
      } else {
        checked.decommissioned++;
        expect(rec.status, x.id).toBe('decommissioned');
        expect(tbDevice, `${x.id}: no ThingsBoard device`).toBeUndefined();
        expect(target, `${x.id}: no hawkBit target`).toBeUndefined();
        expect(peers, `${x.id}: no peer`).not.toContain(rec.wgPublicKey);
        expect(rec.wgIp, `${x.id}: address free`).toBe('');
      }
      // Certificates of a decommissioned or re-keyed identity are revoked.
      for (const serial of x.retiredSerials) {
        await expect(enroll.clients.stepca.revoke(serial), `${x.id}: retired ${serial} revoked`).rejects.toThrow(/revoked/i);
        checked.retiredRevoked++;
      }
    }
    const dead = await ota.store.deadLetters();
    expect(dead, 'dead letters').toEqual([]);
    const wall = ((Date.now() - t0) / 1000).toFixed(0);
    const report = [
      `soak: ${DAYS} simulated days in ${wall} s wall time`,
      `  events: ${stats.enrolled} enrolled, ${stats.reenrolled} re-enrolled with the same serial, ${stats.renewed} renewals, ${stats.decommissioned} decommissioned, ${stats.releases} releases / ${stats.deployments} deployments, ${stats.otaPasses} ota passes, ${stats.syncPasses} tenant-sync passes, ${stats.repairs} repair`,
      `  faults (${stats.faults.length}):`,
      ...stats.faults.map((f) => `    ${f}`),
      `  invariants: ${checked.devices} devices (${checked.active} active, ${checked.decommissioned} decommissioned); ${checked.certificates} current certificates in ThingsBoard, ${checked.targets} targets, ${checked.peers} peers with unique addresses, ${checked.otaResults} OTA results mirrored as the devices ended, ${checked.retiredRevoked} retired certificates revoked; dead letters ${dead.length}; final ota pass ${last.changes} changes; tenant-sync plan empty`,
    ];
    console.log(report.join('\n'));
  }, 1_800_000);
});
