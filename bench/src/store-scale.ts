import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Store } from '@cdm/enroll-bridge';

/**
 * What recording one enrollment costs the store (a device row and its address, one durable
 * transaction) when it holds no devices and when it holds `held`: the floor and the figure at
 * scale, in the same run. Equal means the cost does not grow with the fleet.
 */
export async function storeAtScale(held: number, samples = 300): Promise<{ emptyMs: number; fullMs: number; ratio: number }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cdm-bench-store-'));
  try {
    const store = await Store.open({ dataDir: dir, poolCidr: '10.0.0.0/8' });
    const dev = (i: number) => ({ deviceId: `dev-${i}`, tenantId: 't', keySha256: `k${i}`, wgPublicKey: `w${i}` });
    const time = async (from: number) => {
      const t0 = performance.now();
      for (let i = from; i < from + samples; i++) await store.createDevice(dev(i));
      return (performance.now() - t0) / samples;
    };
    const emptyMs = await time(0);
    await store.atomically(async (tx) => {
      for (let i = samples; i < held; i++) await tx.createDevice(dev(i));
    });
    const fullMs = await time(held);
    await store.close();
    return { emptyMs, fullMs, ratio: fullMs / emptyMs };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
