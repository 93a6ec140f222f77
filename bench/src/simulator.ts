/**
 * Fleet simulator cost: N devices (certificates signed by the stack's step-ca, mutual TLS to its
 * Mosquitto, health points through the InfluxDB 2 fake into the real InfluxDB) for a duration;
 * prints messages/s sustained and the simulator's CPU and peak RSS.
 *
 *   npm run bench:simulator [-- --devices 1000 --duration 2m --window 10s]
 *
 * Needs the local stack (started or reused). Writes into a fresh bucket it deletes afterwards.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { InfluxClient, loadConfig, stepcaEnv, stepcaFrom } from '@cdm/common';
import { makeCertDir } from '@cdm/device';
import { bridgeEnv, defaultContext, up } from '@cdm/stack';
import { z } from 'zod';
import { runOptions } from '../../device/src/sim/options.ts';
import { runSimulation } from '../../device/src/sim/run.ts';

const arg = (name: string, dflt: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1]! : dflt;
};

async function main(): Promise<void> {
  const ctx = defaultContext(() => {});
  console.log('local stack: starting or reusing…');
  const stack = await up(ctx);
  const run = crypto.randomBytes(3).toString('hex');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cdm-bench-sim-'));
  const o = runOptions.parse({ devices: arg('devices', '1000'), duration: arg('duration', '2m'), window: arg('window', '10s'), certs: dir });
  const operator = new InfluxClient({ baseURL: stack.influxdb2!.url, token: stack.influxdb2!.credentials!.token! });
  const org = (await operator.findOrg('cdm'))!;
  const bucket = await operator.createBucket({ orgID: org.id, name: `cdm-bench-sim-${run}` });
  const write = await operator.createAuthorization({ orgID: org.id, description: `bench sim ${run}`, permissions: [{ action: 'write', resource: { type: 'buckets', id: bucket.id, orgID: org.id } }] });
  try {
    const stepca = await stepcaFrom(loadConfig(z.object(stepcaEnv), bridgeEnv(stack, ctx.stateDir)['enroll-bridge']));
    const ids = Array.from({ length: o.devices }, (_, i) => `bench-${run}-${String(i + 1).padStart(5, '0')}`);
    const t0 = performance.now();
    await makeCertDir({
      stepca,
      dir,
      tenant: `bench-${run}`,
      influx: { org: 'cdm', bucket: bucket.name, token: write.token! },
      ids,
      onProgress: (n) => n % 200 === 0 && process.stderr.write(`\r  signed ${n}/${ids.length}`),
    });
    process.stderr.write(`\n  ${ids.length} certificates in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
    const s = await runSimulation(o, { brokerUrl: stack.mosquitto!.extra!.mtlsUrl!, caPem: fs.readFileSync(stack.mosquitto!.extra!.caChain!, 'utf8'), influxUrl: stack.influxdb2!.url }, (l) =>
      process.stderr.write(`  ${l}\n`),
    );
    console.log(`\nfleet simulator, ${s.devices} devices, window ${o.window / 1000} s, ${os.cpus().length} cores, Node ${process.version}`);
    console.log('connected | connect s | run s | messages/s | points/s | failed (publish, points) | reconnects | CPU % of one core | peak RSS MiB | heap MiB');
    console.log(
      `${s.connected}/${s.devices} | ${s.connectS} | ${s.durationS} | ${s.messagesPerS} | ${s.pointsPerS} | ${s.publishFailures}, ${s.failedPoints} | ${s.reconnects} | ${s.cpuPct} | ${s.peakRssMiB} | ${s.heapUsedMiB}`,
    );
    console.log(`per device: ${((s.peakRssMiB * 1024) / s.devices).toFixed(0)} KiB RSS, ${(s.cpuPct / s.devices).toFixed(4)} % CPU`);
  } finally {
    await operator.deleteBucket(bucket.id).catch(() => undefined);
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (err: Error) => {
    console.error(`bench simulator: ${err.message}`);
    process.exit(1);
  },
);
