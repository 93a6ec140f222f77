import { createLogger } from '@cdm/common';
import { PassLoop } from '@cdm/common/loop';
import { freshDatabase } from '@cdm/stack';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { otaScene } from './e2e.test-helpers.ts';
import { ALARM_FAILURE, ALARM_GATE } from './tb-ota.ts';

/**
 * Two ota-bridge replicas on one PostgreSQL database (DATABASE_URL) against the real hawkBit and
 * ThingsBoard: only the lease holder mirrors, so a failed update gives one alarm, one gate pause and
 * one tenant alarm; when the holder dies (its database connection gone, so its lease runs out) the
 * other takes over from the shared cursor and mirrors what came after, doubling nothing.
 */
const stack = inject('stack');
const scene = await otaScene(stack, 'ota-rep', 4, { DATABASE_URL: await freshDatabase('ota_replicas') });
const logger = createLogger('ota-replicas', { level: 'silent' });
const replicas = [scene.bridge(), await scene.replica()];
const loops = replicas.map(
  (r, i) => new PassLoop({ name: `ota_${'ab'[i]}`, logger, every: 500, pass: () => r.mirror.pass(), failures: (x) => x.failed, lease: r.store.lease('ota', 3000, `replica-${'ab'[i]}`) }),
);
afterAll(async () => {
  await Promise.all(loops.map((l) => l.stop()));
  await replicas[1]!.store.close();
  await scene.close(); // closes the first replica's store again: harmless, as with SQLite
});

const gauge = (i: number, what: string) => loops[i]!.gauges()[`cdm_ota_${'ab'[i]}_${what}`]!;

describe('two ota-bridge replicas on one database', () => {
  it('one mirrors while both run; after it dies the other continues from the shared cursor, with no alarm twice', async () => {
    const { hawkbit, tenantEntity, dev, alarms, attrs, deploy } = scene;
    loops[0]!.start();
    await expect.poll(() => gauge(0, 'leader'), { timeout: 10_000 }).toBe(1);
    loops[1]!.start();
    const version = `3.${parseInt(scene.cdmId.slice(-6), 16) % 1000}.0`;
    const r = await scene.startRollout(version, { groups: [100], successPct: 50, errorPct: 90 });
    const targets = (await hawkbit.rolloutGroupTargets(r.id, (await hawkbit.rolloutGroups(r.id))[0]!.id)).map((t) => t.controllerId).sort();
    const [first, second] = targets as [string, string];
    await deploy(first, 'failure');
    await expect.poll(async () => (await attrs(first)).ota_status, { timeout: 20_000 }).toBe('failure');
    await expect.poll(async () => (await hawkbit.getRollout(r.id))?.status, { timeout: 20_000 }).toBe('paused');
    // Both ran their loops all along; only the lease holder ran passes.
    expect(gauge(0, 'passes_total')).toBeGreaterThan(2);
    expect([gauge(1, 'passes_total'), gauge(1, 'leader')]).toEqual([0, 0]);
    expect(gauge(1, 'standby_ticks_total')).toBeGreaterThan(2);

    // The holder dies: its connection to the database is gone, it can neither renew nor mirror.
    await replicas[0]!.store.close();
    const diedAt = Date.now();
    await deploy(second, 'failure');
    await expect.poll(async () => (await attrs(second)).ota_status, { timeout: 30_000 }).toBe('failure');
    process.stdout.write(`ota failover: the standby mirrored the next change ${Date.now() - diedAt} ms after the holder died (lease 3 s, pass every 0.5 s)\n`);
    expect(gauge(1, 'leader')).toBe(1);
    await expect.poll(() => gauge(1, 'passes_total'), { timeout: 10_000 }).toBeGreaterThan(0);
    // Several passes by the new holder over the same history: still one of each alarm.
    const passes = gauge(1, 'passes_total');
    await expect.poll(() => gauge(1, 'passes_total'), { timeout: 10_000 }).toBeGreaterThan(passes + 3);
    expect(await alarms(dev(first), ALARM_FAILURE)).toHaveLength(1);
    expect(await alarms(dev(second), ALARM_FAILURE)).toHaveLength(1);
    expect(await alarms(tenantEntity, ALARM_GATE)).toHaveLength(1);
  }, 180_000);
});
