import fs from 'node:fs';
import type { Server } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { HawkbitClient, HawkbitDdiClient, RequestCounts, TenantActors, ThingsBoardClient, createLogger, type DirectoryDevice, type EntityId, type InfluxClient } from '@cdm/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { thingsboardTenant } from '../../stack/src/scenes.ts';
import { createHawkbitFake } from '../../stack/src/fakes/hawkbit/fake.ts';
import { listen } from '../../stack/src/fakes/server.ts';
import { createThingsBoardFake } from '../../stack/src/fakes/thingsboard/fake.ts';
import { OtaMirror } from './mirror.ts';
import { OtaStore } from './store.ts';
import { ThingsBoardOta } from './tb-ota.ts';

/**
 * The mirror's change detection against the in-process fakes, which behave as real hawkBit 1.0.4
 * does (the parity tests hold them to it): a device's DDI feedback does not stamp lastModifiedAt.
 */
const hbFake = createHawkbitFake({ schedulerMs: 50 });
const servers: Server[] = [];
const counts = new RequestCounts();
let hawkbit: HawkbitClient;
let as: ThingsBoardClient;
let mirror: OtaMirror;
let store: OtaStore;
let hbUrl = '';
let now = Date.now();
const cdmId = 'acme-id';
const ids = ['dev-1', 'dev-2', 'dev-3'];
const tbIds: Record<string, string> = {};
const tokens: Record<string, string> = {};
/** enroll-bridge's device directory as the mirror sees it (the owner of identity); its HTTP side has its own tests. */
const owners = new Map<string, DirectoryDevice>();
let directoryDown = false;
const directory = {
  lookups: 0,
  async lookup(idsAsked: readonly string[]) {
    this.lookups++;
    if (directoryDown) throw new Error('enroll-bridge directory: connect ECONNREFUSED');
    return new Map(idsAsked.flatMap((id) => (owners.has(id) ? [[id, owners.get(id)!] as const] : [])));
  },
};

beforeAll(async () => {
  const hb = await listen(hbFake.app);
  const tb = await listen(createThingsBoardFake().app);
  servers.push(hb.server, tb.server);
  hbUrl = hb.url;
  hawkbit = new HawkbitClient({ baseURL: hb.url, username: 'admin', password: 'admin', retries: 0, observer: counts.observer });
  const sys = new ThingsBoardClient({ baseURL: tb.url, username: 'sysadmin@thingsboard.org', password: 'sysadmin', retries: 0 });
  ({ as } = await thingsboardTenant(sys, cdmId, 'acme'));
  await hawkbit.setConfig('authentication.targettoken.enabled', true);
  for (const x of await hawkbit.createTargets(ids.map((id) => ({ controllerId: id, name: id, description: `cdm tenant ${cdmId}` })))) tokens[x.controllerId] = x.securityToken!;
  for (const id of ids) tbIds[id] = (await as.saveDevice({ name: id, type: 'default' })).id!.id;
  for (const id of ids) owners.set(id, { deviceId: id, tenantId: cdmId, status: 'active', tbDeviceId: tbIds[id] });
  const sm = await hawkbit.createSoftwareModule({ name: 'fw', version: '2.0.0', type: 'os' });
  const ds = await hawkbit.createDistributionSet({ name: 'fw', version: '2.0.0', type: 'os', modules: [{ id: sm.id }] });
  // Stamped a few ms apart: only the newest sits at the cursor, which every pass reads again.
  for (const id of ids) await hawkbit.assignDistributionSet(id, ds.id, 'forced').then(() => new Promise((r) => setTimeout(r, 5)));
  store = await OtaStore.open({ dataDir: fs.mkdtempSync(path.join(os.tmpdir(), 'cdm-mirror-')) });
  const influx = { write: async () => undefined } as unknown as InfluxClient;
  mirror = new OtaMirror({
    store,
    hawkbit,
    directory,
    tb: new ThingsBoardOta(new TenantActors(sys)),
    influx,
    influxOrg: 'cdm',
    logger: createLogger('t', { level: 'silent' }),
    bootWindowMs: 60_000,
    gateThresholdPct: 100,
    sweepIntervalMs: 600_000,
    now: () => now,
  });
});
afterAll(async () => {
  hbFake.stop();
  servers.forEach((s) => s.close());
  await store.close();
});

