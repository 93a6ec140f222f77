import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { PoolExhausted, Store } from './store.ts';
import { dev, storeContract } from './store.suite.test-helpers.ts';

const dir = () => fs.mkdtempSync(path.join(os.tmpdir(), 'enroll-store-'));

describe('Store on SQLite', () => {
  let current = dir();
  storeContract({
    open: (poolCidr) => Store.open({ dataDir: (current = dir()), poolCidr }),
    reopen: (poolCidr) => Store.open({ dataDir: current, poolCidr }),
  });

  it('works out the pool from the devices for a database from before the pool had its own state', async () => {
    const d = dir();
    const s = await Store.open({ dataDir: d, poolCidr: '10.9.0.0/29' }); // .2 … .6
    for (let i = 0; i < 5; i++) await s.createDevice(dev(i));
    await s.releaseAddress('dev-2');
    await s.close();
    const raw = new Database(path.join(d, 'enroll-bridge.sqlite'));
    raw.exec('DELETE FROM pool_state; DELETE FROM pool_free'); // as the migration leaves a database from before
    raw.close();
    const before = await Store.open({ dataDir: d, poolCidr: '10.9.0.0/29' });
    expect((await before.createDevice(dev(5))).wgIp).toBe('10.9.0.4');
    await expect(before.createDevice(dev(6))).rejects.toThrow(PoolExhausted);
    await before.close();
  });

  it('is one instance: no lease is taken around a device operation', async () => {
    const s = await Store.open({ dataDir: dir(), poolCidr: '10.77.0.0/16' });
    expect(s.shared).toBe(false);
    expect(await s.exclusive('dev-1', async () => 'ran')).toBe('ran');
    await s.close();
  });
});
