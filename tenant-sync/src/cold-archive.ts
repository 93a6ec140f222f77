import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import zlib from 'node:zlib';
import type { InfluxClient } from '@cdm/common';

/**
 * Cold tier: a day of a tenant's bucket as gzip'd line protocol, with a manifest (line count,
 * sha256), so data leaving the hot tier can be kept on cheap storage and written back later.
 */
export interface ArchiveManifest {
  bucket: string;
  day: string;
  lines: number;
  sha256: string;
  exportedAt: string;
}

export interface ArchiveDeps {
  influx: InfluxClient;
  org: string;
  /** Lines so far, for long exports and restores. */
  onProgress?: (lines: number) => void;
}

export class ArchiveError extends Error {}

const DAY = /^\d{4}-\d\d-\d\d$/;
const BUCKET = /^[A-Za-z0-9._-]+$/;

/** `<dir>/<bucket>/<day>.lp.gz` and its manifest `<day>.json`. */
export const archivePaths = (dir: string, bucket: string, day: string) => ({ data: path.join(dir, bucket, `${day}.lp.gz`), manifest: path.join(dir, bucket, `${day}.json`) });

function dayRange(day: string): { start: string; stop: string } {
  const start = new Date(`${day}T00:00:00Z`);
  if (!DAY.test(day) || Number.isNaN(start.getTime()) || start.toISOString().slice(0, 10) !== day) throw new ArchiveError(`--day: "${day}" is not a date (YYYY-MM-DD)`);
  return { start: start.toISOString(), stop: new Date(start.getTime() + 86_400_000).toISOString() };
}

async function sha256Of(file: string): Promise<string> {
  const h = crypto.createHash('sha256');
  for await (const chunk of fs.createReadStream(file)) h.update(chunk as Buffer);
  return h.digest('hex');
}

/**
 * Streams the day [00:00, 24:00) UTC of `bucket` into the archive: temporary files renamed at the
 * end, data first and manifest last, so an interrupted export leaves no archive that looks whole.
 */
export async function exportDay(d: ArchiveDeps, o: { bucket: string; day: string; dir: string }): Promise<ArchiveManifest & { file: string; bytes: number }> {
  if (!BUCKET.test(o.bucket)) throw new ArchiveError(`bucket name ${JSON.stringify(o.bucket)} has characters a Flux string would need escaped`);
  const { start, stop } = dayRange(o.day);
  const paths = archivePaths(o.dir, o.bucket, o.day);
  fs.mkdirSync(path.dirname(paths.data), { recursive: true });
  const tmp = `${paths.data}.${process.pid}.tmp`;
  let lines = 0;
  async function* text() {
    // An hour per query: a day of a fleet is millions of rows, which one query would make influxd
    // gather before the first byte (measured: past the client's timeout for 200 devices).
    for (let h = Date.parse(start); h < Date.parse(stop); h += 3_600_000) {
      const [from, to] = [new Date(h).toISOString(), new Date(h + 3_600_000).toISOString()];
      // The filter keeps a point at the hour's end out: InfluxDB 1.8's Flux includes range's stop
      // (measured here; InfluxDB 2 excludes it), which would put it in two hours, or two archives.
      const flux = `from(bucket: "${o.bucket}") |> range(start: ${from}, stop: ${to}) |> filter(fn: (r) => r._time < ${to})`;
      // A point's fields on one line (InfluxClient.lines): a smaller archive, and less to gzip.
      for await (const line of d.influx.lines(d.org, flux)) {
        yield `${line}\n`;
        if (++lines % 50_000 === 0) d.onProgress?.(lines);
      }
    }
  }
  try {
    await pipeline(Readable.from(text()), zlib.createGzip({ level: 9 }), fs.createWriteStream(tmp));
    const manifest: ArchiveManifest = { bucket: o.bucket, day: o.day, lines, sha256: await sha256Of(tmp), exportedAt: new Date().toISOString() };
    fs.renameSync(tmp, paths.data);
    fs.writeFileSync(`${paths.manifest}.tmp`, `${JSON.stringify(manifest, null, 2)}\n`);
    fs.renameSync(`${paths.manifest}.tmp`, paths.manifest);
    return { ...manifest, file: paths.data, bytes: fs.statSync(paths.data).size };
  } finally {
    fs.rmSync(tmp, { force: true });
  }
}

/**
 * Writes an archived day back into `bucket` (the original by default), after checking the file
 * against its manifest. Points keep their series and nanosecond times, so restoring twice changes
 * nothing: InfluxDB keeps one value per series and time.
 */
export async function restoreDay(d: ArchiveDeps, o: { file: string; bucket?: string; batch?: number }): Promise<{ bucket: string; lines: number }> {
  const manifestFile = o.file.replace(/\.lp\.gz$/, '.json');
  if (!o.file.endsWith('.lp.gz') || !fs.existsSync(o.file) || !fs.existsSync(manifestFile)) throw new ArchiveError(`${o.file}: no archive there (expected <day>.lp.gz beside <day>.json)`);
  const manifest = JSON.parse(fs.readFileSync(manifestFile, 'utf8')) as ArchiveManifest;
  const sha256 = await sha256Of(o.file);
  if (sha256 !== manifest.sha256) throw new ArchiveError(`${o.file} has sha256 ${sha256}, its manifest says ${manifest.sha256}: the archive is damaged; nothing was written`);
  const bucket = o.bucket ?? manifest.bucket;
  const size = o.batch ?? 5000;
  let batch: string[] = [];
  let lines = 0;
  const flush = async () => {
    if (!batch.length) return;
    await d.influx.write(d.org, bucket, batch, 'ns');
    lines += batch.length;
    batch = [];
    d.onProgress?.(lines);
  };
  for await (const line of readline.createInterface({ input: fs.createReadStream(o.file).pipe(zlib.createGunzip()), crlfDelay: Infinity })) {
    if (!line) continue;
    batch.push(line);
    if (batch.length >= size) await flush();
  }
  await flush();
  if (lines !== manifest.lines) throw new ArchiveError(`${o.file} holds ${lines} lines, its manifest says ${manifest.lines}: the archive is incomplete`);
  return { bucket, lines };
}
