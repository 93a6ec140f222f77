/**
 * The cost model's measured inputs, and the tables of docs/capacity.md made from them (issue 16
 * item 2). On the local stack (real Mosquitto, influxd, hawkBit; the InfluxDB 2 API is a contract
 * fake in front of influxd, its CPU is reported but is not a cost of cdm):
 *
 * - telemetry at two fleet sizes, time compressed: each simulated device sends one MQTT message and
 *   one health point per second over mutual TLS; CPU seconds per message (broker) and per point
 *   (influxd), bytes on disk per point (influxd's data and WAL for the run's database);
 * - device polls of hawkBit's DDI API: CPU seconds per poll;
 * - fleet-monitor's pass (the bridge that reads every device every 5 min): its own CPU, and what
 *   it costs ThingsBoard (the device list with attributes) and influxd (health per bucket), per
 *   device, in the steady state (a pass after 5 more minutes of health);
 * - the stack's idle CPU (the fixed part).
 *
 * Per device-day at the design's rates (app data every 30 s, health every 5 min, a hawkBit poll
 * every 6 h) and stated unit prices, the cost per device and month at 1K–1M devices, and which
 * component needs a core of its own first. The per-device figures at the two sizes show whether a
 * component grows linearly.
 *
 *   npm run bench:capacity [-- --sizes 1000,3000 --duration 90s --polls 3000 --monitor 1000 --write]
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createLogger, HawkbitClient, HawkbitDdiClient, InfluxClient, loadConfig, mapLimit, tenantBucket, ThingsBoardClient, type EntityId } from '@cdm/common';
import { fleetHistory, healthPoint } from '@cdm/device';
import { composeFleetMonitor, fleetMonitorConfig } from '@cdm/fleet-monitor';
import { bridgeEnv, defaultContext, repoDir, tenantBucketFor, thingsboardTenant, up } from '@cdm/stack';
import type { Fleet } from '../../device/src/sim/fleet.ts';
import { runOptions } from '../../device/src/sim/options.ts';
import { runSimulation } from '../../device/src/sim/run.ts';
import { benchFleet } from './bench-fleet.ts';
import { bucketBytes } from './influx-disk.ts';
import { cpuSince, stackCpu } from './proc-cpu.ts';
import { tenantSyncEnv } from '../../tenant-sync/src/config.ts';
import { tiersReport } from './tiers.ts';
import { measureTiers, rollupFit, type TiersRun } from './tiers-measure.ts';

const arg = (name: string, dflt: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1]! : dflt;
};
const SIZES = arg('sizes', '1000,3000').split(',').map(Number);
const DURATION = arg('duration', '90s');
const POLLS = Number(arg('polls', '3000'));
const MONITOR_DEVICES = Number(arg('monitor', '1000'));
const TIERS_DEVICES = arg('tiers', '50,200').split(',').map(Number);
const COMMAND = `npm run bench:capacity -- --sizes ${SIZES.join(',')} --duration ${DURATION} --polls ${POLLS} --monitor ${MONITOR_DEVICES} --tiers ${TIERS_DEVICES} --write`;
const say = (l: string) => process.stdout.write(`${l}\n`);

/**
 * The design's rates, per device and day, and how long each tier keeps a day (tenant-sync's
 * README: raw 30 days, 5-minute rollups a year, the cold archive kept a year too). Tenants are
 * taken as a fleet of 1,000 devices each: the rollup task has a part per tenant.
 */
export const DESIGN = { appMessages: 2880, healthPoints: 288, polls: 4, monitorPasses: 288, hotDays: 30, rollupDays: 365, coldDays: 365, devicesPerTenant: 1000 } as const;
/** Stated unit prices (a mid-range public cloud): what the tables multiply by. */
export const PRICES = { vcpuHour: 0.04, gbMonth: 0.1, objectGbMonth: 0.02 } as const;
export const FLEETS = [1_000, 10_000, 100_000, 1_000_000] as const;

/** What one telemetry run measured. */
export interface TelemetryRun {
  devices: number;
  messages: number;
  points: number;
  wallS: number;
  cpuS: Record<string, number>;
  bytes: number;
}

