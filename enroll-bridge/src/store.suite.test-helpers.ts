import { expect, it } from 'vitest';
import { PoolExhausted, type Store } from './store.ts';

export const dev = (n: number, tenantId = 't1') => ({ deviceId: `dev-${n}`, tenantId, keySha256: `k${n}`, wgPublicKey: `w${n}` });
/** What each engine says when a unique key is taken twice. */
export const DUPLICATE = /UNIQUE|duplicate key/;

/**
 * What the store promises, whichever engine keeps it: run by store.test.ts on SQLite and by
 * store-postgres.e2e.test.ts on PostgreSQL. `open(pool)` opens a new, empty store; `reopen(pool)`
 * the same one again (a restart, or another process on it).
 */
export function storeContract(o: { open: (pool: string) => Promise<Store>; reopen: (pool: string) => Promise<Store> }): void {
  it('hands out distinct addresses, keeps them across a restart, and frees them on decommission', async () => {
    const s = await o.open('10.77.0.0/16');
    const ips: string[] = [];
    for (let i = 0; i < 300; i++) ips.push((await s.createDevice(dev(i))).wgIp);
    expect(new Set(ips).size).toBe(300);
    expect(ips[0]).toBe('10.77.0.2');
    await s.markDone('dev-1', ['certificate'], true);
    await s.markDone('dev-1', ['wireguard'], true);
    await s.close();

    const again = await o.reopen('10.77.0.0/16');
    expect(await again.getDevice('dev-1')).toMatchObject({ wgIp: '10.77.0.3', status: 'enrolling', done: ['certificate', 'wireguard'] });
    await again.releaseAddress('dev-0');
    expect(await again.getDevice('dev-0')).toMatchObject({ wgIp: '', status: 'decommissioned' });
    expect((await again.restartDevice(dev(0))).wgIp).toBe('10.77.0.2');
    expect(await again.addressesInUse()).toBe(300);
    await again.close();
  });

  it('says clearly when the pool is exhausted and records nothing', async () => {
    const s = await o.open('10.9.0.0/29'); // 5 device addresses
    for (let i = 0; i < 5; i++) await s.createDevice(dev(i));
    await expect(s.createDevice(dev(9))).rejects.toThrow(PoolExhausted);
    await expect(s.createDevice(dev(9))).rejects.toThrow('WireGuard pool 10.9.0.0/29 is exhausted');
    expect(await s.getDevice('dev-9')).toBeUndefined();
    await s.close();
  });

  it('takes the lowest free address: freed ones first, then the next never handed out; a release by another process counts', async () => {
    const s = await o.open('10.77.0.0/16');
    for (let i = 0; i < 6; i++) await s.createDevice(dev(i)); // .2 … .7
    const cli = await o.reopen('10.77.0.0/16'); // e.g. a decommission from the command line
    await cli.releaseAddress('dev-4');
    await cli.releaseAddress('dev-1');
    await cli.close();
    const got: string[] = [];
    for (const i of [6, 7, 8]) got.push((await s.createDevice(dev(i))).wgIp);
    expect(got).toEqual(['10.77.0.3', '10.77.0.6', '10.77.0.8']);
    await expect(s.createDevice(dev(6))).rejects.toThrow(DUPLICATE);
    expect((await s.createDevice(dev(9))).wgIp).toBe('10.77.0.9'); // the failed create above gave its address back
    await s.close();
  });

  it('widening the pool keeps every address and hands out the new ones', async () => {
    const s = await o.open('10.9.0.0/29'); // .2 … .6
    for (let i = 0; i < 5; i++) await s.createDevice(dev(i));
    await s.releaseAddress('dev-2');
    await s.close();
    const wider = await o.reopen('10.9.0.0/28');
    const got: string[] = [];
    for (const i of [6, 7, 8]) got.push((await wider.createDevice(dev(i))).wgIp);
    expect(got).toEqual(['10.9.0.4', '10.9.0.7', '10.9.0.8']);
    expect(await wider.addressesInUse()).toBe(7);
    await wider.close();
  });

  it('never gives the same device id twice', async () => {
    const s = await o.open('10.77.0.0/16');
    await s.createDevice(dev(1));
    await expect(s.createDevice(dev(1))).rejects.toThrow(DUPLICATE);
    await s.close();
  });

  it('takes claim uses one at a time and never below zero; revoked claims give none', async () => {
    const s = await o.open('10.77.0.0/16');
    await s.createClaim({ id: 'c1', tokenSha256: 'h1', tenantId: 't1', uses: 2, expiresAt: new Date(Date.now() + 60_000) });
    expect([await s.consumeClaim('c1'), await s.consumeClaim('c1'), await s.consumeClaim('c1')]).toEqual([true, true, false]);
    expect(await s.findClaimByHash('h1')).toMatchObject({ usesLeft: 0, maxUses: 2 });
    await s.createClaim({ id: 'c2', tokenSha256: 'h2', tenantId: 't1', uses: 5, expiresAt: new Date(Date.now() + 60_000) });
    await s.revokeClaim('c2');
    expect(await s.consumeClaim('c2')).toBe(false);
    await s.close();
  });

  it('rolls back everything in a failed atomic block, and the address returns', async () => {
    const s = await o.open('10.77.0.0/16');
    await s.createClaim({ id: 'c1', tokenSha256: 'h1', tenantId: 't1', uses: 1, expiresAt: new Date(Date.now() + 60_000) });
    await expect(
      s.atomically(async (tx) => {
        await tx.consumeClaim('c1');
        await tx.createDevice(dev(1));
        throw new Error('crash');
      }),
    ).rejects.toThrow('crash');
    expect((await s.getClaim('c1'))?.usesLeft).toBe(1);
    expect(await s.getDevice('dev-1')).toBeUndefined();
    expect((await s.createDevice(dev(2))).wgIp).toBe('10.77.0.2');
    await s.close();
  });

  it('a certificate request is used once; lists filter by tenant and status', async () => {
    const s = await o.open('10.77.0.0/16');
    expect([await s.useRequest('r1', 'dev-1'), await s.useRequest('r1', 'dev-1')]).toEqual([true, false]);
    await s.createDevice(dev(1, 'ta'));
    await s.createDevice(dev(2, 'tb'));
    await s.markDone('dev-2', [], true, { status: 'active' });
    expect((await s.listDevices({ tenantId: 'ta' })).map((d) => d.deviceId)).toEqual(['dev-1']);
    expect((await s.listDevices({ status: 'active' })).map((d) => d.deviceId)).toEqual(['dev-2']);
    expect((await s.listDevices()).length).toBe(2);
    expect(await s.countDevices('tb')).toBe(1);
    await s.close();
  });
}
