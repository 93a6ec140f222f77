import crypto from 'node:crypto';
import fs from 'node:fs';
import type { InfluxClient, Logger } from '@cdm/common';
import { archivePaths, exportDay } from './cold-archive.ts';
import { RAW_BUCKET } from './influx-sync.ts';

const DAY_MS = 86_400_000;

/**
 * Pure: the complete UTC days of the last `lookbackDays` (yesterday back) without an archive,
 * oldest first — the oldest are the ones about to leave the hot tier.
 */
export function daysToArchive(now: number, lookbackDays: number, archived: (day: string) => boolean): string[] {
  const today = Math.floor(now / DAY_MS) * DAY_MS;
  const days: string[] = [];
  for (let n = lookbackDays; n >= 1; n--) {
    const day = new Date(today - n * DAY_MS).toISOString().slice(0, 10);
    if (!archived(day)) days.push(day);
  }
  return days;
}

export interface ColdExportOptions {
  influx: InfluxClient;
  org: string;
  dir: string;
  /** How far back a pass looks for days not archived yet (the hot tier's retention, or a week). */
  lookbackDays: number;
  logger: Logger;
  now?: () => number;
  /** Which buckets to archive (default: every tenant's raw bucket; rollups derive from it). */
  isTenantBucket?: (name: string) => boolean;
}

export interface ColdExportResult {
  exported: { bucket: string; day: string; lines: number }[];
  failed: { bucket: string; day: string; error: string }[];
}

/**
 * The cold tier's daily pass: every complete day of every tenant bucket is exported once (a
 * manifest marks it done), so a day is in the cold tier long before the hot tier drops it; days
 * missed while the service was down are caught up, a failed one is retried next pass.
 */
export class ColdExport {
  constructor(private readonly o: ColdExportOptions) {}

  async pass(): Promise<ColdExportResult> {
    const log = this.o.logger.child({ run: crypto.randomBytes(4).toString('hex'), job: 'cold-export' });
    const r: ColdExportResult = { exported: [], failed: [] };
    const org = await this.o.influx.findOrg(this.o.org);
    if (!org) throw new Error(`InfluxDB has no organisation ${this.o.org}`);
    const tenantBucket = this.o.isTenantBucket ?? ((n: string) => RAW_BUCKET.test(n));
    const buckets = (await this.o.influx.listBuckets(org.id)).map((b) => b.name).filter(tenantBucket);
    for (const bucket of buckets.sort()) {
      const days = daysToArchive((this.o.now ?? Date.now)(), this.o.lookbackDays, (day) => fs.existsSync(archivePaths(this.o.dir, bucket, day).manifest));
      for (const day of days) {
        try {
          const e = await exportDay({ influx: this.o.influx, org: this.o.org }, { bucket, day, dir: this.o.dir });
          r.exported.push({ bucket, day, lines: e.lines });
          log.info({ bucket, day, lines: e.lines, bytes: e.bytes }, 'day exported to the cold tier');
        } catch (err) {
          r.failed.push({ bucket, day, error: (err as Error).message });
          log.warn({ bucket, day, err: (err as Error).message }, 'cold export failed; retried next pass');
        }
      }
    }
    return r;
  }
}
