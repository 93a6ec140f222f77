import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Fleet, writeSilentDevices, type FleetStats } from './fleet.ts';
import { enroll, loadCertDir, type DeviceIdentity } from './identity.ts';
import type { RunOptions } from './options.ts';

/** Where the fleet connects and writes, resolved from flags or the local stack. */
export interface Targets {
  brokerUrl: string;
  caPem: string;
  influxUrl: string;
  enrollUrl?: string;
  /** The CA the enrollment API's certificate chains to (the stack's step-ca root). */
  enrollCaPem?: string;
}

export interface RunSummary {
  devices: number;
  connected: number;
  connectFailures: number;
  connectS: number;
  durationS: number;
  messages: number;
  messagesPerS: number;
  points: number;
  pointsPerS: number;
  failedPoints: number;
  publishFailures: number;
  reconnects: number;
  /** Simulator process CPU (user + system) over the steady run, in % of one core. */
  cpuPct: number;
  /** Peak resident set size of the simulator process, sampled once a second. */
  peakRssMiB: number;
  heapUsedMiB: number;
  lastError?: string;
}

export type Progress = (line: string) => void;

/** Enrolls `n` devices through enroll-bridge, `concurrency` at a time. */
async function enrollAll(o: RunOptions, t: Targets, claim: string, log: Progress): Promise<DeviceIdentity[]> {
  if (!t.enrollUrl) throw new Error('--enroll needs --enroll-url (or --stack)');
  // A fresh id per run: enroll-bridge refuses known ids with new keys (takeover needs a device claim).
  const run = crypto.randomBytes(3).toString('hex');
  const ids = Array.from({ length: o.devices }, (_, i) => `${o.prefix}-${run}-${String(i + 1).padStart(5, '0')}`);
  const out: DeviceIdentity[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(o['enroll-concurrency'], ids.length) }, async () => {
      while (next < ids.length) {
        const id = ids[next++]!;
        out.push(await enroll(t.enrollUrl!, claim, id, t.enrollCaPem));
        if (out.length % 100 === 0 || out.length === ids.length) log(`enrolled ${out.length}/${ids.length}`);
      }
    }),
  );
  return out.sort((a, b) => a.id.localeCompare(b.id));
}

/**
 * One simulator run: identities (enrolled or pre-made), connect the fleet, run for the duration
 * with a progress line every 5 s, stop, and the figures (messages/s sustained, CPU, RSS).
 */
/**
 * `identities` runs these devices instead of loading or enrolling them (a load test splits one
 * certificate directory over several worker threads: one event loop drives about 8,000 devices
 * at a message a second).
 */
