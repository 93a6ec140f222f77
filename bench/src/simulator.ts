/**
 * Fleet simulator cost: N devices (certificates signed by the stack's step-ca, mutual TLS to its
 * Mosquitto, health points through the InfluxDB 2 fake into the real InfluxDB) for a duration;
 * prints messages/s sustained, the simulator's CPU and peak RSS, whether InfluxDB stored every
 * point it accepted (per device, read back with InfluxQL), and the CPU of each stack component.
 * --ramp runs several fleet sizes one after another and prints where it stops keeping up.
 *
 *   npm run bench:simulator [-- --devices 1000 --duration 2m --window 10s]
 *   npm run bench:simulator -- --ramp 1000,2500,5000,10000 --window 1s --duration 1m [--workers 2]
 *
 * Needs the local stack (started or reused). Writes into a fresh bucket it deletes afterwards.
 */
import os from 'node:os';
import { HEALTH_MEASUREMENT } from '@cdm/common';
import { defaultContext, up } from '@cdm/stack';
import { runOptions } from '../../device/src/sim/options.ts';
import { Worker } from 'node:worker_threads';
import type { Fleet } from '../../device/src/sim/fleet.ts';
import { runSimulation, type RunSummary, type Targets } from '../../device/src/sim/run.ts';
import type { RunOptions } from '../../device/src/sim/options.ts';
import type { WorkerJob } from './sim-worker.ts';
import { dbOf } from '../../stack/src/fakes/influxdb/fake.ts';
import { benchFleet } from './bench-fleet.ts';
import { cpuSince, stackCpu } from './proc-cpu.ts';

const arg = (name: string, dflt: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1]! : dflt;
};

/** Health points InfluxDB 1.8 stored per device since `sinceMs`, read back with InfluxQL. */
async function storedPerDevice(influxUrl: string, db: string, sinceMs: number): Promise<Map<string, number>> {
  const q = `SELECT count(samples) FROM ${HEALTH_MEASUREMENT} WHERE time >= ${sinceMs}ms GROUP BY device`;
  const res = await fetch(`${influxUrl}/query?db=${encodeURIComponent(db)}&q=${encodeURIComponent(q)}`);
  if (!res.ok) throw new Error(`InfluxDB 1.8: ${q} failed: ${res.status} ${await res.text()}`);
  const body = (await res.json()) as { results: { series?: { tags: { device: string }; values: [string, number][] }[] }[] };
  return new Map((body.results[0]?.series ?? []).map((x) => [x.tags.device, x.values[0]![1]]));
}

const WORKERS = Number(arg('workers', '1'));

async function inProcess(o: RunOptions, targets: Targets, size: number): Promise<{ s: RunSummary; acked: ReadonlyMap<string, number> }> {
  let fleet: Fleet | undefined;
  const s = await runSimulation(o, targets, (l) => process.stderr.write(`  ${size}: ${l}\n`), { onFleet: (f) => (fleet = f) });
  return { s, acked: fleet!.pointsByDevice() };
}

/**
 * The fleet split over worker threads (one event loop drives about 8,000 devices at a message a
 * second): rates add up, CPU is the whole process's (from /proc), memory the process's peak.
 */
async function inWorkers(raw: Record<string, string>, targets: Targets, size: number): Promise<{ s: RunSummary; acked: ReadonlyMap<string, number> }> {
  const share = Math.ceil(size / WORKERS);
  const runs = await Promise.all(
    Array.from({ length: WORKERS }, (_, w) => {
      const job: WorkerJob = { options: raw, targets, from: w * share, to: Math.min(size, (w + 1) * share), label: `${size} worker ${w + 1}` };
      return new Promise<{ summary: RunSummary; acked: [string, number][] }>((resolve, reject) => {
        // A worker does not inherit tsx's loader on Node 20: it registers it, then loads the TypeScript.
        const boot = `import('tsx/esm/api').then(({ register }) => { register(); return import(${JSON.stringify(new URL('./sim-worker.ts', import.meta.url).href)}); })`;
        const worker = new Worker(boot, { eval: true, workerData: job });
        worker.on('message', (m: { log?: string; summary?: RunSummary; acked?: [string, number][] }) => {
          if (m.log) process.stderr.write(`  ${m.log}\n`);
          else resolve(m as { summary: RunSummary; acked: [string, number][] });
        });
        worker.on('error', reject);
      });
    }),
  );
  const sum = (k: keyof RunSummary) => Math.round(runs.reduce((a, r) => a + (r.summary[k] as number), 0) * 10) / 10;
  const max = (k: keyof RunSummary) => Math.max(...runs.map((r) => r.summary[k] as number));
  const s: RunSummary = {
    devices: sum('devices'),
    connected: sum('connected'),
    connectFailures: sum('connectFailures'),
    connectS: max('connectS'),
    durationS: max('durationS'),
    messages: sum('messages'),
    messagesPerS: sum('messagesPerS'),
    points: sum('points'),
    pointsPerS: sum('pointsPerS'),
    failedPoints: sum('failedPoints'),
    publishFailures: sum('publishFailures'),
    reconnects: sum('reconnects'),
    // Each worker's process.cpuUsage() is the whole process's: the largest is the closest.
    cpuPct: max('cpuPct'),
    peakRssMiB: max('peakRssMiB'),
    heapUsedMiB: sum('heapUsedMiB'),
  };
  return { s, acked: new Map(runs.flatMap((r) => r.acked)) };
}