/** Per device and day, from a telemetry run and the poll run (and the tiers run, when given). */
export interface PerDeviceDay {
  /** Per component: the sum of its jobs. */
  cpuS: Record<string, number>;
  jobs: { component: string; job: string; cpuS: number }[];
  /** CPU seconds per tenant-day (work whose cost goes with tenants, not devices). */
  perTenant: { component: string; job: string; cpuS: number }[];
  /** Bytes a device-day adds to each tier. */
  bytes: { hot: number; rollup: number; cold: number };
}

/**
 * Bytes one more point costs: between two runs' databases (a database has a fixed part — its WAL
 * segment, index and file headers — that a single run would spread over its points). Not compacted:
 * influxd compacts cold shards hours later, which this run does not wait for.
 */
export function marginalBytesPerPoint(runs: readonly TelemetryRun[]): number {
  if (runs.length < 2) return runs[0]!.bytes / runs[0]!.points;
  const [a, b] = [runs[0]!, runs.at(-1)!];
  return (b.bytes - a.bytes) / (b.points - a.points);
}

/** What fleet-monitor's steady-state pass cost over a fleet: CPU seconds per component. */
export interface MonitorRun {
  devices: number;
  cpuS: Record<string, number>;
  wallS: number;
}

/**
 * The design's day for one device from what was measured. With a tiers run, the tiers' bytes are
 * influxd's compressed files at rest (a point of the raw tier taken for every app message and
 * health point) and the rollup task and cold export are jobs; without one, the telemetry run's
 * bytes (uncompacted) are the hot tier and the other tiers are not counted.
 */
export function perDeviceDay(t: TelemetryRun, pollCpuS: number, bytesPerPoint = t.bytes / t.points, monitor?: MonitorRun, tiersRuns: readonly TiersRun[] = []): PerDeviceDay {
  const tiers = [...tiersRuns].sort((a, b) => a.devices - b.devices).at(-1);
  const fit = tiers && rollupFit(tiersRuns);
  const perTenant: PerDeviceDay['perTenant'] = fit?.perTenantDayS ? [{ component: 'InfluxDB 1.8', job: `rollup task (run every ${fit.runEvery}), per tenant`, cpuS: fit.perTenantDayS }] : [];
  const cpu = (name: string) => t.cpuS[name] ?? 0;
  const perPass = (name: string) => ((monitor!.cpuS[name] ?? 0) / monitor!.devices) * DESIGN.monitorPasses;
  const points = DESIGN.appMessages + DESIGN.healthPoints;
  const jobs: PerDeviceDay['jobs'] = [
    { component: 'Mosquitto', job: 'app messages', cpuS: (cpu('Mosquitto') / t.messages) * DESIGN.appMessages },
    // Every app message and health point becomes a point in the time series.
    { component: 'InfluxDB 1.8', job: 'ingestion', cpuS: (cpu('InfluxDB 1.8') / t.points) * points },
    { component: 'hawkBit', job: 'DDI polls', cpuS: pollCpuS * DESIGN.polls },
  ];
  if (monitor)
    jobs.push(
      { component: 'InfluxDB 1.8', job: "fleet-monitor's reads", cpuS: perPass('InfluxDB 1.8') },
      { component: 'ThingsBoard', job: "fleet-monitor's reads", cpuS: perPass('ThingsBoard') },
      { component: 'fleet-monitor', job: 'passes', cpuS: perPass(MONITOR_SELF) },
    );
  if (tiers)
    jobs.push(
      { component: 'InfluxDB 1.8', job: `rollup task (run every ${fit!.runEvery})${perTenant.length ? ', per device' : ''}`, cpuS: fit!.perDeviceDayS },
      { component: 'InfluxDB 1.8', job: "cold export's read", cpuS: tiers.export.influxdS / tiers.devices },
      { component: 'tenant-sync', job: 'cold export', cpuS: tiers.export.selfS / tiers.devices },
    );
  const cpuS: Record<string, number> = {};
  for (const j of jobs) cpuS[j.component] = (cpuS[j.component] ?? 0) + j.cpuS;
  const bytes = tiers
    ? { hot: (tiers.rawBytes / tiers.points) * points, rollup: tiers.rollupBytes / tiers.devices, cold: (tiers.coldBytes / tiers.points) * points }
    : { hot: bytesPerPoint * points, rollup: 0, cold: 0 };
  return { cpuS, jobs, perTenant, bytes };
}

