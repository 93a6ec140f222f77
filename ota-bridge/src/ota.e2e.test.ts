import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { tenantBucket } from '@cdm/common';
import { ensureTestTools } from '@cdm/stack';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { otaCli, otaScene } from './e2e.test-helpers.ts';
import { ALARM_FAILURE, ALARM_GATE, ALARM_MISMATCH } from './tb-ota.ts';

/**
 * ota-bridge on the local stack (the real hawkBit and ThingsBoard, the real influxd behind the
 * InfluxDB 2 fake): publish through the CLI, devices driven through hawkBit's DDI API as a RAUC
 * client would, the mirror run as the daemon runs it — and restarted half-way. Each group has its
 * own tenant, devices and rollout, so one failing cannot fail the others.
 */
const stack = inject('stack');
type Scene = Awaited<ReturnType<typeof otaScene>>;
const versionOf = (scene: Scene) => `2.${parseInt(scene.cdmId.slice(-6), 16) % 1000}.0`;

/** A scene for one describe block: made before its tests, removed after them. */
function sceneFor(name: string, devices: number): () => Scene {
  let scene: Scene | undefined;
  beforeAll(async () => {
    scene = await otaScene(stack, name, devices);
  }, 120_000);
  afterAll(() => scene?.close(), 120_000);
  return () => scene!;
}

/** One stage over every device, as `publish --groups 100 --success 50 --error 90` makes it. */
const oneStage = (scene: Scene, version = versionOf(scene)) => scene.startRollout(version, { groups: [100], successPct: 50, errorPct: 90 });

describe('ota-bridge publish', () => {
  const scene = sceneFor('ota-pub', 4);
  const ssl = (...args: string[]) => execFileSync('openssl', args, { cwd: scene().tmp, stdio: ['ignore', 'pipe', 'pipe'] });
  /** A bundle made by RAUC (`rauc bundle`: squashfs of manifest and image, CMS signature, its size). */
  function makeBundle(name: string, signer: string): string {
    const { tmp } = scene();
    const content = fs.mkdtempSync(path.join(tmp, 'content-'));
    fs.writeFileSync(path.join(content, 'rootfs.img'), crypto.randomBytes(256 * 1024));
    fs.writeFileSync(path.join(content, 'manifest.raucm'), `[update]\ncompatible=cdm-e2e\nversion=${name}\n\n[image.rootfs]\nfilename=rootfs.img\n`);
    execFileSync('rauc', ['bundle', '--cert', `${signer}.pem`, '--key', `${signer}.key`, content, name], { cwd: tmp, stdio: ['ignore', 'pipe', 'pipe'] });
    return path.join(tmp, name);
  }
  const cli = (...args: string[]) => otaCli({ ...scene().env, RAUC_KEYRING: path.join(scene().tmp, 'vendor.pem') }, ...args);
  beforeAll(async () => {
    await ensureTestTools('rauc', 'unsquashfs');
    for (const who of ['vendor', 'stranger'])
      ssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', `${who}.key`, '-out', `${who}.pem`, '-days', '2', '-subj', `/CN=${who} RAUC signing`);
  });

  it('refuses a bundle the keyring did not sign, before uploading anything', async () => {
    const { cdmId, hawkbit } = scene();
    const r = await cli('publish', makeBundle('foreign.raucb', 'stranger'), '--version', versionOf(scene()), '--tenant', cdmId);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/does not verify against/);
    expect(await hawkbit.findSoftwareModule(`rauc-${cdmId}`, versionOf(scene()))).toBeUndefined();
  });

  it('uploads the signed bundle, makes the distribution set and a started rollout that reads back as asked', async () => {
    const { cdmId, hawkbit } = scene();
    const VERSION = `${versionOf(scene())}-signed`;
    const bundle = makeBundle('good.raucb', 'vendor');
    // One stage: no hold between stages here (hold gates: hold.e2e.test.ts).
    const r = await cli('publish', bundle, '--version', VERSION, '--tenant', cdmId, '--groups', '100', '--success', '50', '--error', '90', '--start');
    expect(r.code, r.out).toBe(0);
    expect(r.out).toMatch(/upload 100%/);
    const out = JSON.parse(r.out.trim().split('\n').at(-1)!) as { rolloutId: number; distributionSetId: number };
    scene().track(out.rolloutId);
    const sm = (await hawkbit.findSoftwareModule(`rauc-${cdmId}`, VERSION))!;
    expect(sm.type).toBe('os');
    const rollout = (await hawkbit.getRollout(out.rolloutId))!;
    expect(rollout).toMatchObject({ status: 'running', totalTargets: 4, description: `cdm tenant ${cdmId}` });
    const groups = await hawkbit.rolloutGroups(out.rolloutId);
    expect(groups.map((g) => [g.targetPercentage, g.totalTargets, g.successCondition?.expression, g.successAction?.action, g.errorCondition?.expression, g.errorAction?.action])).toEqual([
      [100, 4, '50', 'NEXTGROUP', '90', 'PAUSE'],
    ]);
    const ds = (await hawkbit.getDistributionSet(out.distributionSetId))!;
    expect(ds.version).toBe(VERSION);
    // The tenant's marker: the fleet API deploys only sets published for the caller's tenant.
    expect(ds.description).toBe(`cdm tenant ${cdmId}`);
  });
});

