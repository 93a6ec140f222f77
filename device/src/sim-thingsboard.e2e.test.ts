import crypto from 'node:crypto';
import fs from 'node:fs';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { InfluxClient, ThingsBoardClient, createLogger, loadConfig, type EntityId } from '@cdm/common';
import { composeEnrollBridge, createApi, createApiServer, createClaim, enrollBridgeConfig } from '@cdm/enroll-bridge';
import { bridgeEnv, defaultContext, thingsboardTenant } from '@cdm/stack';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { runOptions } from './sim/options.ts';
import { runSimulation, type RunSummary } from './sim/run.ts';

/**
 * The fleet simulator over ThingsBoard's own MQTT transport: devices enroll through enroll-bridge
 * (which gives each a ThingsBoard device whose X.509 credential is its step-ca certificate), then
 * connect to the real ThingsBoard's MQTT/TLS listener with that certificate alone, publish their
 * window aggregates, and react to a shared attribute ThingsBoard pushes.
 */
const stack = inject('stack');
const ctx = defaultContext();
const run = crypto.randomBytes(3).toString('hex');
const tenant = `e2e-simtb-${run}`;
const DEVICES = 100;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cdm-simtb-'));
const operator = new InfluxClient({ baseURL: stack.influxdb2!.url, token: stack.influxdb2!.credentials!.token! });
const env = { ...bridgeEnv(stack, ctx.stateDir)['enroll-bridge'], DATA_DIR: path.join(tmp, 'data'), TENANT_TOKEN_DIR: path.join(tmp, 'tokens'), LOG_LEVEL: 'warn' };
const config = loadConfig(enrollBridgeConfig, env);
const bridge = await composeEnrollBridge(config, createLogger('simtb-e2e', { level: 'silent' }));
const tb = new ThingsBoardClient({ baseURL: config.THINGSBOARD_URL, username: config.THINGSBOARD_USERNAME, password: config.THINGSBOARD_PASSWORD });
let server: ReturnType<typeof createApiServer>;
let admin: ThingsBoardClient;
let tenantId = '';
let summary: RunSummary;
const updated: { device: string; ok: boolean }[] = [];

beforeAll(async () => {
  // The tenant as tenant-sync leaves it: ThingsBoard tenant + bridge admin, a bucket and its write token.
  ({ tbTenantId: tenantId, as: admin } = await thingsboardTenant(tb, tenant));
  const org = (await operator.findOrg('cdm'))!;
  const bucket = await operator.createBucket({ orgID: org.id, name: `cdm-${tenant}` });
  const write = await operator.createAuthorization({ orgID: org.id, description: `e2e simtb ${run}`, permissions: [{ action: 'write', resource: { type: 'buckets', id: bucket.id, orgID: org.id } }] });
  fs.mkdirSync(path.join(tmp, 'tokens'));
  fs.writeFileSync(path.join(tmp, 'tokens', `${tenant}.json`), JSON.stringify({ cdmId: tenant, org: 'cdm', bucket: bucket.name, authId: write.id, token: write.token }));
  server = createApiServer(
    createApi({ enroller: bridge.enroller, logger: createLogger('api', { level: 'silent' }), rootPem: bridge.clients.stepca.rootPem, perAddressPerMinute: 10_000, perClaimPerMinute: 10_000 }),
  );
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));

  const o = runOptions.parse({
    devices: DEVICES,
    duration: '40s',
    window: '5s',
    sample: '1s',
    broker: 'thingsboard',
    enroll: true,
    claim: (await createClaim(bridge.store, { tenantId: tenant, uses: DEVICES, expires: '1h' })).token,
    prefix: `simtb-${run}`,
    'enroll-concurrency': 8,
  });
  const targets = {
    brokerUrl: stack.thingsboard!.extra!.mqttsUrl!,
    caPem: fs.readFileSync(stack.thingsboard!.extra!.caChain!, 'utf8'),
    influxUrl: stack.influxdb2!.url,
    enrollUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
  };
  const log = (l: string) => process.stderr.write(`  simtb: ${l}\n`);
  summary = await runSimulation(o, targets, log, {
    onFleet: (fleet) => {
      fleet.on('update', (u) => updated.push({ device: u.device, ok: u.outcome.ok }));
      // 10 s into the run an operator sets a shared attribute on one device in ThingsBoard.
      setTimeout(async () => {
        const first = (await device(`simtb-${run}-`)) as EntityId;
        await admin.saveAttributes(first, 'SHARED_SCOPE', { sw_version: '9.9.9' });
      }, 10_000);
    },
  });
  log(`figures: ${JSON.stringify(summary)}`);
}, 600_000);

afterAll(async () => {
  server?.close();
  for (const id of (await bridge.store.listDevices({ tenantId: tenant })).map((d) => d.deviceId)) await bridge.enroller.decommission(id).catch(() => undefined);
  await bridge.store.close();
  await tb.deleteTenant(tenantId).catch(() => undefined);
});

/** The first ThingsBoard device of this run, by name. */
async function device(prefix: string): Promise<EntityId | undefined> {
  for await (const page of admin.devicePages({ textSearch: prefix })) {
    const d = page.sort((a, b) => a.name.localeCompare(b.name))[0];
    if (d?.id) return { id: d.id.id, entityType: 'DEVICE' };
  }
  return undefined;
}

describe('simulator over ThingsBoard MQTT with X.509 device credentials', () => {
  it('every enrolled device connects with its certificate and every window aggregate is accepted', () => {
    expect(summary).toMatchObject({ devices: DEVICES, connected: DEVICES, connectFailures: 0, publishFailures: 0, failedPoints: 0 });
    // One aggregate per device per 5 s window.
    expect(summary.messagesPerS).toBeGreaterThan((DEVICES / 5) * 0.8);
  });

  it('ThingsBoard holds each device’s telemetry, read back over REST', async () => {
    let devices = 0;
    let reporting = 0;
    for await (const page of admin.devicePages({ textSearch: `simtb-${run}-` })) {
      for (const d of page) {
        devices++;
        const latest = await admin.getLatestTelemetry({ id: d.id!.id, entityType: 'DEVICE' }, ['battery_pct', 'sw_version']);
        if (typeof latest.battery_pct?.[0]?.value === 'number' || Number.isFinite(Number(latest.battery_pct?.[0]?.value))) reporting++;
      }
    }
    expect([devices, reporting]).toEqual([DEVICES, DEVICES]);
  });

  it('a shared attribute set in ThingsBoard reaches the device, which installs and reports its version', async () => {
    const first = (await device(`simtb-${run}-`))!;
    const name = (await admin.getDevice(first.id))!.name;
    expect(updated).toEqual([{ device: name, ok: true }]);
    const attrs = await admin.getAttributes(first, 'CLIENT_SCOPE', ['current_sw_version']);
    expect(attrs.map((a) => [a.key, a.value])).toEqual([['current_sw_version', '9.9.9']]);
  });
});