async function main(): Promise<void> {
  const ctx = defaultContext(() => {});
  console.log('local stack: starting or reusing…');
  const stack = await up(ctx);
  const sizes = arg('ramp', arg('devices', '1000')).split(',').map(Number);
  const fleetPlace = await benchFleet(stack, ctx.stateDir, { prefix: 'bench-sim', size: Math.max(...sizes), progressEvery: 200 });
  const { bucket, targets } = fleetPlace;
  const rows: string[] = [];
  try {
    for (const size of sizes) {
      const raw = { devices: String(size), duration: arg('duration', '2m'), window: arg('window', '10s'), certs: fleetPlace.dir };
      const o = runOptions.parse(raw);
      const since = Date.now();
      const cpu0 = stackCpu();
      const { s, acked } = WORKERS > 1 ? await inWorkers(raw, targets, size) : await inProcess(o, targets, size);
      const wallS = (Date.now() - since) / 1000;
      const cpu = cpuSince(cpu0);
      const stored = await storedPerDevice(stack.influxdb!.url, dbOf(bucket.id), since);
      const differ = [...new Set([...acked.keys(), ...stored.keys()])].filter((d) => (acked.get(d) ?? 0) !== (stored.get(d) ?? 0));
      const sum = (m: ReadonlyMap<string, number>) => [...m.values()].reduce((a, b) => a + b, 0);
      console.log(`\nfleet simulator, ${s.devices} devices, window ${o.window / 1000} s, ${os.cpus().length} cores, Node ${process.version}`);
      console.log('connected | connect s | run s | messages/s | points/s | failed (publish, points) | reconnects | CPU % of one core | peak RSS MiB | heap MiB');
      console.log(
        `${s.connected}/${s.devices} | ${s.connectS} | ${s.durationS} | ${s.messagesPerS} | ${s.pointsPerS} | ${s.publishFailures}, ${s.failedPoints} | ${s.reconnects} | ${s.cpuPct} | ${s.peakRssMiB} | ${s.heapUsedMiB}`,
      );
      console.log(`per device: ${((s.peakRssMiB * 1024) / s.devices).toFixed(0)} KiB RSS, ${(s.cpuPct / s.devices).toFixed(4)} % CPU`);
      console.log(`sent = stored: InfluxDB accepted ${sum(acked)} points, stored ${sum(stored)}; devices whose counts differ: ${differ.length}`);
      console.log(`CPU by component over the whole run (${wallS.toFixed(0)} s, connecting included), % of one core:`);
      for (const [name, sec] of cpu) if (sec > 0) console.log(`  ${name}: ${((100 * sec) / wallS).toFixed(0)} %`);
      const busiest = cpu.filter(([n]) => !n.startsWith('this process'))[0];
      rows.push(
        `${size} | ${s.messagesPerS} | ${s.pointsPerS} | ${s.publishFailures + s.failedPoints} | ${differ.length} | ${s.cpuPct} | ${busiest ? `${busiest[0]} ${((100 * busiest[1]) / wallS).toFixed(0)} %` : '-'}`,
      );
    }
    if (sizes.length > 1) {
      console.log(`\nramp, window ${arg('window', '10s')} (one message and one point per device per window)`);
      console.log('devices | messages/s | points/s | failed | devices sent != stored | simulator CPU % | busiest stack component (% of one core)');
      for (const r of rows) console.log(r);
    }
  } finally {
    await fleetPlace.remove();
  }
}

main().then(
  () => process.exit(0),
  (err: Error) => {
    console.error(`bench simulator: ${err.message}`);
    process.exit(1);
  },
);
