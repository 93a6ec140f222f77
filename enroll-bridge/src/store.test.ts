import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { PoolExhausted, Store } from './store.ts';

const dir = () => fs.mkdtempSync(path.join(os.tmpdir(), 'enroll-store-'));
const dev = (n: number) => ({ deviceId: `dev-${n}`, tenantId: 't1', keySha256: `k${n}`, wgPublicKey: `w${n}` });

describe('Store', () => {
  it('hands out distinct addresses, keeps them across a restart, and frees them on decommission', () => {
    const d = dir();
    const s = new Store(d, '10.77.0.0/16');
    const ips = Array.from({ length: 500 }, (_, i) => s.createDevice(dev(i)).wgIp);
    expect(new Set(ips).size).toBe(500);
    expect(ips[0]).toBe('10.77.0.2');
    s.markDone('dev-1', ['certificate'], true);
    s.markDone('dev-1', ['wireguard'], true);
    s.close();

    const again = new Store(d, '10.77.0.0/16');
    expect(again.getDevice('dev-1')).toMatchObject({ wgIp: '10.77.0.3', status: 'enrolling', done: ['certificate', 'wireguard'] });
    again.releaseAddress('dev-0');
    expect(again.getDevice('dev-0')).toMatchObject({ wgIp: '', status: 'decommissioned' });
    expect(again.restartDevice(dev(0)).wgIp).toBe('10.77.0.2');
    expect(again.addressesInUse()).toBe(500);
  });

  it('says clearly when the pool is exhausted and records nothing', () => {
    const s = new Store(dir(), '10.9.0.0/29'); // 5 device addresses
    for (let i = 0; i < 5; i++) s.createDevice(dev(i));
    expect(() => s.createDevice(dev(9))).toThrow(PoolExhausted);
    expect(() => s.createDevice(dev(9))).toThrow('WireGuard pool 10.9.0.0/29 is exhausted');
    expect(s.getDevice('dev-9')).toBeUndefined();
  });

  it('takes the lowest free address: freed ones first, then the next never handed out; a release by another process counts', () => {
    const d = dir();
    const s = new Store(d, '10.77.0.0/16');
    for (let i = 0; i < 6; i++) s.createDevice(dev(i)); // .2 … .7
    const cli = new Store(d, '10.77.0.0/16'); // e.g. a decommission from the command line
    cli.releaseAddress('dev-4');
    cli.releaseAddress('dev-1');
    cli.close();
    expect([6, 7, 8].map((i) => s.createDevice(dev(i)).wgIp)).toEqual(['10.77.0.3', '10.77.0.6', '10.77.0.8']);
    expect(() => s.createDevice(dev(6))).toThrow(/UNIQUE/);
    expect(s.createDevice(dev(9)).wgIp).toBe('10.77.0.9'); // the failed create above gave its address back
  });

  it('works out the pool from the devices for a database from before, and again when the pool is widened', () => {
    const d = dir();
    const s = new Store(d, '10.9.0.0/29'); // .2 … .6
    for (let i = 0; i < 5; i++) s.createDevice(dev(i));
    s.releaseAddress('dev-2');
    s.close();
    const raw = new Database(path.join(d, 'enroll-bridge.sqlite'));
    raw.exec('DELETE FROM pool_state; DELETE FROM pool_free'); // as the migration leaves a database from before
    raw.close();
    const before = new Store(d, '10.9.0.0/29');
    expect(before.createDevice(dev(5)).wgIp).toBe('10.9.0.4');
    expect(() => before.createDevice(dev(6))).toThrow(PoolExhausted);
    before.close();
    const wider = new Store(d, '10.9.0.0/28');
    expect([6, 7].map((i) => wider.createDevice(dev(i)).wgIp)).toEqual(['10.9.0.7', '10.9.0.8']);
    expect(wider.addressesInUse()).toBe(7);
  });

  it('never gives the same device id twice', () => {
    const s = new Store(dir(), '10.77.0.0/16');
    s.createDevice(dev(1));
    expect(() => s.createDevice(dev(1))).toThrow(/UNIQUE/);
  });

  it('takes claim uses one at a time and never below zero; revoked claims give none', () => {
    const s = new Store(dir(), '10.77.0.0/16');
    s.createClaim({ id: 'c1', tokenSha256: 'h1', tenantId: 't1', uses: 2, expiresAt: new Date(Date.now() + 60_000) });
    expect([s.consumeClaim('c1'), s.consumeClaim('c1'), s.consumeClaim('c1')]).toEqual([true, true, false]);
    expect(s.findClaimByHash('h1')).toMatchObject({ usesLeft: 0, maxUses: 2 });
    s.createClaim({ id: 'c2', tokenSha256: 'h2', tenantId: 't1', uses: 5, expiresAt: new Date(Date.now() + 60_000) });
    s.revokeClaim('c2');
    expect(s.consumeClaim('c2')).toBe(false);
  });

  it('rolls back everything in a failed atomic block', () => {
    const s = new Store(dir(), '10.77.0.0/16');
    s.createClaim({ id: 'c1', tokenSha256: 'h1', tenantId: 't1', uses: 1, expiresAt: new Date(Date.now() + 60_000) });
    expect(() =>
      s.atomically(() => {
        s.consumeClaim('c1');
        s.createDevice(dev(1));
        throw new Error('crash');
      }),
    ).toThrow('crash');
    expect(s.getClaim('c1')?.usesLeft).toBe(1);
    expect(s.getDevice('dev-1')).toBeUndefined();
  });
});
