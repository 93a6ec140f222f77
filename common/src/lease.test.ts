import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { openDb, type Db } from './db.ts';
import { Lease, LeaseBusy, withLease } from './lease.ts';
import { createLogger } from './logger.ts';
import { PassLoop } from './loop.ts';

const logger = createLogger('t', { level: 'silent' });
const tick = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** Two handles on one SQLite store, as two processes on one host would have. */
async function twoHandles(): Promise<[Db, Db]> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cdm-lease-'));
  const schema = { name: 't', sqlite: [], postgres: [] };
  return [await openDb({ dataDir, file: 't.sqlite', schema }), await openDb({ dataDir, file: 't.sqlite', schema })];
}

describe('Lease', () => {
  it('one holder at a time; its holder renews it; free again once it expires unrenewed', async () => {
    const [a, b] = await twoHandles();
    const la = new Lease(a, 'poller', 300, 'replica-a');
    const lb = new Lease(b, 'poller', 300, 'replica-b');
    expect(await la.take()).toBe(true);
    expect(await lb.take()).toBe(false);
    expect([la.held(), lb.held()]).toEqual([true, false]);
    await tick(150);
    expect(await la.take()).toBe(true); // renewed: 300 ms from now
    await tick(200);
    expect(await lb.take()).toBe(false);
    await tick(200); // a dead holder stops renewing
    expect(la.held()).toBe(false);
    expect(await lb.take()).toBe(true);
    expect(await la.take()).toBe(false);
    await lb.release();
    expect(await la.take()).toBe(true);
    await Promise.all([a.close(), b.close()]);
  });

  it('withLease: one operation per key across handles, the second waits; a key held too long is refused as busy', async () => {
    const [a, b] = await twoHandles();
    const order: string[] = [];
    const op = (db: Db, name: string, ms: number) =>
      withLease(db, 'device:1', async () => {
        order.push(`${name} in`);
        await tick(ms);
        order.push(`${name} out`);
      });
    await Promise.all([op(a, 'a', 100), tick(10).then(() => op(b, 'b', 10))]);
    expect(order).toEqual(['a in', 'a out', 'b in', 'b out']);
    const long = withLease(a, 'device:2', () => tick(400));
    await tick(20);
    await expect(withLease(b, 'device:2', async () => 'never', { waitMs: 100 })).rejects.toThrow(LeaseBusy);
    await long;
    expect(await withLease(b, 'device:2', async () => 'after')).toBe('after');
    await Promise.all([a.close(), b.close()]);
  });
});

describe('PassLoop with a lease', () => {
  it('runs passes on the leader only; when the leader stops, the standby takes over', async () => {
    const [a, b] = await twoHandles();
    const runs = { a: 0, b: 0 };
    const loop = (db: Db, name: 'a' | 'b') => new PassLoop({ name: `l${name}`, logger, every: 20, lease: new Lease(db, 'pass', 200, name), pass: async () => void runs[name]++ });
    const la = loop(a, 'a');
    la.start();
    await tick(50);
    const lb = loop(b, 'b');
    lb.start();
    await tick(300);
    expect(runs.a).toBeGreaterThan(5);
    expect(runs.b).toBe(0);
    expect(lb.gauges()).toMatchObject({ cdm_lb_leader: 0 });
    expect(la.gauges()).toMatchObject({ cdm_la_leader: 1 });
    await la.stop(); // gives the lease back: the standby needs no expiry
    await tick(300);
    expect(runs.b).toBeGreaterThan(3);
    expect(lb.gauges().cdm_lb_standby_ticks_total).toBeGreaterThan(5);
    await lb.stop();
    await Promise.all([a.close(), b.close()]);
  });
});
