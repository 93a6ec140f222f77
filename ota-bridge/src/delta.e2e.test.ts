import fs from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { ensureTestTools } from '@cdm/stack';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { chunkStoreApp } from './chunk-store.ts';
import { otaCli, otaScene } from './e2e.test-helpers.ts';
import { raucBundles, raucDevice, raucSigner, rootfsImages, sha256File } from './rauc-device.test-helpers.ts';

/**
 * Delta updates end to end, each side real: the vendor builds a RAUC bundle and its casync
 * conversion (rauc bundle / rauc convert), ota-bridge publish puts the chunks into the platform's
 * chunk store and the small bundle into the real hawkBit, the device takes the deployment over DDI
 * with its target token and installs it with RAUC, its installed slot as seed, fetching chunks from
 * the store ota-bridge serves. What the device downloads is counted by that server.
 */
const stack = inject('stack');
const MiB = 1024 * 1024;
const SIZE_MIB = 64;
const COMPATIBLE = 'cdm-e2e-device';

describe('delta updates: a casync bundle through publish, hawkBit and a real RAUC install', () => {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'cdm-delta-e2e-'));
  const store = path.join(work, 'chunk-store');
  const served = { requests: 0, bytes: 0 };
  let scene: Awaited<ReturnType<typeof otaScene>>;
  let server: Server;
  let storeUrl: string;
  let images: Awaited<ReturnType<typeof rootfsImages>>;
  let signer: ReturnType<typeof raucSigner>;
  let bundles: Awaited<ReturnType<typeof raucBundles>>;
  const version = (suffix: string) => `3.${parseInt(scene.cdmId.slice(-6), 16) % 1000}.${suffix}`;
  const publish = (bundle: string, v: string, env: Record<string, string> = {}, ...more: string[]) =>
    otaCli({ ...scene.env, RAUC_KEYRING: signer.keyring, CHUNK_STORE_DIR: store, ...env }, 'publish', bundle, '--version', v, '--tenant', scene.cdmId, ...more);

  beforeAll(async () => {
    await ensureTestTools('rauc', 'casync', 'unsquashfs', 'dbus-run-session', 'mkfs.ext4');
    scene = await otaScene(stack, 'ota-delta', 1);
    images = await rootfsImages(work, { sizeMiB: SIZE_MIB, changePct: 1 });
    signer = raucSigner(work);
    bundles = await raucBundles(work, { image: images.v2, version: '2', compatible: COMPATIBLE, signer });
    server = chunkStoreApp({ dir: store, served }).listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    storeUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  }, 600_000);
  afterAll(async () => {
    server?.close();
    await scene?.close();
    fs.rmSync(work, { recursive: true, force: true });
  }, 120_000);

  it('publishes the chunks and a small bundle; the device installs it and downloads only what changed', async () => {
    const v = version('0');
    const r = await publish(bundles.delta, v, {}, '--groups', '100', '--success', '50', '--error', '90', '--start');
    expect(r.code, r.out).toBe(0);
    expect(r.out).toMatch(/every image rebuilds from it to the manifest's sha256/);
    scene.track((JSON.parse(r.out.trim().split('\n').at(-1)!) as { rolloutId: number }).rolloutId);

    // The device: its deployment from hawkBit, the bundle downloaded with its target token.
    const [device] = scene.devices as [string];
    const ddi = scene.ddi[device]!;
    let poll = await ddi.poll();
    for (const deadline = Date.now() + 60_000; poll.deploymentActionId === undefined && Date.now() < deadline; poll = await ddi.poll()) await new Promise((res) => setTimeout(res, 500));
    const actionId = poll.deploymentActionId!;
    expect(actionId, 'the device has a deployment').toBeDefined();
    const base = (await ddi.getDeploymentBase(actionId))!;
    const artifact = base.deployment.chunks[0]!.artifacts![0]!;
    const downloaded = path.join(work, 'device-download.raucb');
    await ddi.downloadArtifact(artifact, downloaded);
    expect(sha256File(downloaded)).toBe(sha256File(bundles.delta));

    // With the download cap device/README.md suggests (high enough not to slow the test).
    const casyncArgs = '--rate-limit-bps=100000000';
    const rauc = raucDevice(path.join(work, 'device'), { keyring: signer.keyring, storeUrl, compatible: COMPATIBLE, installed: images.v1, casyncArgs });
    const out = await rauc.install(downloaded);
    expect(out).toMatch(/succeeded/);
    expect(sha256File(rauc.slotB)).toBe(sha256File(images.v2));
    expect(rauc.primary()).toBe('B');
    await ddi.sendFeedback(actionId, { execution: 'closed', finished: 'success', details: ['rauc install: ok, rebooting'] });

    const full = fs.statSync(bundles.full).size;
    const delta = fs.statSync(downloaded).size + served.bytes;
    process.stdout.write(
      `delta e2e: ${SIZE_MIB} MiB ext4, ${(images.changed / MiB).toFixed(2)} MiB changed; full bundle ${(full / MiB).toFixed(2)} MiB; ` +
        `device downloaded ${(delta / MiB).toFixed(2)} MiB (bundle ${fs.statSync(downloaded).size} B + ${served.requests} chunks ${(served.bytes / MiB).toFixed(2)} MiB), ratio ${(delta / full).toFixed(3)}\n`,
    );
    // The change is 1 % of the image; chunks are ~64 KiB on average, so a few per change.
    expect(served.requests).toBeGreaterThan(0);
    expect(delta).toBeLessThan(full / 5);
  });

  it('publishing again adds nothing to the store: chunks are kept by content', async () => {
    const fresh = fs.mkdtempSync(path.join(work, 'store-'));
    const first = await publish(bundles.delta, version('1'), { CHUNK_STORE_DIR: fresh });
    expect(first.code, first.out).toBe(0);
    const count = fs.readdirSync(fresh, { recursive: true }).length;
    expect(first.out).toMatch(/chunk store .*: (\d+) chunks \([\d.]+ MiB\), \1 new/);
    // Without the .castr the vendor wrote: every chunk is in the store already.
    const again = await publish(bundles.delta, version('1b'), { CHUNK_STORE_DIR: fresh }, '--chunks', path.join(work, 'gone.castr'));
    expect(again.code, again.out).toBe(0);
    expect(again.out).toMatch(/, 0 new \(0\.0 MiB\)/);
    expect(fs.readdirSync(fresh, { recursive: true }).length).toBe(count);
  });

  it('refuses a delta bundle whose chunks are missing, before anything reaches hawkBit or the store', async () => {
    const empty = fs.mkdtempSync(path.join(work, 'empty-'));
    const fresh = fs.mkdtempSync(path.join(work, 'store-'));
    const v = version('2');
    const r = await publish(bundles.delta, v, { CHUNK_STORE_DIR: fresh }, '--chunks', empty);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/chunk\(s\) delta-2.raucb needs are in neither/);
    expect(fs.readdirSync(fresh)).toEqual([]);
    expect(await scene.hawkbit.findSoftwareModule(`rauc-${scene.cdmId}`, v)).toBeUndefined();
  });

  it('attack: a chunk store with a rewritten chunk is refused, and nothing of it is copied', async () => {
    const tampered = path.join(work, 'tampered.castr');
    fs.cpSync(bundles.chunks, tampered, { recursive: true });
    const first = fs
      .readdirSync(tampered, { recursive: true })
      .map(String)
      .find((f) => f.endsWith('.cacnk'))!;
    const victim = path.join(tampered, first);
    fs.writeFileSync(victim, Buffer.from(fs.readFileSync(victim)).fill(0, 16, 48));
    const fresh = fs.mkdtempSync(path.join(work, 'store-'));
    const v = version('3');
    const r = await publish(bundles.delta, v, { CHUNK_STORE_DIR: fresh }, '--chunks', tampered);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/could not rebuild rootfs.ext4.caibx/);
    expect(fs.readdirSync(fresh)).toEqual([]);
    expect(await scene.hawkbit.findSoftwareModule(`rauc-${scene.cdmId}`, v)).toBeUndefined();
  });

  it('refuses a delta bundle when no chunk store is configured', async () => {
    const r = await publish(bundles.delta, version('4'), { CHUNK_STORE_DIR: '' });
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/delta \(casync\) bundle and CHUNK_STORE_DIR is not set/);
  });
});
