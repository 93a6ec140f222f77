import fs from 'node:fs';
import path from 'node:path';
import { Point } from '@influxdata/influxdb-client';
import { HEALTH_MEASUREMENT } from '@cdm/device';
import { tenantBucket } from '@cdm/common';
import { defaultContext, repoDir, restartService } from '@cdm/stack';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { otaScene } from './e2e.test-helpers.ts';
import { ALARM_GATE } from './tb-ota.ts';

/**
 * Hold gates on the real hawkBit 1.0.4: a rollout built by the shared rules (as `publish` and the
 * fleet API build it) in two stages of two devices with an hour's hold; hawkBit pauses it when
 * stage 1 succeeded, ota-bridge keeps it held — across a restart of itself and of hawkBit — and starts stage 2 once the hold
 * is over with the stage's devices healthy; a stage whose device boots the old version during the
 * hold keeps the next stage back with a tenant alarm naming the signal.
 */
const stack = inject('stack');
const scene = await otaScene(stack, 'hold', 4);
const HOUR = 3_600_000;
afterAll(() => scene.close(), 120_000);

async function until<T>(what: string, get: () => Promise<T>, ok: (v: T) => boolean, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await get();
    if (ok(v)) return v;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs / 1000} s; last: ${JSON.stringify(v).slice(0, 400)}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

/** A started rollout of a new version over the tenant's 4 devices: stages of 50 %, all must succeed, an hour's hold. */
const rollout = (version: string) => scene.startRollout(version, { groups: [50, 50], successPct: 100, errorPct: 90, holdSeconds: 3600 });
const stageTargets = async (id: number, stage: number) => (await scene.hawkbit.rolloutGroupTargets(id, (await scene.hawkbit.rolloutGroups(id))[stage]!.id)).map((t) => t.controllerId).sort();
const groupStates = async (id: number) => (await scene.hawkbit.rolloutGroups(id)).map((g) => g.status);

