/**
 * Storage and work per retention tier, measured on the local stack's real influxd: a day of device
 * health for N devices written to a tenant's raw bucket at the design's 30-second cadence, the
 * tenant's rollup task (as tenant-sync provisions it) run over that day at each run interval asked —
 * hourly (the default) and every period (the floor it is compared with, measured in the same run) —
 * and the day exported to the cold tier. Prints (and with --write, writes docs/capacity-tiers.md)
 * bytes per device-day in each tier, their ratios to raw, and the CPU per device-day of the rollups
 * and the export.
 *
 *   npm run bench:tiers [-- --devices 50,200 --run-every 1h,5m --write]
 */
import fs from 'node:fs';
import { defaultContext, repoDir, up } from '@cdm/stack';
import path from 'node:path';
import { exportCpuPerDeviceDay, measureTiers, rollupCpuPerDeviceDay, rollupFit, type TiersRun } from './tiers-measure.ts';

const arg = (name: string, dflt: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1]! : dflt;
};
const f = (n: number, d = 1) => n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });

/** The tables of docs/capacity-tiers.md from one or more runs (bytes from the largest). */
export function tiersReport(runs: readonly TiersRun[], command: string): string {
  const sorted = [...runs].sort((a, b) => a.devices - b.devices);
  const t = sorted.at(-1)!;
  const perDev = (b: number) => b / t.devices;
  const fit = rollupFit(sorted);
  const floor = sorted.flatMap((r) => r.rollups.slice(1).map((x) => ({ run: r, x })))[0];
  const lines = [
    '# Retention tiers: storage and work per device-day',
    '',
    `From \`${command}\` on ${new Date().toISOString().slice(0, 10)}, this machine, the local stack's influxd 1.8 behind the InfluxDB 2 fake: a UTC day of \`device_health\` for ${sorted.map((r) => r.devices).join(' and for ')} devices written to a tenant's raw bucket at the design's 30-second cadence (11 fields), the tenant's rollup task as tenant-sync provisions it (5-minute periods) run over that day, the day exported to the cold tier.`,
    '',
    `| tier | what (${t.devices} devices, ${t.points.toLocaleString('en-US')} points) | bytes per device-day (compressed) | ratio to raw |`,
    '|---|---|---|---|',
    `| raw (hot) | device_health every 30 s, 11 fields | ${f(perDev(t.rawBytes) / 1024)} KiB | 1.000 |`,
    `| rollup (warm) | 5-minute aggregates, same fields | ${f(perDev(t.rollupBytes) / 1024)} KiB | ${f(t.rollupBytes / t.rawBytes, 3)} |`,
    `| cold | the day as gzip'd line protocol (${t.coldLines.toLocaleString('en-US')} lines, a point's fields on a line) | ${f(perDev(t.coldBytes) / 1024)} KiB | ${f(t.coldBytes / t.rawBytes, 3)} |`,
    '',
    `Bytes are the TSM files of each bucket's database once influxd has written its cache down (the stack's influxd does it 15 s after the last write; the WAL was empty when measured). Besides them influxd keeps per database a series index and file — here ${f(t.rawIndexBytes / 2 ** 20)} MiB (raw) and ${f(t.rollupIndexBytes / 2 ** 20)} MiB (rollup), mostly preallocated — which grow with series (devices × fields), not with days. The cold archive (a line per point, every field on it) is ${t.coldBytes > t.rawBytes ? 'larger than the raw tier: TSM compresses regular timestamps and slowly moving values better than gzip does line protocol' : 'smaller than the raw tier'}; it costs nothing in InfluxDB and restores exactly (\`tenant-sync restore\`).`,
    '',
    'Work (CPU seconds; the InfluxDB 2 fake writes the rollup rows back, which InfluxDB 2 does inside: listed, not counted):',
    '',
    '| job | devices | runs | wall s | influxd CPU s | fake CPU s | CPU-s per device-day |',
    '|---|---|---|---|---|---|---|',
    ...sorted.flatMap((r) =>
      r.rollups.map(
        (x, i) =>
          `| rollup task, run every ${x.runEvery}${i === 0 ? ' (ROLLUP_RUN_EVERY default)' : ''} | ${r.devices} | ${x.runs} | ${f(x.wallS)} | ${f(x.influxdS, 2)} | ${f(x.fakeS, 2)} | ${f(rollupCpuPerDeviceDay(r, x), 3)} |`,
      ),
    ),
    ...sorted.map(
      (r) =>
        `| cold export of the day: tenant-sync's process + influxd | ${r.devices} | 1 | ${f(r.export.wallS)} | ${f(r.export.influxdS, 2)} | | ${f(exportCpuPerDeviceDay(r), 3)} (${f(r.export.selfS, 2)} s in tenant-sync) |`,
    ),
    '',
    `The rollup task's influxd CPU per day is ${fit.perTenantDayS ? `${f(fit.perTenantDayS, 1)} s per tenant + ${f(fit.perDeviceDayS, 3)} s per device` : `${f(fit.perDeviceDayS, 3)} s per device`} (run every ${fit.runEvery}${sorted.length > 1 ? `, the line through the runs at ${sorted.map((r) => r.devices).join(' and ')} devices` : ''}): each tenant has its own task, and each of its runs costs a part whatever the tenant's devices. On influxd 1.8 the cost is in the query engine, not the read: its Flux runs \`aggregateWindow\` itself, where InfluxDB 2 pushes it down to storage. So fewer, longer runs over the same 5-minute periods cost less${floor ? ` — run every ${floor.run.rollups[0]!.runEvery} against every ${floor.x.runEvery} at ${floor.run.devices} devices: ${f(floor.x.influxdS / floor.run.rollups[0]!.influxdS, 2)}× the CPU for the runs every ${floor.x.runEvery}` : ''}; the price is that the rollup tier lags by up to one run, which dashboards reading it only for ranges over 2 days do not show. Not measured on InfluxDB 2 (no package here).`,
    '',
    `The cold export is one read of the day, an hour per query, and line protocol written and gzip'd in tenant-sync's process, ${f((t.export.selfS / t.coldLines) * 1e6, 1)} µs of its CPU per point (line) at ${t.devices} devices: it grows with points, and runs once a day on the replica holding tenant-sync's lease.`,
    '',
  ];
  return lines.join('\n');
}