export const tenantsAt = (devices: number) => Math.ceil(devices / DESIGN.devicesPerTenant);

/** Bytes a device holds in each tier once every tier is full (a day's bytes times the days kept). */
export const heldBytes = (per: PerDeviceDay) => ({ hot: per.bytes.hot * DESIGN.hotDays, rollup: per.bytes.rollup * DESIGN.rollupDays, cold: per.bytes.cold * DESIGN.coldDays });

/** Cores each component needs at a fleet size: its fixed (idle) part, its part per tenant and its part per device. */
export function coresAt(devices: number, per: PerDeviceDay, idleCores: Record<string, number>): Record<string, number> {
  const names = new Set([...Object.keys(per.cpuS), ...Object.keys(idleCores)]);
  const perTenant = (n: string) => per.perTenant.filter((j) => j.component === n).reduce((a, j) => a + j.cpuS, 0);
  return Object.fromEntries([...names].map((n) => [n, (idleCores[n] ?? 0) + (perTenant(n) * tenantsAt(devices) + (per.cpuS[n] ?? 0) * devices) / 86_400]));
}

/** Cost per device and month: CPU at the vCPU price, InfluxDB's tiers on disk, the cold archive in object storage. */
export function monthlyPerDevice(devices: number, per: PerDeviceDay, idleCores: Record<string, number>): { cpu: number; storage: number; total: number } {
  const cores = Object.values(coresAt(devices, per, idleCores)).reduce((a, b) => a + b, 0);
  const cpu = (cores * 24 * 30 * PRICES.vcpuHour) / devices;
  const held = heldBytes(per);
  const storage = ((held.hot + held.rollup) / 1e9) * PRICES.gbMonth + (held.cold / 1e9) * PRICES.objectGbMonth;
  return { cpu, storage, total: cpu + storage };
}

async function telemetry(stack: Awaited<ReturnType<typeof up>>, ctx: ReturnType<typeof defaultContext>, size: number): Promise<TelemetryRun> {
  const fleetPlace = await benchFleet(stack, ctx.stateDir, { prefix: 'capacity', size, progressEvery: 500 });
  const bytes = () => bucketBytes(ctx.stateDir, fleetPlace.bucket.id);
  try {
    const o = runOptions.parse({ devices: String(size), duration: DURATION, window: '1s', certs: fleetPlace.dir });
    const targets = fleetPlace.targets;
    const cpu0 = stackCpu();
    const t0 = Date.now();
    let fleet: Fleet | undefined;
    const s = await runSimulation(o, targets, (l) => process.stderr.write(`  ${size}: ${l}\n`), { onFleet: (f) => (fleet = f) });
    const wallS = (Date.now() - t0) / 1000;
    const cpu = Object.fromEntries(cpuSince(cpu0));
    // Let influxd flush its cache to TSM files: the bytes a point takes once written down.
    await new Promise((r) => setTimeout(r, 15_000));
    const points = [...fleet!.pointsByDevice().values()].reduce((a, b) => a + b, 0);
    return { devices: size, messages: s.messages, points, wallS, cpuS: cpu, bytes: bytes() };
  } finally {
    await fleetPlace.remove();
  }
}

const MONITOR_SELF = 'fleet-monitor';

/**
 * fleet-monitor over `size` devices registered in ThingsBoard (site and region attributes, as
 * fleet-api sets them) with six hours of health in their tenant's bucket, as its e2e test builds
 * them: a first pass (reads the look-back), then 5 more minutes of health and the pass measured —
 * the one every 5 minutes costs in the steady state. The monitor runs in this process: its CPU is
 * this process's during the pass.
 */
