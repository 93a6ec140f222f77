import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { ensureTestTools } from '@cdm/stack';
import { beforeAll, describe, expect, it } from 'vitest';
import { checkRebuild, chunkedImages, chunkIds, chunkPath, manifestImages, missingChunks, stockChunks } from './casync.ts';
import { BadBundle } from './rauc.ts';
import { raucBundles, raucSigner, rootfsImages } from './rauc-device.test-helpers.ts';

const run = promisify(execFile);

describe('manifestImages', () => {
  it("reads each image section's file, hash and size, and nothing from other sections", () => {
    const text =
      '[update]\ncompatible=x\nversion=2\nfilename=not-an-image\n\n[image.rootfs]\nsha256=ABCD\nsize=64\nfilename=rootfs.ext4.caibx\n# comment\n[image.appfs]\nfilename = app.tar.caidx\n[hooks]\nfilename=hook\n';
    expect(manifestImages(text)).toEqual([
      { slotClass: 'rootfs', filename: 'rootfs.ext4.caibx', sha256: 'abcd', size: 64 },
      { slotClass: 'appfs', filename: 'app.tar.caidx' },
    ]);
  });
});

describe('casync bundles (real casync, RAUC and squashfs-tools)', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cdm-casync-'));
  let bundles: Awaited<ReturnType<typeof raucBundles>>;
  beforeAll(async () => {
    await ensureTestTools('casync', 'rauc', 'unsquashfs', 'mkfs.ext4');
    const images = await rootfsImages(dir, { sizeMiB: 16, changePct: 1 });
    bundles = await raucBundles(dir, { image: images.v2, version: '2.0.0', compatible: 'cdm-unit', signer: raucSigner(dir) });
  }, 300_000);

  it('reads the chunk ids of an index casync made: exactly the chunks in its store', async () => {
    fs.writeFileSync(path.join(dir, 'blob'), Buffer.alloc(3 * 1024 * 1024, 7).fill(1, 1024 * 1024));
    await run('casync', ['make', `--store=${path.join(dir, 'blob.castr')}`, path.join(dir, 'blob.caibx'), path.join(dir, 'blob')]);
    const ids = chunkIds(fs.readFileSync(path.join(dir, 'blob.caibx')));
    const inStore = fs.readdirSync(path.join(dir, 'blob.castr'), { recursive: true }).filter((f) => String(f).endsWith('.cacnk'));
    expect(ids.map(chunkPath).sort()).toEqual(inStore.map(String).sort());
  });

  it('refuses what is not a whole casync index', () => {
    const index = fs.readFileSync(path.join(dir, 'blob.caibx'));
    expect(() => chunkIds(Buffer.alloc(200))).toThrow(BadBundle);
    expect(() => chunkIds(index.subarray(0, index.length - 20))).toThrow(/truncated/);
  });

  it('finds no chunk index in a plain bundle, and the image index in its casync conversion', async () => {
    expect(await chunkedImages(bundles.full, fs.mkdtempSync(path.join(dir, 'w')))).toEqual([]);
    const [image, ...rest] = await chunkedImages(bundles.delta, fs.mkdtempSync(path.join(dir, 'w')));
    expect(rest).toEqual([]);
    expect(image).toMatchObject({ slotClass: 'rootfs', filename: 'rootfs.ext4.caibx', size: 16 * 1024 * 1024 });
    expect(image!.chunks.length).toBeGreaterThan(1);
    expect(missingChunks([image!], [bundles.chunks])).toEqual([]);
  });

  it('stocks a store with what the bundle needs once, and proves the store rebuilds the signed image', async () => {
    const images = await chunkedImages(bundles.delta, fs.mkdtempSync(path.join(dir, 'w')));
    const store = fs.mkdtempSync(path.join(dir, 'store'));
    expect(missingChunks(images, [store])).toHaveLength(images[0]!.chunks.length);
    const first = stockChunks(images, bundles.chunks, store);
    expect(first.added).toHaveLength(first.chunks);
    expect(stockChunks(images, bundles.chunks, store)).toMatchObject({ chunks: first.chunks, added: [], addedBytes: 0, bytes: first.bytes });
    await expect(checkRebuild(images, [store], dir)).resolves.toBeUndefined();
  });

  it('attack: a chunk rewritten in the store, or an index from another release, does not rebuild to the signed image', async () => {
    const images = await chunkedImages(bundles.delta, fs.mkdtempSync(path.join(dir, 'w')));
    const store = fs.mkdtempSync(path.join(dir, 'tampered'));
    stockChunks(images, bundles.chunks, store);
    const victim = path.join(store, chunkPath(images[0]!.chunks[0]!));
    const raw = fs.readFileSync(victim);
    fs.writeFileSync(victim, Buffer.from(raw).fill(0, 16, 48));
    await expect(checkRebuild(images, [store], dir)).rejects.toThrow(/could not rebuild rootfs.ext4.caibx/);
    fs.writeFileSync(victim, raw);
    await expect(checkRebuild([{ ...images[0]!, sha256: '0'.repeat(64) }], [store], dir)).rejects.toThrow(/not the manifest's/);
  });
});
