import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { InfluxClient, loadConfig, stepcaEnv, stepcaFrom } from '@cdm/common';
import { bridgeEnv, defaultContext } from '@cdm/stack';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { z } from 'zod';
import { alertQueries, dashboardQueries, interpolate } from './dashboards/queries.ts';
import type { Fleet } from './sim/fleet.ts';
import { makeCertDir } from './sim/identity.ts';
import { runOptions } from './sim/options.ts';
import { runSimulation, type RunSummary } from './sim/run.ts';
import { setSharedAttributes } from './sim/control.ts';
import { ANOMALY_MEASUREMENT, OTA_MEASUREMENT, STAGE_MEASUREMENT } from '@cdm/common';

/**
 * 1,000 simulated devices for 2 minutes on the local stack — certificates from the real step-ca,
 * mutual TLS to the real Mosquitto, health points through the InfluxDB 2 fake into the real
 * InfluxDB 1.8 — then every dashboard panel and alert query, run by the real Flux engine against
 * the tenant's bucket, must return data.
 */
const stack = inject('stack');
const ctx = defaultContext();
const run = crypto.randomBytes(3).toString('hex');
const DEVICES = 1000;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cdm-sim-'));
const certs = path.join(tmp, 'certs');
const influxUrl = stack.influxdb2!.url;
const operator = new InfluxClient({ baseURL: influxUrl, token: stack.influxdb2!.credentials!.token! });
let reader: InfluxClient;
let bucket: { id: string; name: string };
let summary: RunSummary;
const updates: { device: string; ok: boolean }[] = [];
let telemetrySeen = 0;
let telemetrySample: unknown;
let updateStateSeen = 0;

beforeAll(async () => {
  // The tenant's bucket and tokens as tenant-sync makes them: devices write, Grafana reads.
  const org = (await operator.findOrg('cdm'))!;
  bucket = await operator.createBucket({ orgID: org.id, name: `cdm-e2e-sim-${run}` });
  const perm = (action: 'read' | 'write') => ({ action, resource: { type: 'buckets' as const, id: bucket.id, orgID: org.id } });
  const write = await operator.createAuthorization({ orgID: org.id, description: `e2e sim ${run} write`, permissions: [perm('write')] });
  const read = await operator.createAuthorization({ orgID: org.id, description: `e2e sim ${run} read`, permissions: [perm('read')] });
  reader = new InfluxClient({ baseURL: influxUrl, token: read.token! });
  const stepca = await stepcaFrom(loadConfig(z.object(stepcaEnv), bridgeEnv(stack, ctx.stateDir)['enroll-bridge']));
  const ids = Array.from({ length: DEVICES }, (_, i) => `sim-${run}-${String(i + 1).padStart(5, '0')}`);
  await makeCertDir({ stepca, dir: certs, tenant: `e2e-sim-${run}`, influx: { org: 'cdm', bucket: bucket.name, token: write.token! }, ids, concurrency: 16 });
  // What ota-bridge writes per rollout and group on each pass (the schema in grafana-dashboards/README.md).
  const now = Date.now();
  const lines: string[] = [];
  for (let k = 0; k < 10; k++) {
    for (const [group, n] of [
      ['g1', 10],
      ['g2', 40],
    ] as const) {
      const success = Math.min(n, k * 3);
      const failure = Math.min(n - success, Math.floor(k / 3));
      const running = Math.min(n - success - failure, 5);
      lines.push(
        `${OTA_MEASUREMENT},rollout=sw-2.0.0-${run},group=${group} success=${success}i,failure=${failure}i,running=${running}i,scheduled=${n - success - failure - running}i,success_ratio=${success / n} ${now - (10 - k) * 60_000}`,
      );
    }
    // And what its hold gate writes while stage 1 holds, then once it released it.
    lines.push(`${STAGE_MEASUREMENT},rollout=sw-2.0.0-${run},stage=g1 state="${k < 9 ? 'holding' : 'released'}",hold_remaining_s=${Math.max(0, 540 - k * 60)}i ${now - (10 - k) * 60_000}`);
  }
  // And what fleet-monitor writes when it raises and clears an alarm.
  lines.push(`${ANOMALY_MEASUREMENT},kind=offline-cluster,key=site\\=plant-7 state="raised",devices=50i ${now - 20 * 60_000}`);
  lines.push(`${ANOMALY_MEASUREMENT},kind=unusual-values,key=sim-00001 state="raised",score=7.5 ${now - 10 * 60_000}`);
  lines.push(`${ANOMALY_MEASUREMENT},kind=offline-cluster,key=site\\=plant-7 state="cleared" ${now - 5 * 60_000}`);
  await new InfluxClient({ baseURL: influxUrl, token: write.token! }).write('cdm', bucket.name, lines);
}, 600_000);