async function monitorCost(stack: Awaited<ReturnType<typeof up>>, stateDir: string, size: number): Promise<MonitorRun> {
  const MIN = 60_000;
  const cdmId = `capacity-monitor-${crypto.randomBytes(3).toString('hex')}`;
  const config = loadConfig(fleetMonitorConfig, {
    ...bridgeEnv(stack, stateDir)['fleet-api'],
    INFLUXDB_URL: stack.influxdb2!.url,
    INFLUXDB_TOKEN: stack.influxdb2!.credentials!.token!,
    LOOKBACK: '6h',
  });
  const tb = new ThingsBoardClient({ baseURL: config.THINGSBOARD_URL, username: config.THINGSBOARD_USERNAME, password: config.THINGSBOARD_PASSWORD });
  const influx = new InfluxClient({ baseURL: config.INFLUXDB_URL, token: config.INFLUXDB_TOKEN });
  const { tbTenantId, as } = await thingsboardTenant(tb, cdmId);
  const bucket = await tenantBucketFor(influx, config.INFLUXDB_ORG, cdmId);
  try {
    const ids = Array.from({ length: size }, (_, i) => `${cdmId}-${String(i).padStart(5, '0')}`);
    await mapLimit([...ids.entries()], 16, async ([i, id]) => {
      const d = await as.saveDevice({ name: id, type: 'default' });
      await as.saveAttributes({ id: d.id!.id, entityType: 'DEVICE' } as EntityId, 'SERVER_SCOPE', { site: `site-${i % 20}`, region: `region-${i % 4}` });
      if ((i + 1) % 250 === 0) process.stderr.write(`\r  ${i + 1}/${size} devices registered`);
    });
    process.stderr.write('\n');
    const now = Date.now();
    const write = async (from: number, to: number) => {
      const points = [...fleetHistory({ ids, seed: 7, from, to, windowMs: 5 * MIN, samplesPerWindow: 60 })].flatMap((w) => w.map((p) => healthPoint(cdmId, p.id, p.values, p.t)));
      for (let i = 0; i < points.length; i += 20_000) await influx.write(config.INFLUXDB_ORG, tenantBucket(cdmId), points.slice(i, i + 20_000));
    };
    await write(now - 6 * 60 * MIN, now - 5 * MIN);
    const monitor = composeFleetMonitor(config, createLogger('capacity', { level: 'silent' }), { tenants: { all: async () => [{ cdmId, name: cdmId, disabled: false }] } }).monitor;
    await monitor.pass(); // the first pass reads the whole look-back
    await write(now - 5 * MIN, now);
    await new Promise((r) => setTimeout(r, 5000)); // influxd answers a fresh write's last() late under load (see the monitor e2e)
    const cpu0 = stackCpu();
    const self0 = process.cpuUsage();
    const t0 = Date.now();
    const pass = await monitor.pass();
    const wallS = (Date.now() - t0) / 1000;
    const self = process.cpuUsage(self0);
    if (pass.devices !== size || pass.failed) throw new Error(`fleet-monitor pass saw ${pass.devices} of ${size} devices, ${pass.failed} failed`);
    const cpuS = Object.fromEntries(cpuSince(cpu0).filter(([n]) => !n.startsWith('this process')));
    return { devices: size, wallS, cpuS: { ...cpuS, [MONITOR_SELF]: (self.user + self.system) / 1e6 } };
  } finally {
    await tb.deleteTenant(tbTenantId).catch(() => undefined);
    await influx.deleteBucket(bucket.id).catch(() => undefined);
  }
}

