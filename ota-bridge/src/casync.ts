import crypto from 'node:crypto';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { BadBundle } from './rauc.ts';

const run = promisify(execFile);

/**
 * Delta updates are casync-chunked RAUC bundles (`rauc convert`): per image the bundle carries a
 * chunk index (.caibx, or .caidx for a directory tree) instead of the image; the device extracts
 * it with its installed slot as seed and fetches from the chunk store only the chunks it lacks.
 */
export interface BundleImage {
  slotClass: string;
  filename: string;
  /** sha256 and size of the image the index rebuilds: in the signed manifest. */
  sha256?: string;
  size?: number;
}

/** Pure: the images a RAUC manifest (manifest.raucm, an INI file) names. */
export function manifestImages(text: string): BundleImage[] {
  const images: BundleImage[] = [];
  let current: BundleImage | undefined;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    const section = /^\[(.+)\]$/.exec(line);
    if (section) {
      current = section[1]!.startsWith('image.') ? { slotClass: section[1]!.slice(6), filename: '' } : undefined;
      if (current) images.push(current);
      continue;
    }
    const kv = /^([^=#;]+)=(.*)$/.exec(line);
    if (!current || !kv) continue;
    const [key, value] = [kv[1]!.trim(), kv[2]!.trim()];
    if (key === 'filename') current.filename = value;
    if (key === 'sha256') current.sha256 = value.toLowerCase();
    if (key === 'size') current.size = Number(value);
  }
  return images.filter((i) => i.filename);
}

/** A blob index (.caibx: a filesystem image) or a directory-tree index (.caidx). */
export const isChunkIndex = (filename: string) => /\.cai[bd]x$/.test(filename);

// casync's index layout (caformat.h): a 48-byte CaFormatIndex, a 16-byte table header, then
// 40-byte items (u64 end offset, 32-byte chunk id) and a 40-byte tail whose first u64 is zero.
const INDEX_MAGIC = 0x96824d9c7b129ff9n;
const TABLE_MAGIC = 0xe75b9e112f17417dn;
const TAIL_MAGIC = 0x4b4f050e5549ecd1n;

/** Pure: the chunk ids (hex) a casync index references, in order (repeats kept once). */
export function chunkIds(index: Buffer): string[] {
  if (index.length < 104 || index.readBigUInt64LE(8) !== INDEX_MAGIC || index.readBigUInt64LE(56) !== TABLE_MAGIC) throw new BadBundle('not a casync index (bad header)');
  if (index.readBigUInt64LE(index.length - 8) !== TAIL_MAGIC || (index.length - 104) % 40 !== 0) throw new BadBundle('casync index is truncated (no table tail)');
  const ids = new Set<string>();
  for (let at = 64; at < index.length - 40; at += 40) ids.add(index.subarray(at + 8, at + 40).toString('hex'));
  return [...ids];
}

/** Where casync keeps a chunk in a store: `<first 4 hex digits>/<id>.cacnk`. */
export const chunkPath = (id: string) => `${id.slice(0, 4)}/${id}.cacnk`;

export interface ChunkedImage extends BundleImage {
  chunks: string[];
  /** The index file, extracted from the bundle. */
  indexFile: string;
}

/**
 * The chunk-indexed images of a bundle (none for a plain one), read with unsquashfs from the
 * bundle's squashfs into `work`: only the manifest and the indexes are extracted. Call after the
 * signature has been verified: the manifest's hashes are then the vendor's.
 */
export async function chunkedImages(bundle: string, work: string): Promise<ChunkedImage[]> {
  const dir = path.join(work, 'bundle');
  const unsquash = async (...files: string[]) => {
    try {
      await run('unsquashfs', ['-no-progress', '-no-xattrs', '-f', '-d', dir, bundle, ...files], { maxBuffer: 16 * 1024 * 1024 });
    } catch (err) {
      const e = err as { code?: string; stderr?: string };
      if (e.code === 'ENOENT') throw new Error('unsquashfs is not installed: publish reads the bundle manifest with it (Debian: apt-get install squashfs-tools)', { cause: err });
      throw new BadBundle(
        `${path.basename(bundle)} is not a RAUC bundle unsquashfs can read: ${String(e.stderr ?? '')
          .trim()
          .split('\n')
          .at(-1)}`,
        { cause: err },
      );
    }
  };
  await unsquash('manifest.raucm');
  const manifest = path.join(dir, 'manifest.raucm');
  if (!fs.existsSync(manifest)) throw new BadBundle(`${path.basename(bundle)} has no manifest.raucm`);
  const images = manifestImages(fs.readFileSync(manifest, 'utf8')).filter((i) => isChunkIndex(i.filename));
  if (!images.length) return [];
  for (const i of images) {
    if (i.filename.includes('/') || i.filename.startsWith('.')) throw new BadBundle(`manifest names an image outside the bundle: ${i.filename}`);
    if (!i.sha256) throw new BadBundle(`manifest gives no sha256 for ${i.filename}: publish could not prove the chunk store rebuilds it`);
  }
  await unsquash(...images.map((i) => i.filename));
  return images.map((i) => {
    const indexFile = path.join(dir, i.filename);
    if (!fs.existsSync(indexFile)) throw new BadBundle(`${path.basename(bundle)} names ${i.filename} in its manifest but does not hold it`);
    return { ...i, indexFile, chunks: chunkIds(fs.readFileSync(indexFile)) };
  });
}

/** The chunks the images reference that none of `stores` holds. */
export function missingChunks(images: ChunkedImage[], stores: string[]): string[] {
  return [...new Set(images.flatMap((i) => i.chunks))].filter((id) => !stores.some((s) => fs.existsSync(path.join(s, chunkPath(id)))));
}

export interface StockResult {
  chunks: number;
  bytes: number;
  /** Chunks this call added to the store (paths inside it). */
  added: string[];
  addedBytes: number;
}

/**
 * Copies the chunks the images reference from `from` (the store `rauc convert` wrote) into the
 * platform's store `to`, each one whole or not at all (temporary file, then rename); chunks `to`
 * already holds are kept: ids are content hashes, and releases share most of them.
 */
export function stockChunks(images: ChunkedImage[], from: string, to: string): StockResult {
  const r: StockResult = { chunks: 0, bytes: 0, added: [], addedBytes: 0 };
  for (const id of new Set(images.flatMap((i) => i.chunks))) {
    const rel = chunkPath(id);
    const dest = path.join(to, rel);
    r.chunks++;
    if (!fs.existsSync(dest)) {
      fs.mkdirSync(path.dirname(dest), { recursive: true });
      const tmp = `${dest}.${process.pid}.${crypto.randomBytes(4).toString('hex')}.tmp`;
      fs.copyFileSync(path.join(from, rel), tmp);
      fs.renameSync(tmp, dest);
      r.added.push(rel);
      r.addedBytes += fs.statSync(dest).size;
    }
    r.bytes += fs.statSync(dest).size;
  }
  return r;
}

/**
 * Proves the stores rebuild each image exactly as signed: casync extracts it from `stores` alone (it
 * checks every chunk against its id) and its sha256 must be the manifest's. A device fetching from
 * this store therefore gets what the vendor signed, or nothing.
 */
export async function checkRebuild(images: ChunkedImage[], stores: string[], work: string): Promise<void> {
  const store = stores.join(' and ');
  const storeArgs = stores.map((s, n) => `--${n ? 'extra-' : ''}store=${s}`);
  for (const i of images) {
    const out = path.join(work, `rebuilt-${i.slotClass}`);
    try {
      await run('casync', ['extract', ...storeArgs, i.indexFile, out], { maxBuffer: 16 * 1024 * 1024 });
    } catch (err) {
      const e = err as { code?: string; stderr?: string };
      if (e.code === 'ENOENT') throw new Error('casync is not installed: publish rebuilds each image from the chunk store with it before upload (Debian: apt-get install casync)', { cause: err });
      throw new BadBundle(
        `casync could not rebuild ${i.filename} from ${store}: ${String(e.stderr ?? '')
          .trim()
          .split('\n')
          .at(-1)}`,
        { cause: err },
      );
    }
    const h = crypto.createHash('sha256');
    for await (const chunk of fs.createReadStream(out)) h.update(chunk as Buffer);
    const sha256 = h.digest('hex');
    fs.rmSync(out, { force: true });
    if (sha256 !== i.sha256) throw new BadBundle(`${i.filename} rebuilds from ${store} to sha256 ${sha256}, not the manifest's ${i.sha256}: these chunks do not belong to this bundle`);
  }
}
