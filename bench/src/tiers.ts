/**
 * Storage per retention tier, measured on the local stack's real influxd: a day of device health
 * for N devices written to a tenant's raw bucket at the design's 30-second cadence, the tenant's
 * rollup task (as tenant-sync provisions it) run for each 5-minute period of that day, and the day
 * exported to the cold tier. Prints bytes per device-day in each tier (influxd's data and WAL for
 * the bucket's database, as bench:capacity counts the hot tier; the cold archive's gzip'd line
 * protocol), their ratios to raw, and the CPU the rollup runs took per device-day.
 *
 *   npm run bench:tiers [-- --devices 200]
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { InfluxClient, loadConfig, tenantBucket } from '@cdm/common';
import { fleetHistory, healthPoint } from '@cdm/device';
import { bridgeEnv, defaultContext, up } from '@cdm/stack';
import { exportDay } from '../../tenant-sync/src/cold-archive.ts';
import { tenantSyncConfig } from '../../tenant-sync/src/config.ts';
import { tenant } from '../../tenant-sync/src/fixtures.test-helpers.ts';
import { InfluxSync } from '../../tenant-sync/src/influx-sync.ts';
import { rollupBucket, rollupTaskName } from '../../tenant-sync/src/tiers.ts';
import { TokenStore } from '../../tenant-sync/src/token-store.ts';
import { bucketBytes, tsmBytes, walBytes } from './influx-disk.ts';
import { cpuSince, stackCpu } from './proc-cpu.ts';

const arg = (name: string, dflt: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1]! : dflt;
};
const DEVICES = Number(arg('devices', '200'));
const DAY = 86_400_000;
const FIVE_MIN = 300_000;
const say = (l: string) => process.stdout.write(`${l}\n`);
const f = (n: number, d = 1) => n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });

async function main() {
  const ctx = defaultContext(() => {});
  say('local stack: starting or reusing…');
  const stack = await up(ctx);
  const config = loadConfig(tenantSyncConfig, bridgeEnv(stack, ctx.stateDir)['tenant-sync']);
  const influx = new InfluxClient({ baseURL: config.INFLUXDB_URL, token: config.INFLUXDB_TOKEN });
  const cdmId = `bench-tiers-${crypto.randomBytes(3).toString('hex')}`;
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'cdm-bench-tiers-'));
  const sync = new InfluxSync({ influx, org: config.INFLUXDB_ORG, store: new TokenStore(work), retentionSeconds: 0, rollup: { every: '5m', retentionSeconds: 365 * 86400 } });
  await sync.apply(cdmId, sync.plan([tenant(cdmId, cdmId)], await sync.read(new Set([cdmId])), new Set()));
  const org = (await influx.findOrg(config.INFLUXDB_ORG))!;
  const raw = (await influx.findBucket(org.id, tenantBucket(cdmId)))!;
  const rollup = (await influx.findBucket(org.id, rollupBucket(cdmId)))!;
  const task = (await influx.findTask(org.id, rollupTaskName(cdmId)))!;
  const bytes = (bucketId: string) => bucketBytes(ctx.stateDir, bucketId);
  try {
    // A complete UTC day, three days back (the rollup's periods and the cold export both see it whole).
    const day = new Date(Math.floor(Date.now() / DAY) * DAY - 3 * DAY);
    const from = day.getTime();
    const ids = Array.from({ length: DEVICES }, (_, i) => `${cdmId}-${String(i).padStart(4, '0')}`);
    say(`writing a day of health for ${DEVICES} devices at 30 s (${f((DEVICES * DAY) / 30_000, 0)} points)…`);
    let points = 0;
    for (let t = from; t < from + DAY; t += 2 * 3_600_000) {
      const batch = [...fleetHistory({ ids, seed: 11, from: t - 30_000, to: t + 2 * 3_600_000 - 30_000, windowMs: 30_000, samplesPerWindow: 30 })].flatMap((w) =>
        w.map((p) => healthPoint(cdmId, p.id, p.values, p.t)),
      );
      for (let i = 0; i < batch.length; i += 20_000) await influx.write(config.INFLUXDB_ORG, raw.name, batch.slice(i, i + 20_000));
      points += batch.length;
      process.stderr.write(`\r  ${new Date(t + 2 * 3_600_000).toISOString().slice(11, 16)} ${points} points`);
    }
    process.stderr.write('\n');
    say('rollup task: one run per 5-minute period of the day (288)…');
    const cpu0 = stackCpu();
    const t0 = Date.now();
    for (let k = 1; k <= DAY / FIVE_MIN; k++) {
      const run = await influx.runTask(task.id, new Date(from + k * FIVE_MIN + 60_000));
      if (run.status !== 'success') throw new Error(`rollup run ${k} failed: ${JSON.stringify(run.log)}`);
      if (k % 48 === 0) process.stderr.write(`\r  ${k}/288 runs`);
    }
    process.stderr.write('\n');
    const rollupS = (Date.now() - t0) / 1000;
    const rollupCpu = cpuSince(cpu0).filter(([n]) => n === 'InfluxDB 1.8' || n.startsWith('InfluxDB 2'));
    say('cold tier: exporting the day…');
    const t1 = Date.now();
    const cold = await exportDay(
      { influx, org: config.INFLUXDB_ORG, onProgress: (n) => n % 1_000_000 === 0 && process.stderr.write(`\r  ${n} lines`) },
      { bucket: raw.name, day: day.toISOString().slice(0, 10), dir: work },
    );
    const exportS = (Date.now() - t1) / 1000;
    process.stderr.write('\n');
    // Both tiers as influxd keeps them at rest: compressed TSM once the cache is written down (the
    // stack's influxd does it 15 s after the last write), the WAL empty.
    for (const deadline = Date.now() + 120_000; Date.now() < deadline && (walBytes(ctx.stateDir, raw.id) > 0 || walBytes(ctx.stateDir, rollup.id) > 0);) await new Promise((r) => setTimeout(r, 2000));
    const rawBytes = tsmBytes(ctx.stateDir, raw.id);
    const rollupBytes = tsmBytes(ctx.stateDir, rollup.id);
    const rawIndex = bytes(raw.id) - rawBytes;
    const rollupIndex = bytes(rollup.id) - rollupBytes;
    const perDev = (b: number) => b / DEVICES;
    say('');
    say(`| tier | what | bytes per device-day (compressed) | ratio to raw |`);
    say(`|---|---|---|---|`);
    say(`| raw (hot) | device_health every 30 s, 11 fields (${points} points) | ${f(perDev(rawBytes) / 1024)} KiB | 1.000 |`);
    say(`| rollup (warm) | 5-minute aggregates, same fields | ${f(perDev(rollupBytes) / 1024)} KiB | ${f(rollupBytes / rawBytes, 3)} |`);
    say(`| cold | the day as gzip'd line protocol (${cold.lines} lines) | ${f(perDev(cold.bytes) / 1024)} KiB | ${f(cold.bytes / rawBytes, 3)} |`);
    say('');
    say(
      `rollup runs: 288 in ${f(rollupS)} s; CPU ${rollupCpu.map(([n, s]) => `${n} ${f(s, 2)} s`).join(', ')} = ${f((rollupCpu.reduce((a, [, s]) => a + s, 0) / DEVICES) * 1000, 2)} ms per device-day`,
    );
    say(`cold export: ${cold.lines} lines in ${f(exportS)} s (${f(cold.lines / exportS, 0)} lines/s, ${f((exportS / DEVICES) * 1000, 1)} ms per device-day)`);
    say(`WAL left: raw ${walBytes(ctx.stateDir, raw.id)} B, rollup ${walBytes(ctx.stateDir, rollup.id)} B`);
    say(
      `bytes: the TSM files of each bucket's database once its cache was written down; besides them influxd keeps per database a series index and file, here ${f(rawIndex / 2 ** 20)} MiB (raw) and ${f(rollupIndex / 2 ** 20)} MiB (rollup), which grow with series (devices × fields), not with days`,
    );
  } finally {
    await sync.apply(cdmId, [
      { kind: 'delete-rollup-task', cdmId, taskId: task.id },
      { kind: 'delete-rollup-bucket', cdmId, bucketId: rollup.id },
      { kind: 'delete-bucket', cdmId, bucketId: raw.id },
    ]);
    fs.rmSync(work, { recursive: true, force: true });
  }
}

main().catch((err: Error) => {
  process.stderr.write(`bench:tiers failed: ${err.stack ?? err.message}\n`);
  process.exit(1);
});
