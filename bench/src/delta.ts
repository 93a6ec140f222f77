/**
 * Delta updates: what a device downloads for a small change to its root filesystem when the update
 * is a casync-chunked RAUC bundle (RAUC's casync support: the bundle carries a chunk index, the
 * device extracts it with its installed slot as the seed and fetches only chunks it lacks) against
 * the full bundle. A 256 MiB ext4 image with ~200 MiB of files (text-like and binary, from a fixed
 * seed), then the same image with 1 % of its bytes changed (files rewritten in place).
 * Each side real: rauc bundle and rauc convert (the vendor), publish's checks and copy into the
 * platform's chunk store, ota-bridge's chunk store server, and RAUC 1.8 installing the casync bundle
 * into a file-backed slot with the old image in the running slot. Bytes served are counted by the
 * chunk store; the installed slot must equal the new image.
 *
 *   npm run bench:delta [-- --size-mib 256 --change-pct 1]
 */
import fs from 'node:fs';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { ensureTestTools } from '@cdm/stack';
import { checkRebuild, chunkedImages, stockChunks } from '../../ota-bridge/src/casync.ts';
import { chunkStoreApp } from '../../ota-bridge/src/chunk-store.ts';
import { raucBundles, raucDevice, raucSigner, rootfsImages, seededBytes, sha256File } from '../../ota-bridge/src/rauc-device.test-helpers.ts';

const arg = (name: string, dflt: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1]! : dflt;
};
const SIZE_MIB = Number(arg('size-mib', '256'));
const CHANGE_PCT = Number(arg('change-pct', '1'));
const MiB = 1024 * 1024;
const say = (l: string) => process.stdout.write(`${l}\n`);

/** Text-like content (compresses like logs and scripts): words picked by the seeded stream. */
const WORDS = 'the of device slot update config service error return value kernel mount system user network time data file path version cdm rauc boot health'.split(' ');
const text = (seed: string, n: number) => {
  const r = seededBytes(seed, Math.ceil(n / 5));
  let s = '';
  for (let i = 0; s.length < n; i++) s += WORDS[r[i % r.length]! % WORDS.length] + (i % 12 === 11 ? '\n' : ' ');
  return Buffer.from(s.slice(0, n));
};

async function main() {
  await ensureTestTools('casync', 'mkfs.ext4', 'rauc', 'unsquashfs', 'dbus-run-session');
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'cdm-delta-'));
  try {
    // Root filesystem content: 60 % binaries (incompressible), 40 % text.
    const rootfs = await rootfsImages(work, { sizeMiB: SIZE_MIB, changePct: CHANGE_PCT, fill: 0.78, content: (i, size) => (i % 5 < 3 ? seededBytes(`bin${i}`, size) : text(`txt${i}`, size)) });
    const [oldImg, newImg, changeBytes] = [rootfs.v1, rootfs.v2, rootfs.changed];
    // The vendor side, for real: rauc bundle of the new image, rauc convert to a casync bundle.
    const signer = raucSigner(work);
    const t0 = Date.now();
    const bundles = await raucBundles(work, { image: newImg, version: '2', compatible: 'cdm-bench', signer });
    const makeS = (Date.now() - t0) / 1000;
    // publish's checks and copy into a fresh platform store (as ota-bridge publish does them).
    const store = path.join(work, 'platform-store');
    const t1 = Date.now();
    const images = await chunkedImages(bundles.delta, fs.mkdtempSync(path.join(work, 'w')));
    await checkRebuild(images, [bundles.chunks], work);
    const stocked = stockChunks(images, bundles.chunks, store);
    await checkRebuild(images, [store], work);
    const publishS = (Date.now() - t1) / 1000;

    // The device: RAUC installs the casync bundle with its running slot (the old image) as seed,
    // fetching chunks from ota-bridge's chunk store; every byte served is counted.
    const served = { requests: 0, bytes: 0 };
    const server = chunkStoreApp({ dir: store, served }).listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    const device = raucDevice(path.join(work, 'device'), {
      keyring: signer.keyring,
      storeUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
      compatible: 'cdm-bench',
      installed: oldImg,
    });
    const t2 = Date.now();
    await device.install(bundles.delta);
    const installS = (Date.now() - t2) / 1000;
    server.close();
    if (sha256File(device.slotB) !== sha256File(newImg)) throw new Error('the slot RAUC installed differs from the new image');

    const fullBundle = fs.statSync(bundles.full).size;
    const deltaBundle = fs.statSync(bundles.delta).size;
    const delta = deltaBundle + served.bytes;
    const mib = (b: number) => `${(b / MiB).toFixed(2)} MiB`;
    say(`image ${SIZE_MIB} MiB ext4 (${rootfs.files} files, ${mib(rootfs.contentBytes)} of content), changed ${mib(changeBytes)} (${CHANGE_PCT} %)`);
    say(`full bundle (rauc bundle, squashfs):    ${mib(fullBundle)}`);
    say(`casync, no seed (a new device):         ${mib(deltaBundle + stocked.bytes)}  (bundle ${mib(deltaBundle)} + all ${stocked.chunks} chunks)`);
    say(`casync, installed slot as seed (RAUC):  ${mib(delta)}  (bundle ${mib(deltaBundle)} + ${served.requests} chunks fetched)`);
    say(`delta / full bundle:                    ${(delta / fullBundle).toFixed(3)}   (floor: the change itself, ${(changeBytes / fullBundle).toFixed(3)})`);
    say(`delta / change:                         ${(delta / changeBytes).toFixed(2)}×`);
    say(`rauc bundle + convert ${makeS.toFixed(1)} s, publish checks and copy ${publishS.toFixed(1)} s, rauc install ${installS.toFixed(1)} s`);
    say('the installed slot equals the new image (sha256)');
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

main().catch((err: Error) => {
  process.stderr.write(`bench:delta failed: ${err.message}\n`);
  process.exit(1);
});