async function main() {
  const sizes = arg('devices', '200').split(',').map(Number);
  const runEvery = arg('run-every', '1h,5m').split(',');
  const ctx = defaultContext(() => {});
  process.stdout.write('local stack: starting or reusing…\n');
  const stack = await up(ctx);
  const runs: TiersRun[] = [];
  for (const devices of sizes) {
    process.stdout.write(`a day of ${devices} devices, rollups run every ${runEvery.join(' and every ')}, cold export…\n`);
    runs.push(await measureTiers(stack, ctx, { devices, runEvery, progress: (l) => process.stderr.write(`\r  ${l}\x1b[K`) }));
    process.stderr.write('\n');
  }
  const text = tiersReport(runs, `npm run bench:tiers -- --devices ${sizes.join(',')} --run-every ${runEvery.join(',')}${process.argv.includes('--write') ? ' --write' : ''}`);
  process.stdout.write(`\n${text}`);
  if (process.argv.includes('--write')) {
    fs.writeFileSync(path.join(repoDir, 'docs', 'capacity-tiers.md'), text);
    process.stdout.write('written to docs/capacity-tiers.md\n');
  }
}

if (process.argv[1]?.endsWith('tiers.ts'))
  main().then(
    () => process.exit(0),
    (err: Error) => {
      process.stderr.write(`bench:tiers failed: ${err.stack ?? err.message}\n`);
      process.exit(1);
    },
  );
