import { execFile, execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { tenantBucket } from '@cdm/common';
import { repoDir } from '@cdm/stack';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { otaScene } from './e2e.test-helpers.ts';
import { ALARM_FAILURE, ALARM_GATE, ALARM_MISMATCH } from './tb-ota.ts';

/**
 * ota-bridge on the local stack (the real hawkBit and ThingsBoard, the real influxd behind the
 * InfluxDB 2 fake): publish through the CLI, devices driven through hawkBit's DDI API as a RAUC
 * client would, the mirror run as the daemon runs it — and restarted half-way.
 */
const stack = inject('stack');
const scene = await otaScene(stack, 'ota', 4);
const { cdmId, tmp, env, config, hawkbit, influx, tenantEntity, dev, alarms, attrs, deploy, reportVersion } = scene;
const exec = promisify(execFile);
let rolloutId = 0;
let dsId = 0;
const VERSION = `2.${parseInt(cdmId.slice(-6), 16) % 1000}.0`;

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
  exec(process.execPath, ['--import', 'tsx', path.join(repoDir, 'ota-bridge', 'src', 'main.ts'), ...args], {
    env: { ...process.env, ...env, RAUC_KEYRING: path.join(tmp, 'vendor.pem') },
    timeout: 120_000,
  }).then(
    (r) => ({ code: 0, out: r.stdout + r.stderr }),
    (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, out: e.stdout + e.stderr }),
  );

beforeAll(() => {
  for (const who of ['vendor', 'stranger'])
    ssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', `${who}.key`, '-out', `${who}.pem`, '-days', '2', '-subj', `/CN=${who} RAUC signing`);
});
afterAll(() => scene.close(), 120_000);

describe('ota-bridge on the local stack', () => {
  it('publish refuses a bundle the keyring did not sign, before uploading anything', async () => {
    const r = await cli('publish', makeBundle('foreign.raucb', 'stranger'), '--version', VERSION, '--tenant', cdmId);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/does not verify against/);
    expect(await hawkbit.findSoftwareModule(`rauc-${cdmId}`, VERSION)).toBeUndefined();
  });

  it('publish uploads the signed bundle, makes the distribution set and a started rollout that reads back as asked', async () => {
    const bundle = makeBundle('good.raucb', 'vendor');
    // One stage: no hold between stages here (hold gates: hold.e2e.test.ts).
    const r = await cli('publish', bundle, '--version', VERSION, '--tenant', cdmId, '--groups', '100', '--success', '50', '--error', '90', '--start');
    expect(r.code, r.out).toBe(0);
    expect(r.out).toMatch(/upload 100%/);
    const out = JSON.parse(r.out.trim().split('\n').at(-1)!) as { rolloutId: number; distributionSetId: number };
    rolloutId = out.rolloutId;
    scene.track(rolloutId);
    dsId = out.distributionSetId;
    const sm = (await hawkbit.findSoftwareModule(`rauc-${cdmId}`, VERSION))!;
    expect(sm.type).toBe('os');
    const rollout = (await hawkbit.getRollout(rolloutId))!;
    expect(rollout).toMatchObject({ status: 'running', totalTargets: 4, description: `cdm tenant ${cdmId}` });
    const groups = await hawkbit.rolloutGroups(rolloutId);
    expect(groups.map((g) => [g.targetPercentage, g.totalTargets, g.successCondition?.expression, g.successAction?.action, g.errorCondition?.expression, g.errorAction?.action])).toEqual([
      [100, 4, '50', 'NEXTGROUP', '90', 'PAUSE'],
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
    first = (await hawkbit.rolloutGroupTargets(rolloutId, groups[0]!.id))
      .map((t) => t.controllerId)
      .sort()
      .slice(0, 2);
    const [ok, bad] = first as [string, string];
    await deploy(ok, 'success');
    await reportVersion(ok, VERSION);
    await deploy(bad, 'failure');
    const res = await scene.bridge().mirror.pass();
    expect(res.paused).toEqual([rolloutId]);
    expect(await attrs(ok)).toMatchObject({ ota_status: 'success', ota_target_version: VERSION, sw_version: VERSION, ota_rollout: expect.stringContaining(VERSION) });
    expect(await attrs(bad)).toMatchObject({ ota_status: 'failure', ota_target_version: VERSION });
    const failure = await alarms(dev(bad), ALARM_FAILURE);
    expect(failure).toHaveLength(1);
    expect(failure[0]).toMatchObject({ severity: 'MAJOR', cleared: false, details: { version: VERSION, messages: expect.arrayContaining(['rauc install: signature check failed']) } });
    expect(await alarms(dev(ok), ALARM_FAILURE)).toHaveLength(0);
    // 1 unhealthy of the 4 started devices > 20 %: paused in hawkBit, one tenant-level alarm.
    expect((await hawkbit.getRollout(rolloutId))?.status).toBe('paused');
    expect(await alarms(tenantEntity, ALARM_GATE)).toMatchObject([{ severity: 'CRITICAL', details: { rolloutId, unhealthy: 1 } }]);
  });

  it('after a restart mid-way, repeated passes neither miss nor double anything', async () => {
    const again = await scene.restart().mirror.pass();
    expect(again.paused).toEqual([]); // the gate remembers its pause; resuming is a human decision
    await scene.bridge().mirror.pass();
    expect(await alarms(dev(first[1]!), ALARM_FAILURE)).toHaveLength(1);
    expect(await alarms(tenantEntity, ALARM_GATE)).toHaveLength(1);
  });

  it('clears the OTA Failure alarm when a later update of the device succeeds', async () => {
    const bad = first[1]!;
    await hawkbit.resumeRollout(rolloutId);
    await hawkbit.assignDistributionSet(bad, dsId, 'forced');
    await deploy(bad, 'success');
    await reportVersion(bad, VERSION);
    await scene.bridge().mirror.pass();
    expect(await attrs(bad)).toMatchObject({ ota_status: 'success', sw_version: VERSION });
    expect(await alarms(dev(bad), ALARM_FAILURE)).toMatchObject([{ cleared: true }]);
  });

  it('raises OTA Boot Mismatch when a device reports success but boots the old slot, and clears it once it runs the version', async () => {
    const rest = scene.devices.filter((d) => !first.includes(d));
    const [fine, fellBack] = rest as [string, string];
    for (const d of rest) await deploy(d, 'success');
    await reportVersion(fine, VERSION);
    await reportVersion(fellBack, '1.0.0'); // RAUC fell back to the old slot
    await scene.bridge().mirror.pass();
    expect(await alarms(dev(fellBack), ALARM_MISMATCH)).toHaveLength(0); // still inside the window
    scene.clock.offset = 61_000;
    // (counted per device: hawkBit's history may hold other runs' devices, whose checks are theirs)
    expect((await scene.bridge().mirror.pass()).bootMismatches).toBeGreaterThanOrEqual(1);
    expect(await attrs(fellBack)).toMatchObject({ ota_status: 'boot_mismatch' });
    expect(await alarms(dev(fellBack), ALARM_MISMATCH)).toMatchObject([{ severity: 'CRITICAL', cleared: false, details: { expected: VERSION, reported: '1.0.0' } }]);
    expect(await alarms(dev(fine), ALARM_MISMATCH)).toHaveLength(0);
    await scene.bridge().mirror.pass();
    expect(await alarms(dev(fellBack), ALARM_MISMATCH)).toHaveLength(1);
    await reportVersion(fellBack, VERSION);
    await scene.bridge().mirror.pass();
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
    expect(new Set(rows.map((r) => r.group)).size).toBe(1);
  });
});
