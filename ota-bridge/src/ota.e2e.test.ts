import { execFile, execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { HawkbitClient, HawkbitDdiClient, InfluxClient, tenantBucket, ThingsBoardClient, createLogger, loadConfig, type Alarm, type EntityId } from '@cdm/common';
import { bridgeEnv, defaultContext, repoDir } from '@cdm/stack';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { composeOtaBridge } from './compose.ts';
import { otaBridgeConfig } from './config.ts';
import { ALARM_FAILURE, ALARM_GATE, ALARM_MISMATCH } from './tb-ota.ts';
import { recordEnrolled, serveDirectory } from '../../enroll-bridge/src/directory.test-helpers.ts';
import { Store } from '../../enroll-bridge/src/store.ts';

/**
 * ota-bridge against the hawkBit and ThingsBoard contract fakes of the local stack and the real
 * influxd behind the InfluxDB 2 fake: publish through the CLI, devices driven through hawkBit's DDI
 * API as a RAUC client would, the mirror run as the daemon runs it — and restarted half-way.
 */
const stack = inject('stack');
const ctx = defaultContext();
const run = crypto.randomBytes(3).toString('hex');
const cdmId = `e2e-ota-${run}`;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cdm-ota-'));
// enroll-bridge's store (the owner of device identity) and its directory, which ota-bridge asks.
const identity = new Store(path.join(tmp, 'enroll'), '10.99.0.0/16');
const directory = await serveDirectory(identity, `${stack.keycloak!.url}/realms/cdm`);
const env = { ...bridgeEnv(stack, ctx.stateDir)['ota-bridge'], DIRECTORY_URL: directory.url, DATA_DIR: path.join(tmp, 'data'), LOG_LEVEL: 'warn', BOOT_WINDOW_SECONDS: '60', GATE_THRESHOLD_PERCENT: '20' };
const config = loadConfig(otaBridgeConfig, env);
const logger = createLogger('ota-e2e', { level: 'silent' });
let clock = 0; // added to Date.now(): lets the boot window pass without waiting
let bridge = composeOtaBridge(config, logger, { now: () => Date.now() + clock });
const tb = new ThingsBoardClient({ baseURL: config.THINGSBOARD_URL, username: config.THINGSBOARD_USERNAME, password: config.THINGSBOARD_PASSWORD });
const hawkbit = new HawkbitClient({ baseURL: config.HAWKBIT_URL, username: config.HAWKBIT_USERNAME, password: config.HAWKBIT_PASSWORD });
const influx = new InfluxClient({ baseURL: config.INFLUXDB_URL, token: config.INFLUXDB_TOKEN });
const exec = promisify(execFile);
const devices = ['a', 'b', 'c', 'd'].map((x) => `ota-${run}-${x}`);
const ddi: Record<string, HawkbitDdiClient> = {};
const tbIds: Record<string, string> = {};
let as: ThingsBoardClient;
let tenantEntity: EntityId;
let rolloutId = 0;
let dsId = 0;
const VERSION = `2.${parseInt(run, 16) % 1000}.0`;

const ssl = (...args: string[]) => execFileSync('openssl', args, { cwd: tmp, stdio: ['ignore', 'pipe', 'pipe'] });
/** A bundle as RAUC makes it: image, detached CMS signature, signature size (u64 big-endian). */
function makeBundle(name: string, signer: string): string {
  fs.writeFileSync(path.join(tmp, 'rootfs.img'), crypto.randomBytes(256 * 1024));
  ssl('cms', '-sign', '-binary', '-in', 'rootfs.img', '-signer', `${signer}.pem`, '-inkey', `${signer}.key`, '-outform', 'DER', '-out', 'sig.der');
  const sig = fs.readFileSync(path.join(tmp, 'sig.der'));
  const size = Buffer.alloc(8);
  size.writeBigUInt64BE(BigInt(sig.length));
  fs.writeFileSync(path.join(tmp, name), Buffer.concat([fs.readFileSync(path.join(tmp, 'rootfs.img')), sig, size]));
  return path.join(tmp, name);
}
const cli = (...args: string[]) =>
  exec(process.execPath, ['--import', 'tsx', path.join(repoDir, 'ota-bridge', 'src', 'main.ts'), ...args], { env: { ...process.env, ...env, RAUC_KEYRING: path.join(tmp, 'vendor.pem') }, timeout: 120_000 }).then(
    (r) => ({ code: 0, out: r.stdout + r.stderr }),
    (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, out: e.stdout + e.stderr }),
  );

