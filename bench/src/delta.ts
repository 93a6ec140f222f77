/**
 * Delta updates: what a device downloads for a small change to its root filesystem when the update
 * is a casync-chunked RAUC bundle (RAUC's casync support: the bundle carries a chunk index, the
 * device extracts it with its installed slot as the seed and fetches only chunks it lacks) against
 * the full bundle. A 256 MiB ext4 image with ~200 MiB of files (text-like and binary, from a fixed
 * seed), then the same image with 1 % of its bytes changed (files rewritten in place, one added);
 * both chunked into one store; the new image extracted over HTTP with the old one as seed. Bytes
 * served are counted by the HTTP server; the extracted image must equal the new one.
 *
 *   npm run bench:delta [-- --size-mib 256 --change-pct 1]
 */
import crypto from 'node:crypto';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import { ensureTestTools } from '@cdm/stack';

const run = promisify(execFile);
const arg = (name: string, dflt: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1]! : dflt;
};
const SIZE_MIB = Number(arg('size-mib', '256'));
const CHANGE_PCT = Number(arg('change-pct', '1'));
const MiB = 1024 * 1024;
const say = (l: string) => process.stdout.write(`${l}\n`);

/** Deterministic bytes: a seeded stream (AES-CTR of zeros). */
const stream = (seed: string, n: number) => {
  const c = crypto.createCipheriv('aes-128-ctr', crypto.createHash('md5').update(seed).digest(), Buffer.alloc(16));
  return c.update(Buffer.alloc(n));
};
/** Text-like content (compresses like logs and scripts): words picked by the seeded stream. */
const WORDS = 'the of device slot update config service error return value kernel mount system user network time data file path version cdm rauc boot health'.split(' ');
const text = (seed: string, n: number) => {
  const r = stream(seed, Math.ceil(n / 5));
  let s = '';
  for (let i = 0; s.length < n; i++) s += WORDS[r[i % r.length]! % WORDS.length] + (i % 12 === 11 ? '\n' : ' ');
  return Buffer.from(s.slice(0, n));
};

async function main() {
  await ensureTestTools('casync', 'mkfs.ext4');
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'cdm-delta-'));
  try {
    // Root filesystem content: 60 % binaries (incompressible), 40 % text, files of 64 KiB–2 MiB.
    const tree = path.join(work, 'tree');
    const files: string[] = [];
    let total = 0;
    for (let i = 0; total < SIZE_MIB * MiB * 0.78; i++) {
      const size = 64 * 1024 * (1 + (stream(`size${i}`, 1)[0]! % 32));
      const f = path.join(tree, `d${i % 40}`, `f${i}`);
      fs.mkdirSync(path.dirname(f), { recursive: true });
      fs.writeFileSync(f, i % 5 < 3 ? stream(`bin${i}`, size) : text(`txt${i}`, size));
      files.push(f);
      total += size;
    }
    const image = async (name: string) => {
      const img = path.join(work, name);
      await run('mkfs.ext4', ['-q', '-F', '-d', tree, '-E', 'root_owner=0:0', '-U', '6f1c2a8e-0d5b-4c2e-9d7f-000000000001', '-T', 'default', img, `${SIZE_MIB}M`], {
        env: { ...process.env, E2FSPROGS_FAKE_TIME: '1790000000', SOURCE_DATE_EPOCH: '1790000000' },
      });
      return img;
    };
    const oldImg = await image('old.img');
    // The change: CHANGE_PCT of the image's bytes, rewritten in place across files, plus one new file.
    const changeBytes = Math.round((SIZE_MIB * MiB * CHANGE_PCT) / 100);
    let changed = 0;
    for (let i = 0; changed < changeBytes * 0.8; i += 37) {
      const f = files[i % files.length]!;
      const len = Math.min(fs.statSync(f).size, 128 * 1024, changeBytes - changed);
      const fd = fs.openSync(f, 'r+');
      fs.writeSync(fd, stream(`change${i}`, len), 0, len, 0);
      fs.closeSync(fd);
      changed += len;
    }
    fs.writeFileSync(path.join(tree, 'd0', 'new-binary'), stream('new', changeBytes - changed));
    const newImg = await image('new.img');

    const store = path.join(work, 'store.castr');
    const t0 = Date.now();
    await run('casync', ['make', `--store=${store}`, path.join(work, 'old.caibx'), oldImg], { maxBuffer: 64 * MiB });
    await run('casync', ['make', `--store=${store}`, path.join(work, 'new.caibx'), newImg], { maxBuffer: 64 * MiB });
    const makeS = (Date.now() - t0) / 1000;

    // The chunk store over HTTP, as the device reaches it; every byte served is counted.
    let served = 0;
    let requests = 0;
    const server = http.createServer((req, res) => {
      const f = path.join(store, decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname));
      if (!f.startsWith(store) || !fs.existsSync(f) || !fs.statSync(f).isFile()) return void res.writeHead(404).end();
      const body = fs.readFileSync(f);
      requests++;
      served += body.length;
      res.writeHead(200, { 'Content-Length': body.length }).end(body);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    const out = path.join(work, 'out.img');
    const t1 = Date.now();
    await run('casync', ['extract', `--store=${url}`, `--seed=${oldImg}`, path.join(work, 'new.caibx'), out], { maxBuffer: 64 * MiB });
    const extractS = (Date.now() - t1) / 1000;
    const deltaBytes = served;
    const deltaRequests = requests;
    served = 0;
    await run('casync', ['extract', `--store=${url}`, path.join(work, 'new.caibx'), path.join(work, 'full.img')], { maxBuffer: 64 * MiB });
    const noSeedBytes = served;
    server.close();

    const sha = (f: string) => crypto.createHash('sha256').update(fs.readFileSync(f)).digest('hex');
    if (sha(out) !== sha(newImg)) throw new Error('the image extracted with the seed differs from the new image');
    const index = fs.statSync(path.join(work, 'new.caibx')).size;
    // The full bundle carries the compressed image (RAUC bundles are squashfs; gzip level 6 as a stand-in for its compression).
    const fullBundle = zlib.gzipSync(fs.readFileSync(newImg), { level: 6 }).length;
    const mib = (b: number) => `${(b / MiB).toFixed(2)} MiB`;
    say(`image ${SIZE_MIB} MiB ext4 (${files.length} files, ${mib(total)} of content), changed ${mib(changeBytes)} (${CHANGE_PCT} %)`);
    say(`full bundle (image compressed):      ${mib(fullBundle)}`);
    say(`casync, no seed (a new device):       ${mib(noSeedBytes + index)}  (index ${mib(index)} + chunks)`);
    say(`casync, installed slot as seed:       ${mib(deltaBytes + index)}  (index ${mib(index)} + ${deltaRequests} chunks fetched)`);
    say(`delta / full bundle:                  ${((deltaBytes + index) / fullBundle).toFixed(3)}   (floor: the change itself, ${(changeBytes / fullBundle).toFixed(3)})`);
    say(`delta / change:                       ${((deltaBytes + index) / changeBytes).toFixed(2)}×   chunking ${makeS.toFixed(1)} s for both images, extraction ${extractS.toFixed(1)} s`);
    say('extracted image equals the new image (sha256)');
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

main().catch((err: Error) => {
  process.stderr.write(`bench:delta failed: ${err.message}\n`);
  process.exit(1);
});