describe('ota-bridge mirror and health gate', () => {
  const scene = sceneFor('ota-mirror', 4);

  it('mirrors success and failure into attributes and one OTA Failure alarm, the gate pauses the rollout, and a restart mid-way neither misses nor doubles anything', async () => {
    const { hawkbit, tenantEntity, dev, alarms, attrs, deploy, reportVersion } = scene();
    const VERSION = versionOf(scene());
    const r = await oneStage(scene());
    const groups = await hawkbit.rolloutGroups(r.id);
    const [ok, bad] = (await hawkbit.rolloutGroupTargets(r.id, groups[0]!.id)).map((t) => t.controllerId).sort() as [string, string];
    await deploy(ok, 'success');
    await reportVersion(ok, VERSION);
    await deploy(bad, 'failure');
    const res = await scene().bridge().mirror.pass();
    expect(res.paused).toEqual([r.id]);
    expect(await attrs(ok)).toMatchObject({ ota_status: 'success', ota_target_version: VERSION, sw_version: VERSION, ota_rollout: expect.stringContaining(VERSION) });
    expect(await attrs(bad)).toMatchObject({ ota_status: 'failure', ota_target_version: VERSION });
    const failure = await alarms(dev(bad), ALARM_FAILURE);
    expect(failure).toHaveLength(1);
    expect(failure[0]).toMatchObject({ severity: 'MAJOR', cleared: false, details: { version: VERSION, messages: expect.arrayContaining(['rauc install: signature check failed']) } });
    expect(await alarms(dev(ok), ALARM_FAILURE)).toHaveLength(0);
    // 1 unhealthy of the 4 started devices > 20 %: paused in hawkBit, one tenant-level alarm.
    expect((await hawkbit.getRollout(r.id))?.status).toBe('paused');
    expect(await alarms(tenantEntity, ALARM_GATE)).toMatchObject([{ severity: 'CRITICAL', details: { rolloutId: r.id, unhealthy: 1 } }]);

    const again = await (await scene().restart()).mirror.pass();
    expect(again.paused).toEqual([]); // the gate remembers its pause; resuming is a human decision
    await scene().bridge().mirror.pass();
    expect(await alarms(dev(bad), ALARM_FAILURE)).toHaveLength(1);
    expect(await alarms(tenantEntity, ALARM_GATE)).toHaveLength(1);
  });

  it('writes per-group rollout metrics to the tenant bucket for the OTA dashboard', async () => {
    const { cdmId, config, influx } = scene();
    const r = await oneStage(scene(), `${versionOf(scene())}-metrics`);
    await scene().bridge().mirror.pass();
    const rows = await influx.query<{ rollout: string; group: string; _field: string; _value: number }>(
      config.INFLUXDB_ORG,
      `from(bucket: "${tenantBucket(cdmId)}") |> range(start: -1h) |> filter(fn: (r) => r._measurement == "ota_rollout") |> last()`,
    );
    const mine = rows.filter((x) => x.rollout === r.name);
    expect([...new Set(mine.map((x) => x._field))].sort()).toEqual(['failure', 'running', 'scheduled', 'success', 'success_ratio']);
    expect(new Set(mine.map((x) => x.group)).size).toBe(1);
  });
});

describe('ota-bridge: a failed update later succeeding', () => {
  const scene = sceneFor('ota-retry', 1);

  it('clears the OTA Failure alarm when a later update of the device succeeds', async () => {
    const { hawkbit, devices, dev, alarms, attrs, deploy, reportVersion } = scene();
    const VERSION = versionOf(scene());
    const [device] = devices as [string];
    // Error threshold 100 %: the one failure does not pause this rollout (the gate is tested above).
    const r = await scene().startRollout(VERSION, { groups: [100], successPct: 100, errorPct: 100 });
    await deploy(device, 'failure');
    await scene().bridge().mirror.pass();
    expect(await alarms(dev(device), ALARM_FAILURE)).toMatchObject([{ cleared: false }]);
    await hawkbit.assignDistributionSet(device, r.distributionSetId!, 'forced');
    await deploy(device, 'success');
    await reportVersion(device, VERSION);
    await scene().bridge().mirror.pass();
    expect(await attrs(device)).toMatchObject({ ota_status: 'success', sw_version: VERSION });
    expect(await alarms(dev(device), ALARM_FAILURE)).toMatchObject([{ cleared: true }]);
  });
});

describe('ota-bridge boot verification', () => {
  const scene = sceneFor('ota-boot', 2);

  it('raises OTA Boot Mismatch when a device reports success but boots the old slot, and clears it once it runs the version', async () => {
    const { devices, dev, alarms, attrs, deploy, reportVersion, clock } = scene();
    const VERSION = versionOf(scene());
    await oneStage(scene());
    const [fine, fellBack] = devices as [string, string];
    for (const d of devices) await deploy(d, 'success');
    await reportVersion(fine, VERSION);
    await reportVersion(fellBack, '1.0.0'); // RAUC fell back to the old slot
    await scene().bridge().mirror.pass();
    expect(await alarms(dev(fellBack), ALARM_MISMATCH)).toHaveLength(0); // still inside the window
    clock.offset = 61_000;
    // (counted per device: hawkBit's history may hold other runs' devices, whose checks are theirs)
    expect((await scene().bridge().mirror.pass()).bootMismatches).toBeGreaterThanOrEqual(1);
    expect(await attrs(fellBack)).toMatchObject({ ota_status: 'boot_mismatch' });
    expect(await alarms(dev(fellBack), ALARM_MISMATCH)).toMatchObject([{ severity: 'CRITICAL', cleared: false, details: { expected: VERSION, reported: '1.0.0' } }]);
    expect(await alarms(dev(fine), ALARM_MISMATCH)).toHaveLength(0);
    await scene().bridge().mirror.pass();
    expect(await alarms(dev(fellBack), ALARM_MISMATCH)).toHaveLength(1);
    await reportVersion(fellBack, VERSION);
    await scene().bridge().mirror.pass();
    expect(await attrs(fellBack)).toMatchObject({ ota_status: 'success' });
    expect(await alarms(dev(fellBack), ALARM_MISMATCH)).toMatchObject([{ cleared: true }]);
  });
});
