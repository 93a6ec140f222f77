import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createLogger } from '@cdm/common';
import { PassLoop } from '@cdm/common/loop';
import { freshDatabase } from '@cdm/stack';
import { afterAll, describe, expect, it } from 'vitest';
import { CommandRunner } from './commands.ts';
import { FakeThingsBoard } from './fleet.test-helpers.ts';
import { CommandLoop } from './groups.ts';
import { FleetStore, type Command, type GroupOperation } from './store.ts';

/**
 * Two fleet-api replicas on one PostgreSQL database (the local stack's): both could serve the API,
 * the lease holder sends and follows commands. A group operation over 40 devices: the standby sends
 * nothing while the holder lives; the holder dies mid-group (its database connection gone) and the
 * standby finishes it — every device's command reaches ThingsBoard exactly once. ThingsBoard's side
 * is the fake the unit tests use (persistent RPC by id); the real one is in groups.e2e.test.ts.
 */
const logger = createLogger('fleet-replicas', { level: 'silent' });
const url = await freshDatabase('fleet_replicas');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cdm-fleet-replicas-'));
const tb = new FakeThingsBoard();
const devices = Array.from({ length: 40 }, (_, i) => `d${String(i).padStart(2, '0')}`);
for (const d of devices) tb.add('T', d);
const stores = [await FleetStore.open({ url, dataDir: tmp }), await FleetStore.open({ url, dataDir: tmp })];
const loops = stores.map((store, i) => {
  const loop = new CommandLoop({ store, runner: new CommandRunner({ store, gateway: tb, logger }), logger, recheckMs: 20 });
  return new PassLoop({ name: `fleet_${'ab'[i]}`, logger, every: 100, pass: () => loop.pass(), lease: store.lease('commands', 2000, `replica-${'ab'[i]}`) });
});
afterAll(async () => {
  await Promise.all(loops.map((l) => l.stop()));
  await Promise.all(stores.map((s) => s.close()));
});
const gauge = (i: number, what: string) => loops[i]!.gauges()[`cdm_fleet_${'ab'[i]}_${what}`]!;

describe('two fleet-api replicas on one database', () => {
  it('a device shadow change on one replica waits for the one under way on the other (read-compare-write)', async () => {
    const order: string[] = [];
    const change = (i: number) =>
      stores[i]!.exclusive('shadow:d00', async () => {
        order.push(`${i} reads`);
        await new Promise((r) => setTimeout(r, 100));
        order.push(`${i} writes`);
      });
    await Promise.all([change(0), new Promise((r) => setTimeout(r, 10)).then(() => change(1))]);
    expect(order).toEqual(['0 reads', '0 writes', '1 reads', '1 writes']);
  });

  it('the lease holder runs a group operation; killed mid-way, the standby finishes it with every device reached once', async () => {
    const now = Date.now();
    const base = { tenantId: 'T', operation: 'reboot' as const, params: {}, requestedBy: 'u', requestedByName: 'u', createdAt: now, expiresAt: now + 600_000, updatedAt: now };
    const group: GroupOperation = { ...base, id: 'g1', selector: {}, concurrency: 4, state: 'running' };
    const targets: Command[] = devices.map((d) => ({ ...base, id: `c-${d}`, deviceId: d, tbDeviceId: `tb-${d}`, groupId: 'g1', status: 'pending', checkedAt: 0 }));
    await stores[1]!.insertGroup(group, targets); // made through the other replica's API
    loops[0]!.start();
    await expect.poll(() => gauge(0, 'leader'), { timeout: 10_000 }).toBe(1);
    loops[1]!.start();
    await expect.poll(async () => (await stores[1]!.groupCounts('g1')).successful ?? 0, { timeout: 30_000, interval: 20 }).toBeGreaterThanOrEqual(8);
    expect([gauge(1, 'passes_total'), gauge(1, 'leader')]).toEqual([0, 0]);

    await stores[0]!.close(); // the holder dies mid-group
    const diedAt = Date.now();
    const left = 40 - ((await stores[1]!.groupCounts('g1')).successful ?? 0);
    await expect.poll(async () => (await stores[1]!.getGroup('g1'))?.state, { timeout: 30_000 }).toBe('finished');
    process.stdout.write(`fleet-api failover: ${left} of 40 devices left when the holder died; the standby finished the group ${Date.now() - diedAt} ms later (lease 2 s)\n`);
    expect(await stores[1]!.groupCounts('g1')).toEqual({ successful: 40 });
    expect(devices.map((d) => tb.sends.get(`c-${d}`) ?? 0)).toEqual(devices.map(() => 1));
    expect(gauge(1, 'leader')).toBe(1);
  }, 120_000);
});