async function alarms(deviceOrTenant: EntityId, type: string): Promise<Alarm[]> {
  const out: Alarm[] = [];
  for await (const p of as.alarmPages(deviceOrTenant, { searchStatus: 'ANY' })) out.push(...p.filter((a) => a.type === type));
  return out;
}
const dev = (name: string): EntityId => ({ id: tbIds[name]!, entityType: 'DEVICE' }) as EntityId;
async function attrs(name: string): Promise<Record<string, unknown>> {
  return Object.fromEntries((await as.getAttributes(dev(name), 'SERVER_SCOPE')).map((a) => [a.key, a.value]));
}
/**
 * The device side of one deployment: poll (again, as a device does, while hawkBit's rollout
 * scheduler has not started its group yet), fetch the deployment, report each stage.
 */
async function deploy(name: string, outcome: 'success' | 'failure'): Promise<number> {
  let p = await ddi[name]!.poll();
  for (const deadline = Date.now() + 30_000; p.deploymentActionId === undefined && Date.now() < deadline; p = await ddi[name]!.poll()) await new Promise((r) => setTimeout(r, 500));
  expect(p.deploymentActionId, `${name} has a deployment`).toBeDefined();
  const id = p.deploymentActionId!;
  await ddi[name]!.getDeploymentBase(id);
  await ddi[name]!.sendFeedback(id, { execution: 'proceeding', finished: 'none', details: ['downloading bundle'] });
  await ddi[name]!.sendFeedback(id, { execution: 'closed', finished: outcome, details: outcome === 'success' ? ['rauc install: ok, rebooting'] : ['rauc install: signature check failed', 'staying on slot A'] });
  return id;
}
/** The device reports what it runs, as its telemetry would after boot. */
const reportVersion = (name: string, v: string) => as.saveTelemetry(dev(name), { sw_version: v });

beforeAll(async () => {
  const t = await tb.saveTenant({ title: cdmId, additionalInfo: { cdmId } });
  tenantEntity = t.id! as EntityId;
  const u = await tb.saveUser({ email: `cdm-bridge+${cdmId}@cdm.invalid`, authority: 'TENANT_ADMIN', tenantId: { id: t.id!.id, entityType: 'TENANT' } });
  as = await tb.actAs(u.id!.id);
  const org = (await influx.findOrg(config.INFLUXDB_ORG))!;
  await influx.createBucket({ orgID: org.id, name: tenantBucket(cdmId) });
  await hawkbit.setConfig('authentication.targettoken.enabled', true);
  // As enroll-bridge leaves them: a ThingsBoard device and a hawkBit target naming the tenant.
  const targets = await hawkbit.createTargets(devices.map((d) => ({ controllerId: d, name: d, description: `cdm tenant ${cdmId}` })));
  for (const d of devices) {
    tbIds[d] = (await as.saveDevice({ name: d, type: 'default' })).id!.id;
    recordEnrolled(identity, { deviceId: d, tenantId: cdmId, tbDeviceId: tbIds[d] });
    ddi[d] = new HawkbitDdiClient({ baseURL: config.HAWKBIT_URL, tenant: config.HAWKBIT_TENANT, controllerId: d, securityToken: targets.find((x) => x.controllerId === d)!.securityToken });
    await ddi[d].poll(); // registered: hawkBit now knows it is alive
  }
  for (const who of ['vendor', 'stranger']) ssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', `${who}.key`, '-out', `${who}.pem`, '-days', '2', '-subj', `/CN=${who} RAUC signing`);
});
afterAll(async () => {
  bridge.store.close();
  directory.close();
  identity.close();
  // The rollout would otherwise stay open and every later ota-bridge on this stack (npm start)
  // would keep reporting it into a bucket the test's tenant no longer has.
  if (rolloutId) await hawkbit.deleteRollout(rolloutId).catch(() => undefined);
  for (const d of devices) await hawkbit.deleteTarget(d).catch(() => undefined);
});

