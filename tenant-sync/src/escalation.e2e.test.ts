import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { GrafanaClient, KeycloakClient, TenantActors, ThingsBoardClient, createLogger, loadConfig, type AlarmSeverity, type EntityId } from '@cdm/common';
import { bridgeEnv, createPerson, createTenantGroup, defaultContext, startWebhookReceiver, type TestTenant } from '@cdm/stack';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { composeTenantSync } from './compose.ts';
import { tenantSyncConfig } from './config.ts';

/**
 * Escalation on the real ThingsBoard CE: tenant-sync turns a tenant's roles in Keycloak into
 * ThingsBoard notification targets and rules; ThingsBoard itself notifies (Teams message cards)
 * the test webhook receiver — operators at once, on-call when a critical alarm is still
 * unacknowledged after ESCALATE_AFTER, nobody further once it is acknowledged.
 */
const stack = inject('stack');
const ESCALATE_S = 6;
const run = crypto.randomBytes(3).toString('hex');
const receiver = await startWebhookReceiver();
const env = {
  ...bridgeEnv(stack, defaultContext().stateDir)['tenant-sync'],
  TOKEN_STORE_DIR: fs.mkdtempSync(path.join(os.tmpdir(), 'cdm-tokens-')),
  ESCALATION_WEBHOOK_URL: `${receiver.url}/notify`,
  ESCALATE_AFTER: `${ESCALATE_S}s`,
  LOG_LEVEL: 'warn',
};
const config = loadConfig(tenantSyncConfig, env);
const ts = composeTenantSync(config, createLogger('escalation-e2e', { level: 'silent' }));
const kc = new KeycloakClient({ baseURL: stack.keycloak!.url, realm: 'cdm', authRealm: 'master', clientId: 'admin-cli', username: 'admin', password: 'admin' });
const tb = new ThingsBoardClient({ baseURL: config.THINGSBOARD_URL, username: config.THINGSBOARD_USERNAME, password: config.THINGSBOARD_PASSWORD });
const grafana = new GrafanaClient({ baseURL: config.GRAFANA_URL, username: config.GRAFANA_USERNAME, password: config.GRAFANA_PASSWORD });
const orgId = async () => (await grafana.getOrgByName(`e2e-esc-${run}`))!.id;
let tenant: TestTenant;
const people: Record<string, string> = {};
let as: ThingsBoardClient;
let tenantEntity: EntityId;

beforeAll(async () => {
  tenant = await createTenantGroup(kc, `e2e-esc-${run}`);
  people.olga = await createPerson(kc, { username: `olga-${run}`, password: 'x-E2e-pass-1', groups: [tenant.roles.operator] });
  people.oscar = await createPerson(kc, { username: `oscar-${run}`, password: 'x-E2e-pass-1', groups: [tenant.roles.oncall] });
  // The first pass makes the ThingsBoard tenant, the second its escalation (it acts inside the tenant).
  for (let i = 0; i < 2; i++) expect((await ts.sync.apply()).failed).toEqual([]);
  const actors = new TenantActors(tb);
  as = await actors.actor(tenant.id);
  tenantEntity = { id: await actors.tenantId(tenant.id), entityType: 'TENANT' };
}, 300_000);

afterAll(async () => {
  await receiver.close();
  await kc.deleteGroup(tenant.id).catch(() => undefined);
  for (const id of Object.values(people)) await kc.deleteUser(id).catch(() => undefined);
  await ts.sync.apply().catch(() => undefined);
}, 300_000);

/** Raises an alarm on the tenant and returns what reached the webhook for it within `ms`. */
async function raise(type: string, severity: AlarmSeverity, o: { ackAfterMs?: number; watchMs: number }) {
  const t0 = Date.now();
  const alarm = await as.saveAlarm({ type, name: type, originator: tenantEntity, severity, status: 'ACTIVE_UNACK', acknowledged: false, cleared: false, details: {} });
  if (o.ackAfterMs !== undefined) {
    await new Promise((r) => setTimeout(r, o.ackAfterMs));
    await as.ackAlarm(alarm.id!.id);
  }
  await new Promise((r) => setTimeout(r, Math.max(0, o.watchMs - (Date.now() - t0))));
  return receiver.received.filter((n) => JSON.stringify(n.body).includes(type)).map((n) => ({ who: n.path.split('/').slice(1).join('/'), afterS: Math.round((n.at - t0) / 100) / 10 }));
}