export async function runSimulation(o: RunOptions, t: Targets, log: Progress, hooks: { onFleet?: (f: Fleet) => void; identities?: DeviceIdentity[] } = {}): Promise<RunSummary> {
  const claim = o.claim ?? process.env.CDM_CLAIM;
  if (o.enroll && !claim) throw new Error('--enroll needs a claim: --claim or CDM_CLAIM');
  const identities = hooks.identities ?? (o.certs ? loadCertDir(o.certs, o.devices) : await enrollAll(o, t, claim!, log));
  const first = identities[0]!;
  if (o.silent) {
    await writeSilentDevices({
      influxUrl: t.influxUrl,
      influx: first.influx,
      tenant: first.tenant,
      ids: Array.from({ length: o.silent }, (_, i) => `${o.prefix}-silent-${String(i + 1).padStart(4, '0')}`),
      seed: o.seed,
    });
    log(`wrote ${o.silent} silent devices (last seen 25–73 h ago)`);
  }
  const fleet = new Fleet({
    identities,
    broker: { url: t.brokerUrl, ca: t.caPem, broker: o.broker },
    influxUrl: t.influxUrl,
    windowS: o.window / 1000,
    sampleIntervalS: o.sample / 1000,
    seed: o.seed,
    connectConcurrency: o['connect-concurrency'],
    profile: o['fail-updates'] === undefined ? {} : { failUpdateShare: o['fail-updates'] },
  });
  hooks.onFleet?.(fleet);
  let errors = 0;
  fleet.on('error', (err) => {
    if (++errors <= 5) log(`error: ${err.message}`);
  });

  let peakRss = process.memoryUsage.rss();
  const rssTimer = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage.rss())), 1000);
  const t0 = performance.now();
  let lastConnectLog = 0;
  await fleet.start((n) => {
    if (n - lastConnectLog >= 100 || n === identities.length) log(`connected ${(lastConnectLog = n)}/${identities.length}`);
  });
  const connectS = (performance.now() - t0) / 1000;
  const s0 = fleet.stats();
  const cpu0 = process.cpuUsage();
  const w0 = performance.now();

  let prev = s0;
  let prevT = w0;
  const progress = setInterval(() => {
    const s = fleet.stats();
    const now = performance.now();
    const rate = ((s.messages - prev.messages) * 1000) / (now - prevT);
    log(
      `t+${Math.round((now - w0) / 1000)}s connected ${s.connected}/${s.devices} | msgs ${s.messages} (${rate.toFixed(1)}/s) | points ${s.points} | failed: publish ${s.publishFailures}, points ${s.failedPoints} | reconnects ${s.reconnects} | rss ${(process.memoryUsage.rss() / 2 ** 20).toFixed(0)} MiB`,
    );
    prev = s;
    prevT = now;
  }, 5000);

  await new Promise((r) => setTimeout(r, o.duration));
  clearInterval(progress);
  const wall = (performance.now() - w0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const s1: FleetStats = fleet.stats();
  await fleet.stop();
  clearInterval(rssTimer);
  const s = fleet.stats(); // after the final flush
  return {
    devices: identities.length,
    connected: s1.connected,
    connectFailures: s1.connectFailures,
    connectS: round(connectS),
    durationS: round(wall),
    messages: s.messages,
    messagesPerS: round((s1.messages - s0.messages) / wall),
    points: s.points,
    pointsPerS: round((s1.points - s0.points) / wall),
    failedPoints: s.failedPoints,
    publishFailures: s.publishFailures,
    reconnects: s.reconnects,
    cpuPct: round(((cpu.user + cpu.system) / 1e6 / wall) * 100),
    peakRssMiB: round(peakRss / 2 ** 20),
    heapUsedMiB: round(process.memoryUsage().heapUsed / 2 ** 20),
    lastError: s.lastError,
  };
}

const round = (x: number) => Math.round(x * 10) / 10;

/** Broker, CA and URLs of the running local stack (its stack.json), for `--stack`. */
export function stackTargets(stateDir: string, broker: 'mosquitto' | 'thingsboard' = 'mosquitto'): Targets {
  const file = path.join(stateDir, 'stack.json');
  if (!fs.existsSync(file)) throw new Error(`${file} not found: start the local stack first (npm run stack -- up)`);
  const e = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, { url: string; extra?: Record<string, string> }>;
  const need = (name: string) => {
    if (!e[name]) throw new Error(`the local stack has no ${name}`);
    return e[name];
  };
  // ThingsBoard's own MQTT transport authenticates devices by their X.509 credentials (made at
  // enrollment); Mosquitto takes any certificate from the stack's CA.
  const b =
    broker === 'thingsboard'
      ? { url: need('thingsboard').extra!.mqttsUrl!, ca: need('thingsboard').extra!.caChain! }
      : { url: need('mosquitto').extra!.mtlsUrl!, ca: need('mosquitto').extra!.caChain! };
  const wg = need('wireguard').extra!;
  return {
    brokerUrl: b.url,
    caPem: fs.readFileSync(b.ca, 'utf8'),
    influxUrl: need('influxdb2').url,
    // enroll-bridge as `npm start` runs it (stack/src/bridge-env.ts): TLS from the stack's step-ca.
    enrollUrl: `https://${wg.hostFromDevices}:19443`,
    enrollCaPem: fs.readFileSync(need('stepca').extra!.rootCert!, 'utf8'),
  };
}
