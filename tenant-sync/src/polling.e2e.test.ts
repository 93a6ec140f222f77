import crypto from 'node:crypto';
import { HawkbitClient, HawkbitDdiClient, KeycloakClient, rolloutBody, startWhenReady, targetDescription } from '@cdm/common';
import { createTenantGroup } from '@cdm/stack';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { desiredTenants } from './desired.ts';
import { POLLING_ATTRIBUTE, readKeycloak } from './keycloak-snapshot.ts';
import { POLLING_KEY, type PollingPolicy } from './polling-plan.ts';
import { HawkbitPollingSync } from './polling-sync.ts';

/**
 * Device polling on the real Keycloak and hawkBit 1.0.4: a tenant's `pollingInterval` group
 * attribute becomes an override in hawkBit's pollingTime, and hawkBit tells each device, on its
 * DDI poll, the interval that applies to it: its tenant's, the short one while its tenant has a
 * rollout under way, the default otherwise — with the jitter that spreads a fleet's polls.
 */
const stack = inject('stack');
const run = crypto.randomBytes(3).toString('hex');
const kc = new KeycloakClient({ baseURL: stack.keycloak!.url, realm: 'cdm', authRealm: 'master', clientId: 'admin-cli', username: 'admin', password: 'admin' });
const hb = stack.hawkbit!;
const hawkbit = new HawkbitClient({ baseURL: hb.url, username: hb.credentials!.username!, password: hb.credentials!.password! });
const exact: PollingPolicy = { interval: '06:00:00', whileUpdating: '00:05:00', jitterPercent: 0 };
const ids = { mine: `poll-${run}-mine`, other: `poll-${run}-other`, updating: `poll-${run}-upd` };
const ddi: Record<string, HawkbitDdiClient> = {};
let tenantId = '';
let updatingId = '';
let rolloutId = 0;
let before: unknown;
const HOUR = 3_600_000;

/** The group attribute as an ops person sets it in Keycloak's console (admin REST). */
async function setGroupAttribute(groupId: string, name: string, value: string): Promise<void> {
  const url = `${stack.keycloak!.url}/admin/realms/cdm/groups/${groupId}`;
  const headers = { authorization: `Bearer ${await kc.accessToken()}`, 'content-type': 'application/json' };
  const group = (await (await fetch(url, { headers })).json()) as Record<string, unknown>;
  const r = await fetch(url, { method: 'PUT', headers, body: JSON.stringify({ ...group, attributes: { [name]: [value] } }) });
  expect(r.status, await r.text()).toBe(204);
}

/** What Keycloak says now, as a tenant-sync pass reads it, applied by the projection alone. */
async function syncPolling(policy: PollingPolicy): Promise<string> {
  const sync = new HawkbitPollingSync({ hawkbit, policy });
  const desired = desiredTenants(await readKeycloak(kc, '/tenants'));
  const actions = sync.plan(desired, await sync.read(), new Set());
  await sync.apply('*', actions);
  return String(await hawkbit.getConfig(POLLING_KEY));
}

beforeAll(async () => {
  before = await hawkbit.getConfig(POLLING_KEY);
  tenantId = (await createTenantGroup(kc, `e2e-poll-${run}`)).id;
  await setGroupAttribute(tenantId, POLLING_ATTRIBUTE, '01:00:00');
  updatingId = (await createTenantGroup(kc, `e2e-poll-upd-${run}`)).id;
  await setGroupAttribute(updatingId, POLLING_ATTRIBUTE, '01:00:00'); // under way beats its own interval
  await hawkbit.setConfig('authentication.targettoken.enabled', true);
  const made = await hawkbit.createTargets([
    { controllerId: ids.mine, name: ids.mine, description: targetDescription(tenantId) },
    { controllerId: ids.other, name: ids.other, description: targetDescription(`elsewhere-${run}`) },
    { controllerId: ids.updating, name: ids.updating, description: targetDescription(updatingId) },
  ]);
  for (const t of made) ddi[t.controllerId] = new HawkbitDdiClient({ baseURL: hb.url, controllerId: t.controllerId, securityToken: t.securityToken });
  const sm = await hawkbit.createSoftwareModule({ name: `poll-${run}`, version: '1.0.0', type: 'os' });
  const ds = await hawkbit.createDistributionSet({ name: `poll-${run}`, version: '1.0.0', type: 'os', description: targetDescription(updatingId), modules: [{ id: sm.id }] });
  const r = await hawkbit.createRollout(
    rolloutBody({ version: '1.0.0', tenant: { cdmId: updatingId, name: `e2e-poll-upd-${run}` }, groups: [100], successPct: 100, errorPct: 100, holdSeconds: 0, action: 'forced' }, ds.id),
  );
  rolloutId = r.id;
  await startWhenReady(hawkbit, r);
}, 120_000);

afterAll(async () => {
  if (typeof before === 'string') await hawkbit.setConfig(POLLING_KEY, before);
  if (rolloutId) await hawkbit.deleteRollout(rolloutId).catch(() => undefined);
  for (const id of Object.values(ids)) await hawkbit.deleteTarget(id).catch(() => undefined);
  for (const id of [tenantId, updatingId]) if (id) await kc.deleteGroup(id).catch(() => undefined);
});

describe('device polling from the tenant (real Keycloak and hawkBit)', () => {
  it("tells each device its interval: its tenant's, 5 min while its tenant has a rollout under way, 6 h otherwise", async () => {
    const value = await syncPolling(exact);
    expect(value).toContain(`description=="${targetDescription(tenantId)}" -> 01:00:00`);
    expect((await ddi[ids.mine]!.poll()).sleepMs).toBe(HOUR);
    expect((await ddi[ids.other]!.poll()).sleepMs).toBe(6 * HOUR);
    expect((await ddi[ids.updating]!.poll()).sleepMs).toBe(5 * 60_000);
    // A second pass finds hawkBit as it should be and writes nothing.
    const sync = new HawkbitPollingSync({ hawkbit, policy: exact });
    expect(sync.plan(desiredTenants(await readKeycloak(kc, '/tenants')), await sync.read(), new Set())).toEqual([]);
  });

  it('spreads the polls by the jitter, within ± its share of the interval', async () => {
    await syncPolling({ ...exact, jitterPercent: 10 });
    const sleeps = [];
    for (let i = 0; i < 6; i++) sleeps.push((await ddi[ids.other]!.poll()).sleepMs);
    for (const s of sleeps) expect(Math.abs(s - 6 * HOUR)).toBeLessThanOrEqual(0.1 * 6 * HOUR);
    expect(new Set(sleeps).size).toBeGreaterThan(1);
  });
});