/** CPU seconds hawkBit spends per DDI poll (target-token authentication, no deployment waiting). */
async function pollCost(stack: Awaited<ReturnType<typeof up>>): Promise<number> {
  const hb = stack.hawkbit!;
  const hawkbit = new HawkbitClient({ baseURL: hb.url, username: hb.credentials!.username!, password: hb.credentials!.password! });
  await hawkbit.setConfig('authentication.targettoken.enabled', true);
  const run = crypto.randomBytes(3).toString('hex');
  const targets = await hawkbit.createTargets(Array.from({ length: 100 }, (_, i) => ({ controllerId: `cap-${run}-${i}`, name: `cap-${run}-${i}` })));
  try {
    const ddi = targets.map((t) => new HawkbitDdiClient({ baseURL: hb.url, controllerId: t.controllerId, securityToken: t.securityToken }));
    await mapLimit(ddi, 8, (d) => d.poll()); // warm
    const cpu0 = stackCpu();
    await mapLimit(
      Array.from({ length: POLLS }, (_, i) => ddi[i % ddi.length]!),
      8,
      (d) => d.poll(),
    );
    return (Object.fromEntries(cpuSince(cpu0)).hawkBit ?? 0) / POLLS;
  } finally {
    for (const t of targets) await hawkbit.deleteTarget(t.controllerId).catch(() => undefined);
  }
}

async function idle(seconds: number): Promise<Record<string, number>> {
  const cpu0 = stackCpu();
  await new Promise((r) => setTimeout(r, seconds * 1000));
  return Object.fromEntries(cpuSince(cpu0).map(([n, s]) => [n, s / seconds]));
}

const f = (n: number, d = 2) => n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });
const money = (n: number) => (n >= 0.01 ? `$${f(n, 3)}` : `$${n.toExponential(2)}`);