describe('ota-bridge on the local stack', () => {
  it('publish refuses a bundle the keyring did not sign, before uploading anything', async () => {
    const r = await cli('publish', makeBundle('foreign.raucb', 'stranger'), '--version', VERSION, '--tenant', cdmId);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/does not verify against/);
    expect(await hawkbit.findSoftwareModule(`rauc-${cdmId}`, VERSION)).toBeUndefined();
  });

  it('publish uploads the signed bundle, makes the distribution set and a started rollout that reads back as asked', async () => {
    const bundle = makeBundle('good.raucb', 'vendor');
    const r = await cli('publish', bundle, '--version', VERSION, '--tenant', cdmId, '--groups', '50,50', '--success', '50', '--error', '90', '--start');
    expect(r.code, r.out).toBe(0);
    expect(r.out).toMatch(/upload 100%/);
    const out = JSON.parse(r.out.trim().split('\n').at(-1)!) as { rolloutId: number; distributionSetId: number };
    rolloutId = out.rolloutId;
    dsId = out.distributionSetId;
    const sm = (await hawkbit.findSoftwareModule(`rauc-${cdmId}`, VERSION))!;
    expect(sm.type).toBe('os');
    const rollout = (await hawkbit.getRollout(rolloutId))!;
    expect(rollout).toMatchObject({ status: 'running', totalTargets: 4, description: `cdm tenant ${cdmId}` });
    const groups = await hawkbit.rolloutGroups(rolloutId);
    expect(groups.map((g) => [g.targetPercentage, g.totalTargets, g.successCondition?.expression, g.successAction?.action, g.errorCondition?.expression, g.errorAction?.action])).toEqual([
      [50, 2, '50', 'NEXTGROUP', '90', 'PAUSE'],
      [50, 2, '50', 'NEXTGROUP', '90', 'PAUSE'],
    ]);
    const sha = crypto.createHash('sha256').update(fs.readFileSync(bundle)).digest('hex');
    const ds = (await hawkbit.getDistributionSet(dsId))!;
    expect(ds.version).toBe(VERSION);
    // The tenant's marker: the fleet API deploys only sets published for the caller's tenant.
    expect(ds.description).toBe(`cdm tenant ${cdmId}`);
    expect(sha).toMatch(/^[0-9a-f]{64}$/);
  });

  let first: string[] = [];
  it('mirrors success and failure into attributes and one OTA Failure alarm; the health gate pauses the rollout', async () => {
    const groups = await hawkbit.rolloutGroups(rolloutId);
    first = (await hawkbit.rolloutGroupTargets(rolloutId, groups[0]!.id)).map((t) => t.controllerId).sort();
    const [ok, bad] = first as [string, string];
    await deploy(ok, 'success');
    await reportVersion(ok, VERSION);
    await deploy(bad, 'failure');
    const res = await bridge.mirror.pass();
    expect(res.paused).toEqual([rolloutId]);
    expect(await attrs(ok)).toMatchObject({ ota_status: 'success', ota_target_version: VERSION, sw_version: VERSION, ota_rollout: expect.stringContaining(VERSION) });
    expect(await attrs(bad)).toMatchObject({ ota_status: 'failure', ota_target_version: VERSION });
    const failure = await alarms(dev(bad), ALARM_FAILURE);
    expect(failure).toHaveLength(1);
    expect(failure[0]).toMatchObject({ severity: 'MAJOR', cleared: false, details: { version: VERSION, messages: expect.arrayContaining(['rauc install: signature check failed']) } });
    expect(await alarms(dev(ok), ALARM_FAILURE)).toHaveLength(0);
    // 1 unhealthy of the 2 (or 4, once group 2 started) started devices > 20 %: paused in hawkBit, one tenant-level alarm.
    expect((await hawkbit.getRollout(rolloutId))?.status).toBe('paused');
    expect(await alarms(tenantEntity, ALARM_GATE)).toMatchObject([{ severity: 'CRITICAL', details: { rolloutId, unhealthy: 1 } }]);
  });

  it('after a restart mid-way, repeated passes neither miss nor double anything', async () => {
    bridge.store.close();
    bridge = composeOtaBridge(config, logger, { now: () => Date.now() + clock });
    const again = await bridge.mirror.pass();
    expect(again.paused).toEqual([]); // the gate remembers its pause; resuming is a human decision
    await bridge.mirror.pass();
    expect(await alarms(dev(first[1]!), ALARM_FAILURE)).toHaveLength(1);
    expect(await alarms(tenantEntity, ALARM_GATE)).toHaveLength(1);
  });

  it('clears the OTA Failure alarm when a later update of the device succeeds', async () => {
    const bad = first[1]!;
    await hawkbit.resumeRollout(rolloutId);
    await hawkbit.assignDistributionSet(bad, dsId, 'forced');
    await deploy(bad, 'success');
    await reportVersion(bad, VERSION);
    await bridge.mirror.pass();
    expect(await attrs(bad)).toMatchObject({ ota_status: 'success', sw_version: VERSION });
    expect(await alarms(dev(bad), ALARM_FAILURE)).toMatchObject([{ cleared: true }]);
  });

  it('raises OTA Boot Mismatch when a device reports success but boots the old slot, and clears it once it runs the version', async () => {
    const rest = devices.filter((d) => !first.includes(d));
    const [fine, fellBack] = rest as [string, string];
    for (const d of rest) await deploy(d, 'success');
    await reportVersion(fine, VERSION);
    await reportVersion(fellBack, '1.0.0'); // RAUC fell back to the old slot
    await bridge.mirror.pass();
    expect(await alarms(dev(fellBack), ALARM_MISMATCH)).toHaveLength(0); // still inside the window
    clock = 61_000;
    // (counted per device: hawkBit's history may hold other runs' devices, whose checks are theirs)
    expect((await bridge.mirror.pass()).bootMismatches).toBeGreaterThanOrEqual(1);
    expect(await attrs(fellBack)).toMatchObject({ ota_status: 'boot_mismatch' });
    expect(await alarms(dev(fellBack), ALARM_MISMATCH)).toMatchObject([{ severity: 'CRITICAL', cleared: false, details: { expected: VERSION, reported: '1.0.0' } }]);
    expect(await alarms(dev(fine), ALARM_MISMATCH)).toHaveLength(0);
    await bridge.mirror.pass();
    expect(await alarms(dev(fellBack), ALARM_MISMATCH)).toHaveLength(1);
    await reportVersion(fellBack, VERSION);
    await bridge.mirror.pass();
    expect(await attrs(fellBack)).toMatchObject({ ota_status: 'success' });
    expect(await alarms(dev(fellBack), ALARM_MISMATCH)).toMatchObject([{ cleared: true }]);
  });

  it('writes per-group rollout metrics to the tenant bucket for the OTA dashboard', async () => {
    const rows = await influx.query<{ group: string; _field: string; _value: number }>(
      config.INFLUXDB_ORG,
      `from(bucket: "${tenantBucket(cdmId)}") |> range(start: -1h) |> filter(fn: (r) => r._measurement == "ota_rollout") |> last()`,
    );
    const fields = new Set(rows.map((r) => r._field));
    expect([...fields].sort()).toEqual(['failure', 'running', 'scheduled', 'success', 'success_ratio']);
    expect(new Set(rows.map((r) => r.group)).size).toBe(2);
  });
});