describe('hold gates between stages (real hawkBit)', () => {
  it('holds the next stage while stage 1 holds — across a restart of the bridge and of hawkBit — then starts it when the stage stayed healthy', async () => {
    const r = await rollout('3.0.0');
    const stage1 = await stageTargets(r.id, 0);
    for (const d of stage1) {
      await scene.deploy(d, 'success');
      await scene.reportVersion(d, '3.0.0');
    }
    // hawkBit's own PAUSE success action: the stage succeeded, stage 2 stays scheduled.
    await until(
      'hawkBit pauses the rollout after stage 1',
      () => scene.hawkbit.getRollout(r.id),
      (x) => x?.status === 'paused',
    );
    expect(await groupStates(r.id)).toEqual(['finished', 'scheduled']);
    expect((await scene.bridge().mirror.pass()).held).toContain(r.id);
    await scene.restart();
    // hawkBit restarts too (an upgrade, a crash): the pause is its state, the hold is the bridge's.
    const restartMs = await restartService(defaultContext(), 'hawkbit');
    console.log(`hawkBit restarted in ${(restartMs / 1000).toFixed(1)} s during the hold`);
    scene.clock.offset = HOUR - 60_000; // the hold began at the first pass: a minute left
    expect((await scene.bridge().mirror.pass()).held).toContain(r.id);
    expect((await scene.hawkbit.getRollout(r.id))?.status).toBe('paused');

    scene.clock.offset = HOUR + 1_000;
    const pass = await scene.bridge().mirror.pass();
    expect(pass.released).toEqual([r.id]);
    await until(
      'stage 2 starts',
      () => groupStates(r.id),
      (s) => s[1] === 'running',
    );
    expect((await scene.hawkbit.getRollout(r.id))?.status).toBe('running');
    // A stage-2 device now gets the update.
    const stage2 = await stageTargets(r.id, 1);
    for (const d of stage2) await scene.deploy(d, 'success');
    expect(await scene.alarms(scene.tenantEntity, ALARM_GATE)).toEqual([]);
    // The stage timeline for the OTA dashboard: holding, then released (stamped on the moved clock).
    const rows = await scene.influx.query<{ _value: string; stage: string }>(
      scene.config.INFLUXDB_ORG,
      `from(bucket: "${tenantBucket(scene.cdmId)}") |> range(start: -1h, stop: 3h) |> filter(fn: (r) => r._measurement == "ota_stage" and r._field == "state")`,
    );
    expect(rows.map((x) => x._value)).toEqual(['holding', 'holding', 'released']);
    // The OTA dashboard's stage timeline panel, its query as Grafana would run it.
    const panel = (JSON.parse(fs.readFileSync(path.join(repoDir, 'grafana-dashboards', 'ota.json'), 'utf8')) as { panels: { title: string; targets: { query: string }[] }[] }).panels.find((p) =>
      p.title.startsWith('Stage holds'),
    )!;
    const flux = panel.targets[0]!.query.replace('v.defaultBucket', JSON.stringify(tenantBucket(scene.cdmId)))
      .replace('v.timeRangeStart', '-1h')
      .replace('v.timeRangeStop', '3h');
    const shown = await scene.influx.query<{ _field: string; _value: string }>(scene.config.INFLUXDB_ORG, flux);
    expect(shown.map((x) => `${x._field}: ${x._value}`)).toEqual([0, 1, 2].map((i) => `${r.name} / group-1 (50%): ${['holding', 'holding', 'released'][i]}`));
  }, 480_000);

  it('keeps the next stage back with a tenant alarm naming the signal when a stage device boots the old version during the hold', async () => {
    const r = await rollout('3.1.0');
    const [fine, fellBack] = (await stageTargets(r.id, 0)) as [string, string];
    for (const d of [fine, fellBack]) await scene.deploy(d, 'success');
    await scene.reportVersion(fine, '3.1.0');
    await scene.reportVersion(fellBack, '3.0.0'); // RAUC fell back to the old slot
    await until(
      'hawkBit pauses the rollout after stage 1',
      () => scene.hawkbit.getRollout(r.id),
      (x) => x?.status === 'paused',
    );
    expect((await scene.bridge().mirror.pass()).held).toContain(r.id);
    scene.clock.offset += 2 * HOUR; // past the boot window and the hold
    await scene.bridge().mirror.pass(); // the Boot Mismatch alarm
    const pass = await scene.bridge().mirror.pass();
    expect([...pass.blocked, ...pass.released]).toEqual([]); // decided on the pass before: blocked stays blocked
    expect((await scene.hawkbit.getRollout(r.id))?.status).toBe('paused');
    expect(await groupStates(r.id)).toEqual(['finished', 'scheduled']);
    const gate = (await scene.alarms(scene.tenantEntity, ALARM_GATE)).filter((a) => (a.details as { rolloutId?: number }).rolloutId === r.id);
    expect(gate).toMatchObject([
      {
        severity: 'CRITICAL',
        details: { stage: expect.stringMatching(/^group-1/), signal: 'ota-failure', reason: '1 of 2 updated devices (50 %) have an OTA Failure or Boot Mismatch alarm, more than 20 %' },
      },
    ]);
  }, 240_000);

  it("keeps the next stage back when the stage's devices cross the fleet dashboards' alert thresholds and the others do not", async () => {
    const r = await rollout('3.2.0');
    const stage1 = await stageTargets(r.id, 0);
    for (const d of stage1) {
      await scene.deploy(d, 'success');
      await scene.reportVersion(d, '3.2.0');
    }
    await until(
      'hawkBit pauses the rollout after stage 1',
      () => scene.hawkbit.getRollout(r.id),
      (x) => x?.status === 'paused',
    );
    expect((await scene.bridge().mirror.pass()).held).toContain(r.id);
    // Telemetry over the hold, as devices write it: one updated device errs on 9 % of its samples.
    const at = Date.now() + scene.clock.offset + 60_000;
    const points = scene.devices.map((d, i) =>
      new Point(HEALTH_MEASUREMENT)
        .tag('tenant', scene.cdmId)
        .tag('device', d)
        .floatField('battery_pct', 80)
        .floatField('signal_dbm', -70)
        .intField('samples', 100)
        .intField('errors', d === stage1[0] ? 9 : 0)
        .intField('uptime_s', 1000 + i)
        .timestamp(new Date(at)),
    );
    await scene.influx.write(scene.config.INFLUXDB_ORG, tenantBucket(scene.cdmId), points);
    scene.clock.offset += 2 * HOUR;
    const pass = await scene.bridge().mirror.pass();
    expect(pass.blocked).toEqual([r.id]);
    const gate = (await scene.alarms(scene.tenantEntity, ALARM_GATE)).filter((a) => (a.details as { rolloutId?: number }).rolloutId === r.id);
    expect(gate).toMatchObject([{ details: { signal: 'fleet-alerts', reason: expect.stringContaining('1 of 2 updated devices (50 %) are over a fleet alert threshold') } }]);
    expect(await groupStates(r.id)).toEqual(['finished', 'scheduled']);
  }, 240_000);
});