async function main(): Promise<void> {
  const ctx = defaultContext(() => {});
  say('local stack: starting or reusing…');
  const stack = await up(ctx);
  say('idle stack, 30 s…');
  const idleCores = await idle(30);
  const runs: TelemetryRun[] = [];
  for (const size of SIZES) {
    say(`telemetry, ${size} devices, ${DURATION}…`);
    runs.push(await telemetry(stack, ctx, size));
  }
  say(`hawkBit DDI polls, ${POLLS}…`);
  const perPoll = await pollCost(stack);
  say(`fleet-monitor pass over ${MONITOR_DEVICES} devices…`);
  const mon = await monitorCost(stack, ctx.stateDir, MONITOR_DEVICES);
  // tenant-sync's default run interval first (its figures go into the cost model), then every period, the floor it is compared with.
  const runEvery = [tenantSyncEnv.ROLLUP_RUN_EVERY.parse(undefined), tenantSyncEnv.ROLLUP_EVERY.parse(undefined)];
  const tiers: TiersRun[] = [];
  for (const [i, devices] of TIERS_DEVICES.entries()) {
    // The floor (a run every period) once, at the first size: it is the slow part.
    const every = i === 0 ? runEvery : runEvery.slice(0, 1);
    say(`retention tiers: a day of ${devices} devices, rollups run every ${every.join(' and every ')}, cold export…`);
    tiers.push(await measureTiers(stack, ctx, { devices, runEvery: every, progress: (l) => process.stderr.write(`\r  ${l}\x1b[K`) }));
    process.stderr.write('\n');
  }
  const largest = runs.at(-1)!;
  const bytesPerPoint = marginalBytesPerPoint(runs);
  const per = perDeviceDay(largest, perPoll, bytesPerPoint, mon, tiers);
  const held = heldBytes(per);
  const cdmIdle = Object.fromEntries(Object.entries(idleCores).filter(([n]) => !n.startsWith('this process') && !n.includes('contract fake')));

  const lines: string[] = [];
  const out = (l = '') => lines.push(l);
  out('# Capacity and cost per device');
  out();
  out(
    `Generated by \`${COMMAND}\` on ${new Date().toISOString().slice(0, 10)}: ${os.cpus().length} cores, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}, the local stack (real Mosquitto 2.0, influxd 1.8, hawkBit 1.0.4; the InfluxDB 2 API in front of influxd is a contract fake whose CPU is listed but not counted).`,
  );
  out('Regenerate it the same way; the figures move with the machine and its load.');
  out();
  out('## Measured');
  out();
  out('| run | devices | messages | points | wall s | Mosquitto CPU s | influxd CPU s | InfluxDB 2 fake CPU s | bytes on disk |');
  out('|---|---|---|---|---|---|---|---|---|');
  for (const r of runs)
    out(
      `| telemetry (1 message + 1 health point per device per second) | ${r.devices} | ${r.messages} | ${r.points} | ${f(r.wallS, 0)} | ${f(r.cpuS.Mosquitto ?? 0)} | ${f(r.cpuS['InfluxDB 1.8'] ?? 0)} | ${f(r.cpuS['InfluxDB 2 API (contract fake)'] ?? 0)} | ${r.bytes.toLocaleString('en-US')} |`,
    );
  out(`| hawkBit DDI polls (8 at a time, target tokens) | 100 targets | ${POLLS} polls | | | | | | hawkBit ${f(perPoll * 1000, 2)} ms CPU per poll |`);
  out();
  out(`fleet-monitor's pass over ${mon.devices} devices in the steady state (after 5 more minutes of health), ${f(mon.wallS, 2)} s: CPU seconds`);
  out();
  out('| fleet-monitor (the bridge) | ThingsBoard (device list with attributes) | influxd (health per bucket) | InfluxDB 2 fake (not counted) |');
  out('|---|---|---|---|');
  out(`| ${f(mon.cpuS[MONITOR_SELF] ?? 0, 3)} | ${f(mon.cpuS.ThingsBoard ?? 0, 3)} | ${f(mon.cpuS['InfluxDB 1.8'] ?? 0, 3)} | ${f(mon.cpuS['InfluxDB 2 API (contract fake)'] ?? 0, 3)} |`);
  out();
  out('Per unit, at each size (a component grows linearly when its figure stays put as the fleet grows):');
  out();
  out('| devices | Mosquitto CPU µs per message | influxd CPU µs per point | bytes per point |');
  out('|---|---|---|---|');
  for (const r of runs) out(`| ${r.devices} | ${f(((r.cpuS.Mosquitto ?? 0) / r.messages) * 1e6, 1)} | ${f(((r.cpuS['InfluxDB 1.8'] ?? 0) / r.points) * 1e6, 1)} | ${f(r.bytes / r.points, 1)} |`);
  if (runs.length > 1) out(`| one more point, between the two runs | | | ${f(bytesPerPoint, 1)} (used below; before influxd's compaction) |`);
  out();
  out('Idle stack (the fixed part), share of one core:');
  out();
  out('| component | cores |');
  out('|---|---|');
  for (const [n, c] of Object.entries(cdmIdle).sort((a, b) => b[1] - a[1])) out(`| ${n} | ${f(c, 3)} |`);
  out();
  out('## Per device and day, at the design’s rates');
  out();
  out(
    `App data every 30 s (${DESIGN.appMessages} MQTT messages and time-series points a day), health every 5 min (${DESIGN.healthPoints} points), a hawkBit poll every 6 h (${DESIGN.polls}), a fleet-monitor pass every 5 min (${DESIGN.monitorPasses}); from the ${largest.devices}-device run and the ${mon.devices}-device monitor pass.`,
  );
  out();
  out('| component | job | CPU seconds per device-day |');
  out('|---|---|---|');
  for (const j of per.jobs) out(`| ${j.component} | ${j.job} | ${f(j.cpuS, 4)} |`);
  out();
  for (const j of per.perTenant)
    out(
      `Per tenant and day (each tenant's task costs this whatever its devices; the tables below take ${DESIGN.devicesPerTenant.toLocaleString('en-US')} devices per tenant): ${j.component}, ${j.job}: ${f(j.cpuS, 1)} CPU seconds, from the line through the tiers runs at ${TIERS_DEVICES.join(' and ')} devices.`,
    );
  if (per.perTenant.length) out();
  out(
    `Storage, from the ${tiers.at(-1)!.devices}-device tiers run (influxd's compressed files at rest, docs/capacity-tiers.md; a raw point of 11 fields taken for each of the ${DESIGN.appMessages + DESIGN.healthPoints} points a day):`,
  );
  out();
  out('| tier | kept | KiB per device-day | MiB per device held | where |');
  out('|---|---|---|---|---|');
  out(`| raw (hot) | ${DESIGN.hotDays} days | ${f(per.bytes.hot / 1024, 1)} | ${f(held.hot / 2 ** 20, 1)} | InfluxDB disk |`);
  out(`| rollup (warm), 5-minute aggregates | ${DESIGN.rollupDays} days | ${f(per.bytes.rollup / 1024, 1)} | ${f(held.rollup / 2 ** 20, 1)} | InfluxDB disk |`);
  out(`| cold, gzip'd line protocol | ${DESIGN.coldDays} days | ${f(per.bytes.cold / 1024, 1)} | ${f(held.cold / 2 ** 20, 1)} | object storage |`);
  out();
  out('## Cost per device and month');
  out();
  out(
    `Unit prices: $${PRICES.vcpuHour} per vCPU-hour, $${PRICES.gbMonth} per GB-month of disk, $${PRICES.objectGbMonth} per GB-month of object storage. CPU = the idle stack + every job above; storage = each tier full, as held above.`,
  );
  out();
  out('| devices | cores (CPU) | CPU per device-month | storage per device-month | total per device-month | needs the most cores |');
  out('|---|---|---|---|---|---|');
  for (const n of FLEETS) {
    const cores = coresAt(n, per, cdmIdle);
    const total = Object.values(cores).reduce((a, b) => a + b, 0);
    const [top, topCores] = Object.entries(cores).sort((a, b) => b[1] - a[1])[0]!;
    const c = monthlyPerDevice(n, per, cdmIdle);
    out(`| ${n.toLocaleString('en-US')} | ${f(total, 2)} | ${money(c.cpu)} | ${money(c.storage)} | ${money(c.total)} | ${top} (${f(topCores, 2)}) |`);
  }
  out();
  out(
    "What grows with devices is linear by construction here (per-unit costs times counts); the per-unit figures above at two sizes are the check that the measured components keep their cost per unit as the fleet grows. The rollup task grows with devices and with tenants (each tenant's task costs a part whatever its devices: the line through the two tiers runs), the cold export with points: neither faster than the fleet. The fixed part (idle ThingsBoard, Keycloak, hawkBit) dominates at 1,000 devices and vanishes per device at 1,000,000.",
  );
  out();
  out(
    "influxd's share of fleet-monitor's pass is the local stack's InfluxDB 1.8, which runs Flux's aggregateWindow in its query engine at a cost per device and window, not per point (a pass reads one or two 30-min windows of every device: the one still filling, and the one before while its points may still arrive), not pushed down to storage as InfluxDB 2 does: read it as an upper bound. The same holds for the rollup task, the largest influxd job here (docs/capacity-tiers.md).",
  );
  out();
  out(
    "Not measured by this run, and why: ThingsBoard beyond fleet-monitor's reads (cdm sends it attribute changes, alarms and RPC when something happens, not a stream: ota-bridge writes per update, measured per pass in bench:ota), ota-bridge per device (its idle pass is 4 hawkBit reads whatever the fleet, bench:ota), tenant-sync beyond the cold export (its passes work per tenant and person, bench:tenant-sync), Keycloak (per person and tenant), and enrollment (once per device and renewal: bench:enroll). Past one host each component takes the path in docs/scaling.md.",
  );
  out();
  out('The retention tiers in detail (bytes per tier, the rollup task at each run interval, the cold export), from the same run: docs/capacity-tiers.md.');

  const text = `${lines.join('\n')}\n`;
  const tiersText = tiersReport(tiers, COMMAND);
  say(`\n${text}\n${tiersText}`);
  if (process.argv.includes('--write')) {
    fs.writeFileSync(path.join(repoDir, 'docs', 'capacity.md'), text);
    fs.writeFileSync(path.join(repoDir, 'docs', 'capacity-tiers.md'), tiersText);
    say('written to docs/capacity.md and docs/capacity-tiers.md');
  }
}

if (process.argv[1]?.endsWith('capacity.ts'))
  main().then(
    () => process.exit(0),
    (err: Error) => {
      console.error(`bench capacity: ${err.message}`);
      process.exit(1);
    },
  );