describe('alarm escalation (tenant-sync → real ThingsBoard → webhook)', () => {
  it('keeps one target per person and two rules; a further pass changes nothing', async () => {
    const names = async (kind: 'target' | 'rule') => {
      const out: string[] = [];
      for await (const p of as.notificationPages(kind)) out.push(...p.map((x) => x.name));
      return out.filter((n) => n.startsWith('cdm ')).sort();
    };
    expect(await names('target')).toEqual([`cdm oncall ${people.oscar}`, `cdm operator ${people.olga}`]);
    expect(await names('rule')).toEqual(['cdm critical', 'cdm warning']);
    const plan = await ts.sync.plan();
    for (const system of ['thingsboard-escalation', 'grafana']) expect(plan.systems.find((s) => s.system === system)!.actions.filter((a) => a.cdmId === tenant.id)).toEqual([]);
  });

  it("gives the tenant's Grafana org the same routes: operators for every alert, on-call for critical ones still firing after the delay", async () => {
    const points = (await grafana.listContactPoints(await orgId())).map((c) => `${c.name} ${c.settings.url}`).sort();
    expect(points).toEqual([`cdm oncall ${env.ESCALATION_WEBHOOK_URL}/${tenant.id}/oncall/${people.oscar}`, `cdm operators ${env.ESCALATION_WEBHOOK_URL}/${tenant.id}/operator/${people.olga}`]);
    expect(await grafana.getPolicyTree(await orgId())).toMatchObject({
      receiver: 'cdm operators',
      routes: [
        { receiver: 'cdm operators', object_matchers: [['severity', '=', 'critical']], continue: true },
        { receiver: 'cdm oncall', object_matchers: [['severity', '=', 'critical']], group_wait: `${ESCALATE_S}s` },
      ],
    });
  });

  it('a critical alarm left unacknowledged reaches the operator at once, then on-call after the delay', async () => {
    const got = await raise(`Offline Cluster: site=e2e-${run}`, 'CRITICAL', { watchMs: (ESCALATE_S + 8) * 1000 });
    console.log('critical, unacknowledged:', JSON.stringify(got));
    expect(got.map((g) => g.who)).toEqual([`${tenant.id}/operator/${people.olga}`, `${tenant.id}/oncall/${people.oscar}`]);
    expect(got[0]!.afterS).toBeLessThan(ESCALATE_S);
    expect(got[1]!.afterS).toBeGreaterThanOrEqual(ESCALATE_S);
  });

  it('a critical alarm acknowledged in time stops at the operator', async () => {
    const got = await raise(`OTA Rollout Paused e2e-${run}`, 'CRITICAL', { ackAfterMs: 1500, watchMs: (ESCALATE_S + 8) * 1000 });
    console.log('critical, acknowledged after 1.5 s:', JSON.stringify(got));
    expect(got.map((g) => g.who)).toEqual([`${tenant.id}/operator/${people.olga}`]);
  });

  it('a warning reaches the operator only', async () => {
    const got = await raise(`Unusual Values e2e-${run}`, 'WARNING', { watchMs: (ESCALATE_S + 8) * 1000 });
    expect(got.map((g) => g.who)).toEqual([`${tenant.id}/operator/${people.olga}`]);
  });

  it("removes a deleted group's routes: its people are gone, the tenant's alarms notify no one", async () => {
    await kc.deleteGroup(tenant.id);
    expect((await ts.sync.apply()).failed).toEqual([]);
    const left: string[] = [];
    for (const kind of ['target', 'rule'] as const) for await (const p of as.notificationPages(kind)) left.push(...p.map((x) => x.name).filter((n) => n.startsWith('cdm ')));
    expect(left).toEqual([]);
    expect(await grafana.listContactPoints(await orgId())).toEqual([]);
    expect((await grafana.getPolicyTree(await orgId())).receiver).toBe('grafana-default-email');
    expect(await raise(`Offline Cluster: site=gone-${run}`, 'CRITICAL', { watchMs: 3000 })).toEqual([]);
  });
});
