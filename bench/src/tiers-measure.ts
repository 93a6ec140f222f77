import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { InfluxClient, loadConfig, parseDuration, tenantBucket } from '@cdm/common';
import { fleetHistory, healthPoint } from '@cdm/device';
import { bridgeEnv, type defaultContext, type up } from '@cdm/stack';
import { exportDay } from '../../tenant-sync/src/cold-archive.ts';
import { tenantSyncConfig } from '../../tenant-sync/src/config.ts';
import { tenant } from '../../tenant-sync/src/fixtures.test-helpers.ts';
import { InfluxSync } from '../../tenant-sync/src/influx-sync.ts';
import { rollupBucket, rollupTaskName } from '../../tenant-sync/src/tiers.ts';
import { TokenStore } from '../../tenant-sync/src/token-store.ts';
import { bucketBytes, tsmBytes, walBytes } from './influx-disk.ts';
import { cpuSince, stackCpu } from './proc-cpu.ts';

const DAY = 86_400_000;
const INFLUXD = 'InfluxDB 1.8';
const FAKE = 'InfluxDB 2 API (contract fake)';

/** A day of the rollup task at one run interval: its runs, their wall time and CPU per component. */
export interface RollupDay {
  runEvery: string;
  runs: number;
  wallS: number;
  /** influxd's CPU seconds: the aggregation (counted). */
  influxdS: number;
  /** The InfluxDB 2 fake's: it writes the rows back, InfluxDB 2 would do it inside (not counted). */
  fakeS: number;
}

/** What a day of one tenant's health costs in each tier, measured on the local stack's influxd. */
export interface TiersRun {
  devices: number;
  points: number;
  /** Bytes of each tier at rest (TSM once the WAL is written down; the cold archive's gzip). */
  rawBytes: number;
  rollupBytes: number;
  coldBytes: number;
  coldLines: number;
  /** Series index and file influxd keeps per database: per series, not per day. */
  rawIndexBytes: number;
  rollupIndexBytes: number;
  /** In the order asked; the first is the one whose rollup bucket is measured. */
  rollups: RollupDay[];
  export: { wallS: number; selfS: number; influxdS: number };
}

export interface TiersOptions {
  devices: number;
  /** Run intervals of the rollup task to measure, each over the same day (5-minute periods). */
  runEvery: string[];
  progress: (line: string) => void;
}

/**
 * A complete UTC day (three days back) of `device_health` at the design's 30-second cadence for
 * `devices` devices in a fresh tenant's raw bucket, its rollup task as tenant-sync provisions it run
 * for every interval of that day (backfilled: each run's `now` set to then), the day exported to
 * the cold tier; the tenant is deleted afterwards.
 */