afterAll(async () => {
  if (bucket) await operator.deleteBucket(bucket.id).catch(() => undefined);
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe(`fleet simulator: ${DEVICES} devices × 2 min on the local stack`, () => {
  it('runs the fleet over mutual TLS, publishes aggregates and writes health points without loss', async () => {
    const o = runOptions.parse({ devices: String(DEVICES), duration: '2m', certs, window: '10s', silent: '20' });
    const targets = { brokerUrl: stack.mosquitto!.extra!.mtlsUrl!, caPem: fs.readFileSync(stack.mosquitto!.extra!.caChain!, 'utf8'), influxUrl };
    let fleet: Fleet | undefined;
    const sim = runSimulation(o, targets, (l) => process.stderr.write(`  sim: ${l}\n`), { onFleet: (f) => (fleet = f) });

    // Meanwhile, as the server side: watch the telemetry topic, and use the update hook.
    const watcher = await mqtt.connectAsync(stack.mosquitto!.url);
    await watcher.subscribeAsync('v1/devices/+/telemetry');
    watcher.on('message', (_t, m) => {
      telemetrySeen++;
      // Health aggregates share the topic with update-state reports (sw_state): sample the first aggregate.
      const msg = JSON.parse(m.toString()) as { values?: Record<string, unknown> };
      if (msg.values && 'battery_pct' in msg.values) telemetrySample ??= msg;
      else if (msg.values && 'sw_state' in msg.values) updateStateSeen++;
    });
    while (!fleet || fleet.stats().connected < DEVICES) await new Promise((r) => setTimeout(r, 500));
    fleet.on('update', ({ device, outcome }) => updates.push({ device, ok: outcome.ok }));
    const failing = `sim-${run}-00001`;
    const healthy = `sim-${run}-00002`;
    await setSharedAttributes(stack.mosquitto!.url, failing, { fail_update: true, sw_version: '2.0.0' });
    await setSharedAttributes(stack.mosquitto!.url, healthy, { sw_version: '2.0.0', telemetry_window_s: 5 });
    await new Promise((r) => setTimeout(r, 15_000));
    await watcher.endAsync();

    summary = await sim;
    process.stderr.write(`  figures: ${JSON.stringify(summary)}\n`);
    expect(summary).toMatchObject({ devices: DEVICES, connected: DEVICES, connectFailures: 0, failedPoints: 0, publishFailures: 0 });
    // One message and one point per device per 10 s window, sustained.
    expect(summary.messagesPerS).toBeGreaterThan((DEVICES / 10) * 0.9);
    expect(summary.pointsPerS).toBeGreaterThan((DEVICES / 10) * 0.9);
    expect(telemetrySeen).toBeGreaterThan(DEVICES);
    expect(telemetrySample).toMatchObject({
      ts: expect.any(Number),
      values: { battery_pct: expect.any(Number), signal_dbm: expect.any(Number), samples: expect.any(Number), error_rate: expect.any(Number) },
    });
    expect(updateStateSeen).toBeGreaterThan(0); // the two told to update reported UPDATING/UPDATED/FAILED
    // The hook the OTA tests use: told fail_update, the device reports a failed boot and keeps its version.
    expect(updates).toEqual(
      expect.arrayContaining([
        { device: failing, ok: false },
        { device: healthy, ok: true },
      ]),
    );
    expect(fleet.device(failing)?.swVersion).not.toBe('2.0.0');
    expect(fleet.device(healthy)?.swVersion).toBe('2.0.0');
    expect(fleet.device(healthy)?.config.windowS).toBe(5);
  }, 600_000);

  const queries = [...dashboardQueries(), ...alertQueries()];
  it.each(queries.map((q) => [q.where, q.query] as const))('%s returns data from the real InfluxDB', async (_where, query) => {
    expect(summary, 'the simulator run above failed').toBeDefined();
    const to = new Date();
    const flux = interpolate(query, { bucket: bucket.name, from: new Date(to.getTime() - 30 * 60_000), to, windowPeriod: '10s' });
    const rows = await reader.query<Record<string, unknown>>('cdm', flux);
    expect(rows.length, flux).toBeGreaterThan(0);
  });
});