const attrs = async (id: string) => Object.fromEntries((await as.getAttributes({ id: tbIds[id]!, entityType: 'DEVICE' } as EntityId, 'SERVER_SCOPE')).map((a) => [a.key, a.value]));
async function report(id: string, finished: 'success' | 'failure') {
  const ddi = new HawkbitDdiClient({ baseURL: hbUrl, controllerId: id, securityToken: tokens[id], retries: 0 });
  const action = (await ddi.poll()).deploymentActionId!;
  await ddi.sendFeedback(action, { execution: 'closed', finished });
}
const pass = async () => {
  counts.take();
  const r = await mirror.pass();
  return { ...r, hawkbit: counts.take().hawkBit ?? { reads: 0, writes: 0 } };
};

describe('ota-bridge change detection', () => {
  it('mirrors the assignments on the first pass', async () => {
    const r = await pass();
    expect(r).toMatchObject({ changes: 3, failed: 0 });
    expect(await attrs('dev-1')).toMatchObject({ ota_status: 'installing', ota_target_version: '2.0.0' });
  });

  it('sees results devices report over DDI, although hawkBit does not stamp them', async () => {
    expect(await pass()).toMatchObject({ changes: 0 }); // the overlap behind the cursor, read once
    await report('dev-1', 'success');
    await report('dev-2', 'failure');
    now += 1000;
    const r = await pass();
    expect(r).toMatchObject({ changes: 2, failed: 0, swept: true });
    expect(await attrs('dev-1')).toMatchObject({ ota_status: 'success', sw_version: '2.0.0' });
    expect(await attrs('dev-2')).toMatchObject({ ota_status: 'failure' });
    expect(await store.activeActionCount()).toBe(1);
  });

  it('costs hawkBit two reads when nothing changed: the changes since the cursor and the count of open actions', async () => {
    const idle = await pass();
    expect(idle).toMatchObject({ changes: 0, swept: false });
    expect(idle.hawkbit).toEqual({ reads: 2 + 1, writes: 0 }); // + the listing of running rollouts (none)
  });

  it('sweeps open actions when the interval is due, without writing what did not change', async () => {
    now += 600_000;
    const r = await pass();
    expect(r).toMatchObject({ changes: 0, swept: true });
  });

  it('a device re-enrolled as a new ThingsBoard device gets its next result there; the cursor is not pinned by the old one', async () => {
    // dev-3 was decommissioned and enrolled again: enroll-bridge made a new ThingsBoard device.
    await as.deleteDevice(tbIds['dev-3']!);
    tbIds['dev-3'] = (await as.saveDevice({ name: 'dev-3', type: 'default' })).id!.id;
    owners.set('dev-3', { deviceId: 'dev-3', tenantId: cdmId, status: 'active', tbDeviceId: tbIds['dev-3'] });
    await report('dev-3', 'success');
    now += 1000;
    const r = await pass();
    expect(r).toMatchObject({ changes: 1, failed: 0, deadLetters: 0 });
    expect(await attrs('dev-3')).toMatchObject({ ota_status: 'success', sw_version: '2.0.0' });
    expect(await pass()).toMatchObject({ failed: 0 });
  });

  it('a change that can never be applied goes to the dead letters with its reason, and the cursor moves past it', async () => {
    const sm = await hawkbit.createSoftwareModule({ name: 'fw', version: '2.1.0', type: 'os' });
    const ds = await hawkbit.createDistributionSet({ name: 'fw', version: '2.1.0', type: 'os', modules: [{ id: sm.id }] });
    // The directory still names a ThingsBoard device that someone deleted by hand.
    await as.deleteDevice(tbIds['dev-1']!);
    await hawkbit.assignDistributionSet('dev-1', ds.id, 'forced');
    now += 1000;
    const r = await pass();
    expect(r).toMatchObject({ failed: 0, deadLetters: 1 });
    expect(await store.deadLetters()).toEqual([expect.objectContaining({ controllerId: 'dev-1', reason: expect.stringMatching(/ThingsBoard.*404/) })]);
    expect(await store.cursor()).toBeGreaterThan(0);
    const next = await pass();
    expect(next).toMatchObject({ failed: 0, deadLetters: 0 });
  });

  it('while the directory does not answer, changes wait (the cursor stays) and apply once it is back', async () => {
    const sm = await hawkbit.createSoftwareModule({ name: 'fw', version: '2.2.0', type: 'os' });
    const ds = await hawkbit.createDistributionSet({ name: 'fw', version: '2.2.0', type: 'os', modules: [{ id: sm.id }] });
    await hawkbit.assignDistributionSet('dev-2', ds.id, 'forced');
    const before = await store.cursor();
    directoryDown = true;
    now += 1000;
    try {
      const r = await pass();
      expect(r.failed).toBeGreaterThan(0);
      expect(await store.cursor()).toBeLessThanOrEqual(before + 2000);
    } finally {
      directoryDown = false;
    }
    expect(await pass()).toMatchObject({ failed: 0 });
    expect(await attrs('dev-2')).toMatchObject({ ota_target_version: '2.2.0' });
  });

  it('a result mirrored again (the cursor moved back over it) does not reopen a boot mismatch as success', async () => {
    const sm = await hawkbit.createSoftwareModule({ name: 'fw', version: '2.3.0', type: 'os' });
    const ds = await hawkbit.createDistributionSet({ name: 'fw', version: '2.3.0', type: 'os', modules: [{ id: sm.id }] });
    await hawkbit.assignDistributionSet('dev-3', ds.id, 'forced');
    now += 1000;
    await pass();
    await report('dev-3', 'success'); // hawkBit hears success; the device never reports 2.3.0 (fell back)
    now += 1000;
    await pass();
    expect(await attrs('dev-3')).toMatchObject({ ota_status: 'success' });
    now += 61_000;
    expect(await pass()).toMatchObject({ bootMismatches: 1 });
    expect(await attrs('dev-3')).toMatchObject({ ota_status: 'boot_mismatch' });
    // A failed older change pins the cursor behind this one, whose record was already pruned.
    await store.forgetAction((await store.getDevice('dev-3'))!.actionId);
    await store.setCursor(0);
    now += 1000;
    expect(await pass()).toMatchObject({ failed: 0 });
    expect(await attrs('dev-3')).toMatchObject({ ota_status: 'boot_mismatch' });
  });

  it('the next update of a device whose mismatch alarm is still open is judged on its own: no boot, boot_mismatch again', async () => {
    const sm = await hawkbit.createSoftwareModule({ name: 'fw', version: '2.4.0', type: 'os' });
    const ds = await hawkbit.createDistributionSet({ name: 'fw', version: '2.4.0', type: 'os', modules: [{ id: sm.id }] });
    await hawkbit.assignDistributionSet('dev-3', ds.id, 'forced');
    now += 1000;
    await pass();
    await report('dev-3', 'success'); // dev-3 still runs neither 2.3.0 nor 2.4.0
    now += 1000;
    await pass();
    expect(await attrs('dev-3')).toMatchObject({ ota_status: 'success', ota_target_version: '2.4.0' });
    now += 61_000;
    expect(await pass()).toMatchObject({ bootMismatches: 1 });
    expect(await attrs('dev-3')).toMatchObject({ ota_status: 'boot_mismatch' });
  });
});