export async function measureTiers(stack: Awaited<ReturnType<typeof up>>, ctx: ReturnType<typeof defaultContext>, o: TiersOptions): Promise<TiersRun> {
  const config = loadConfig(tenantSyncConfig, bridgeEnv(stack, ctx.stateDir)['tenant-sync']);
  // The fake runs a task's run inside the request (InfluxDB 2 queues it): an hour of 200 devices takes longer than the default 10 s.
  const influx = new InfluxClient({ baseURL: config.INFLUXDB_URL, token: config.INFLUXDB_TOKEN, timeoutMs: 600_000 });
  const cdmId = `bench-tiers-${crypto.randomBytes(3).toString('hex')}`;
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'cdm-bench-tiers-'));
  const syncFor = (runEvery: string) =>
    new InfluxSync({ influx, org: config.INFLUXDB_ORG, store: new TokenStore(work), retentionSeconds: 0, rollup: { every: '5m', runEvery, retentionSeconds: 365 * 86400 } });
  const provision = async (sync: InfluxSync) => sync.apply(cdmId, sync.plan([tenant(cdmId, cdmId)], await sync.read(new Set([cdmId])), new Set()));
  const first = syncFor(o.runEvery[0]!);
  await provision(first);
  const org = (await influx.findOrg(config.INFLUXDB_ORG))!;
  const raw = (await influx.findBucket(org.id, tenantBucket(cdmId)))!;
  const rollup = (await influx.findBucket(org.id, rollupBucket(cdmId)))!;
  const settled = async () => {
    // Both tiers as influxd keeps them at rest: compressed TSM once the cache is written down (the
    // stack's influxd does it 15 s after the last write), the WAL empty.
    for (const deadline = Date.now() + 120_000; Date.now() < deadline && (walBytes(ctx.stateDir, raw.id) > 0 || walBytes(ctx.stateDir, rollup.id) > 0);) await new Promise((r) => setTimeout(r, 2000));
  };
  try {
    const from = Math.floor(Date.now() / DAY) * DAY - 3 * DAY;
    const ids = Array.from({ length: o.devices }, (_, i) => `${cdmId}-${String(i).padStart(4, '0')}`);
    let points = 0;
    for (let t = from; t < from + DAY; t += 2 * 3_600_000) {
      const batch = [...fleetHistory({ ids, seed: 11, from: t - 30_000, to: t + 2 * 3_600_000 - 30_000, windowMs: 30_000, samplesPerWindow: 30 })].flatMap((w) =>
        w.map((p) => healthPoint(cdmId, p.id, p.values, p.t)),
      );
      for (let i = 0; i < batch.length; i += 20_000) await influx.write(config.INFLUXDB_ORG, raw.name, batch.slice(i, i + 20_000));
      points += batch.length;
      o.progress(`raw day: ${new Date(t + 2 * 3_600_000).toISOString().slice(11, 16)}, ${points} points`);
    }
    const rollups: RollupDay[] = [];
    let rollupBytes = 0;
    for (const runEvery of o.runEvery) {
      if (rollups.length) await provision(syncFor(runEvery)); // rewrites the task's script
      const task = (await influx.findTask(org.id, rollupTaskName(cdmId)))!;
      const step = parseDuration(runEvery);
      const cpu0 = stackCpu();
      const t0 = Date.now();
      for (let k = 1; k <= DAY / step; k++) {
        const run = await influx.runTask(task.id, new Date(from + k * step + 60_000));
        if (run.status !== 'success') throw new Error(`rollup run ${k} failed: ${JSON.stringify(run.log)}`);
        if (k % Math.max(1, DAY / step / 24) === 0) o.progress(`rollup every ${runEvery}: ${k}/${DAY / step} runs`);
      }
      const cpu = Object.fromEntries(cpuSince(cpu0));
      rollups.push({ runEvery, runs: DAY / step, wallS: (Date.now() - t0) / 1000, influxdS: cpu[INFLUXD] ?? 0, fakeS: cpu[FAKE] ?? 0 });
      if (rollups.length === 1) {
        await settled();
        rollupBytes = tsmBytes(ctx.stateDir, rollup.id);
      }
    }
    const cpu0 = stackCpu();
    const self0 = process.cpuUsage();
    const t1 = Date.now();
    const cold = await exportDay(
      { influx, org: config.INFLUXDB_ORG, onProgress: (n) => n % 500_000 === 0 && o.progress(`cold export: ${n} lines`) },
      { bucket: raw.name, day: new Date(from).toISOString().slice(0, 10), dir: work },
    );
    const self = process.cpuUsage(self0);
    const exportCpu = Object.fromEntries(cpuSince(cpu0));
    const exp = { wallS: (Date.now() - t1) / 1000, selfS: (self.user + self.system) / 1e6, influxdS: exportCpu[INFLUXD] ?? 0 };
    await settled();
    const rawBytes = tsmBytes(ctx.stateDir, raw.id);
    return {
      devices: o.devices,
      points,
      rawBytes,
      rollupBytes,
      coldBytes: cold.bytes,
      coldLines: cold.lines,
      rawIndexBytes: bucketBytes(ctx.stateDir, raw.id) - rawBytes,
      rollupIndexBytes: bucketBytes(ctx.stateDir, rollup.id) - tsmBytes(ctx.stateDir, rollup.id),
      rollups,
      export: exp,
    };
  } finally {
    const task = await influx.findTask(org.id, rollupTaskName(cdmId));
    await first.apply(cdmId, [
      ...(task ? [{ kind: 'delete-rollup-task' as const, cdmId, taskId: task.id }] : []),
      { kind: 'delete-rollup-bucket', cdmId, bucketId: rollup.id },
      { kind: 'delete-bucket', cdmId, bucketId: raw.id },
    ]);
    fs.rmSync(work, { recursive: true, force: true });
  }
}

/** CPU seconds per device-day of a rollup day (influxd's aggregation; the fake's write-back not counted). */
export const rollupCpuPerDeviceDay = (t: TiersRun, r: RollupDay = t.rollups[0]!) => r.influxdS / t.devices;
/** CPU seconds per device-day of the cold export: tenant-sync's process and influxd's query. */
export const exportCpuPerDeviceDay = (t: TiersRun) => (t.export.selfS + t.export.influxdS) / t.devices;

/**
 * The rollup task's influxd CPU per day as a line through the runs at the first run interval: a
 * part per tenant (each tenant has its own task, whose every run has a cost whatever its devices)
 * and a part per device. With one run, or when the runs put the tenant part below zero, it is all
 * per device.
 */
export function rollupFit(runs: readonly TiersRun[]): { runEvery: string; perTenantDayS: number; perDeviceDayS: number } {
  const sorted = [...runs].sort((a, b) => a.devices - b.devices);
  const [a, b] = [sorted[0]!, sorted.at(-1)!];
  const runEvery = b.rollups[0]!.runEvery;
  const day = (t: TiersRun) => t.rollups[0]!.influxdS;
  if (a === b || sorted.some((t) => t.rollups[0]!.runEvery !== runEvery)) return { runEvery, perTenantDayS: 0, perDeviceDayS: day(b) / b.devices };
  const slope = (day(b) - day(a)) / (b.devices - a.devices);
  const intercept = day(a) - slope * a.devices;
  return intercept > 0 ? { runEvery, perTenantDayS: intercept, perDeviceDayS: slope } : { runEvery, perTenantDayS: 0, perDeviceDayS: day(b) / b.devices };
}
