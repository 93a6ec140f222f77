import { execFile, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { Point } from '@influxdata/influxdb-client';
import { GrafanaClient, InfluxClient, KeycloakClient, RequestCounts, ThingsBoardClient, createLogger, loadConfig, type Tenant } from '@cdm/common';
import { bridgeEnv, createTenantGroup, defaultContext, startBridge, type TestTenant } from '@cdm/stack';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { composeTenantSync } from './compose.ts';
import { tenantSyncConfig } from './config.ts';
import type { PassResult } from './reconcile.ts';
import { Triggers } from './triggers.ts';
import { DATASOURCE_UID } from './grafana-plan.ts';
import { HAWKBIT_ADMIN } from './hawkbit-plan.ts';
import { bucketName } from './influx-plan.ts';
import { InfluxSync } from './influx-sync.ts';
import { bridgeAdminEmail, OPERATORS_CUSTOMER } from './thingsboard-plan.ts';
import { DEVICE_WIDGET_FQN, OPERATOR_DASHBOARD, operatorUi } from './thingsboard-ui.ts';

/**
 * tenant-sync against the local stack: the real Keycloak (owner of tenants and people), the real
 * ThingsBoard, and the Grafana and InfluxDB 2 contract fakes (InfluxDB data through the real influxd 1.8).
 * A test admin edits Keycloak as a person would; tenant-sync runs with the wiring main.ts uses.
 */
const stack = inject('stack');
const ctx = defaultContext();
const run = crypto.randomBytes(3).toString('hex');
const tokenDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cdm-tokens-'));
const env = { ...bridgeEnv(stack, ctx.stateDir)['tenant-sync'], TOKEN_STORE_DIR: tokenDir, LOG_LEVEL: 'warn' };
const config = loadConfig(tenantSyncConfig, env);
const logger = createLogger('tenant-sync-e2e', { level: (process.env.E2E_LOG as 'info' | undefined) || 'silent' });
const counts = new RequestCounts();
const ts = composeTenantSync(config, logger, { observer: counts.observer });
const children: ChildProcess[] = [];
afterAll(() => children.forEach((c) => c.kill('SIGTERM')));
const kcAdmin = new KeycloakClient({ baseURL: stack.keycloak!.url, realm: 'cdm', authRealm: 'master', clientId: 'admin-cli', username: 'admin', password: 'admin' });
const tb = new ThingsBoardClient({ baseURL: config.THINGSBOARD_URL, username: config.THINGSBOARD_USERNAME, password: config.THINGSBOARD_PASSWORD });
const grafana = new GrafanaClient({ baseURL: config.GRAFANA_URL, username: config.GRAFANA_USERNAME, password: config.GRAFANA_PASSWORD });
const influx = new InfluxClient({ baseURL: config.INFLUXDB_URL, token: config.INFLUXDB_TOKEN });

const names = { a: `e2e-${run}-a`, b: `e2e-${run}-b` };
const ids: Record<string, string> = {};
const tenants: Record<string, TestTenant> = {};
const users: Record<string, string> = {};
const email = (u: string) => `${u}-${run}@e2e.example`;
/** Someone in both tenants has their own email in the first by id, a plus-address in the other (ocho always). */
const inBoth = (u: string, cdmId: string) => ([ids.a!, ids.b!].sort()[0] === cdmId ? email(u) : `${u}-${run}+${cdmId.replace(/-/g, '').slice(0, 8)}@e2e.example`);
const ocho = (cdmId: string) => inBoth('ocho', cdmId);

async function all<T>(it: AsyncIterable<T[]>): Promise<T[]> {
  const out: T[] = [];
  for await (const p of it) out.push(...p);
  return out;
}
const tbTenant = async (cdmId: string): Promise<Tenant | undefined> => (await all(tb.tenantPages())).find((t) => (t.additionalInfo as { cdmId?: string } | undefined)?.cdmId === cdmId);
async function tbPeople(cdmId: string): Promise<{ admins: string[]; operators: string[] }> {
  const t = await tbTenant(cdmId);
  const admins = await all(tb.tenantUserPages(t!.id!.id));
  const as = await tb.actAs(admins.find((u) => u.email === bridgeAdminEmail(cdmId))!.id!.id);
  const customer = await as.findCustomerByTitle(OPERATORS_CUSTOMER);
  const operators = customer ? await all(as.customerUserPages(customer.id!.id)) : [];
  return { admins: admins.map((u) => u.email).sort(), operators: operators.map((u) => u.email).sort() };
}
/** The operators' dashboard of a tenant as one of its operators (a customer user) sees it, with the widget type it uses. */
async function operatorsDashboard(cdmId: string, operatorEmail: string) {
  const t = await tbTenant(cdmId);
  const as = await tb.actAs((await all(tb.tenantUserPages(t!.id!.id))).find((u) => u.email === bridgeAdminEmail(cdmId))!.id!.id);
  const info = (await all(as.tenantDashboardPages({ textSearch: OPERATOR_DASHBOARD }))).find((d) => d.title === OPERATOR_DASHBOARD);
  const customer = (await as.findCustomerByTitle(OPERATORS_CUSTOMER))!;
  const operator = (await all(as.customerUserPages(customer.id!.id))).find((u) => u.email === operatorEmail)!;
  const op = await as.actAs(operator.id!.id);
  const seen = info ? await op.getDashboard(info.id!.id) : undefined;
  const widget = await op.getWidgetType(`tenant.${DEVICE_WIDGET_FQN}`);
  return { as, info, seen, widget };
}
const grafanaOrg = async (name: string) => grafana.getOrgByName(name);
const grafanaRoles = async (orgId: number) => Object.fromEntries((await grafana.orgUsers(orgId)).filter((u) => u.login !== 'admin').map((u) => [u.email, u.role]));
async function hawkbitRoles(userId: string): Promise<string[]> {
  const client = await kcAdmin.findClient('hawkbit');
  const mapped = await kcAdmin.kc.users.listClientRoleMappings({ realm: 'cdm', id: userId, clientUniqueId: client!.id });
  return mapped.map((r) => r.name!).sort();
}
/** Non-GET requests the Grafana and InfluxDB 2 fakes saw since the last call (they record every request). */
async function fakeWrites(): Promise<string[]> {
  const out: string[] = [];
  for (const name of ['grafana', 'influxdb2']) {
    const url = stack[name]!.url;
    const log = (await (await fetch(`${url}/__fake/requests`)).json()) as { requests: { method: string; path: string }[]; violations: string[] };
    expect(log.violations, `${name} fake saw a call outside its contract`).toEqual([]);
    out.push(...log.requests.filter((r) => r.method !== 'GET').map((r) => `${name} ${r.method} ${r.path}`));
    await fetch(`${url}/__fake/requests`, { method: 'DELETE' });
  }
  return out;
}
async function until(ok: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await ok())) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
const cli = (args: string[]) =>
  promisify(execFile)('npx', ['tsx', 'src/main.ts', ...args], { cwd: path.resolve(import.meta.dirname, '..'), env: { ...process.env, ...env } }).then(
    (r) => ({ code: 0, out: r.stdout, err: r.stderr }),
    (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, out: e.stdout, err: e.stderr }),
  );

beforeAll(async () => {
  const parent = await kcAdmin.getGroupByPath('/tenants');
  // Groups left by an interrupted earlier run would be synced along; remove them first.
  for (const g of await kcAdmin.listSubGroups(parent!.id!)) if (g.name?.startsWith('e2e-') && g.id) await kcAdmin.deleteGroup(g.id);
  for (const k of ['a', 'b'] as const) {
    tenants[k] = await createTenantGroup(kcAdmin, names[k]);
    ids[k] = tenants[k].id;
  }
  const { a, b } = tenants as Record<'a' | 'b', TestTenant>;
  // olga: operator in a; alma: admin in a; ocho: operator + on-call in a and b; rel: release manager.
  const release = (await kcAdmin.getGroupByPath('/platform/release-managers'))!.id!;
  for (const [u, groups] of [
    ['olga', [a.roles.operator]],
    ['alma', [a.roles.admin, b.id]], // attack: admin of a, a plain member of b — must get nothing in b
    ['ocho', [a.roles.operator, a.roles.oncall, b.roles.operator, b.roles.oncall]],
    ['rel', [release]],
  ] as const) {
    users[u] = await kcAdmin.createUser({ username: `${u}-${run}`, email: email(u), firstName: u, lastName: 'E2e' });
    for (const g of groups) await kcAdmin.addUserToGroup(users[u]!, g);
  }
});

describe('tenant-sync on the local stack', () => {
  it('creates everything for new groups, people and roles', async () => {
    const r = await ts.sync.apply();
    expect(r.failed).toEqual([]);

    const a = await tbTenant(ids.a!);
    expect(a?.title).toBe(names.a);
    expect(await tbPeople(ids.a!)).toEqual({ admins: [email('alma'), bridgeAdminEmail(ids.a!)].sort(), operators: [ocho(ids.a!), email('olga')].sort() });
    expect(await tbPeople(ids.b!)).toEqual({ admins: [bridgeAdminEmail(ids.b!)], operators: [ocho(ids.b!)] });
    expect(await grafanaRoles((await grafanaOrg(names.b))!.id)).toEqual({ [email('ocho')]: 'Editor' });

    const orgA = await grafanaOrg(names.a);
    expect(await grafanaRoles(orgA!.id)).toEqual({ [email('alma')]: 'Admin', [email('olga')]: 'Editor', [email('ocho')]: 'Editor' });
    const ds = await grafana.getDataSourceByUid(orgA!.id, DATASOURCE_UID);
    expect(ds?.jsonData).toMatchObject({ version: 'Flux', organization: 'cdm', defaultBucket: bucketName(ids.a!), cdmTenantId: ids.a });
    expect((await grafana.search(orgA!.id, { type: 'dash-db', tag: 'cdm' })).map((d) => d.uid)).toContain('cdm-fleet-overview');
    // ThingsBoard: the operators' dashboard, assigned to the Operators customer, readable by an operator with its widget
    const ui = operatorUi(config.FLEET_UI_URL);
    const dash = await operatorsDashboard(ids.a!, email('olga'));
    expect(dash.seen?.configuration.cdm).toEqual({ managedBy: 'tenant-sync', version: ui.version });
    expect(dash.widget?.descriptor?.controllerScript).toBe(ui.widgetType.descriptor.controllerScript);

    // hawkBit rights only for the release manager: tenant roles cannot be scoped in hawkBit
    expect(await hawkbitRoles(users.rel!)).toEqual([...HAWKBIT_ADMIN].sort());
    expect(await hawkbitRoles(users.olga!)).toEqual([]);
    expect(await hawkbitRoles(users.alma!)).toEqual([]);
  });

  it('Grafana’s read tokens need nothing from an earlier InfluxDB read in the pass (no hidden order between projections)', async () => {
    const fresh = new InfluxSync({ influx, org: config.INFLUXDB_ORG, store: ts.store, retentionSeconds: 0 });
    const t = await fresh.mintReadToken(ids.a!);
    expect(t).toMatchObject({ bucket: bucketName(ids.a!), org: config.INFLUXDB_ORG, token: expect.any(String) });
    await fresh.deleteToken(t.id);
  });

  it('hands devices a write token that writes only their own tenant’s bucket', async () => {
    const stored = ts.store.get(ids.a!)!;
    expect(stored.bucket).toBe(bucketName(ids.a!));
    expect(fs.statSync(path.join(tokenDir, `${ids.a}.json`)).mode & 0o777).toBe(0o600);
    const device = new InfluxClient({ baseURL: config.INFLUXDB_URL, token: stored.token });
    await device.write('cdm', stored.bucket, [new Point('heartbeat').tag('device', `dev-${run}`).intField('uptime_s', 42)]);
    const rows = await influx.query<{ _value: number }>('cdm', `from(bucket: "${stored.bucket}") |> range(start: -1h) |> filter(fn: (r) => r.device == "dev-${run}")`);
    expect(rows.map((x) => x._value)).toEqual([42]);
    await expect(device.write('cdm', bucketName(ids.b!), [new Point('heartbeat').intField('uptime_s', 1)])).rejects.toThrow();
  });

  it('makes no write at all on a second pass with nothing changed', async () => {
    await fakeWrites();
    counts.take();
    const before = (await kcAdmin.recentAdminEvents(1))[0]?.time ?? 0;
    const since = Date.now();
    const r = await ts.sync.apply();
    expect(r).toMatchObject({ applied: 0, failed: [] });
    // What tenant-sync sent, counted by its own clients (ThingsBoard, Grafana, InfluxDB 2)...
    const sent = counts.take();
    expect(
      Object.values(sent).reduce((n, c) => n + c.writes, 0),
      JSON.stringify(sent),
    ).toBe(0);
    expect(sent.ThingsBoard?.reads).toBeGreaterThan(0);
    // ...and what the upstreams recorded: ThingsBoard's audit log of each tenant, the fakes' logs, Keycloak's admin events.
    for (const cdmId of [ids.a!, ids.b!]) {
      const as = await tb.actAs((await all(tb.tenantUserPages((await tbTenant(cdmId))!.id!.id))).find((u) => u.email === bridgeAdminEmail(cdmId))!.id!.id);
      expect((await all(as.auditLogPages({ startTime: since, actionTypes: 'ADDED,UPDATED,DELETED,CREDENTIALS_UPDATED,ACTIVATED' }))).map((l) => `${l.actionType} ${l.entityName}`)).toEqual([]);
    }
    expect(await fakeWrites()).toEqual([]);
    expect((await kcAdmin.recentAdminEvents(1))[0]?.time ?? 0).toBe(before);
  });

  it('moves a person between groups: access leaves with them within one pass', async () => {
    await kcAdmin.removeUserFromGroup(users.olga!, tenants.a!.roles.operator);
    await kcAdmin.addUserToGroup(users.olga!, tenants.b!.roles.operator);
    expect((await ts.sync.apply()).failed).toEqual([]);
    expect((await tbPeople(ids.a!)).operators).toEqual([ocho(ids.a!)]);
    expect((await tbPeople(ids.b!)).operators).toEqual([ocho(ids.b!), email('olga')].sort());
    expect(await grafanaRoles((await grafanaOrg(names.a))!.id)).not.toHaveProperty(email('olga'));
    expect(await grafanaRoles((await grafanaOrg(names.b))!.id)).toMatchObject({ [email('olga')]: 'Editor' });
  });

  it('after a Keycloak change reads again only the tenants its admin events name (and the person’s other tenant)', async () => {
    const passes: PassResult[] = [];
    const triggers = new Triggers({
      keycloak: ts.keycloak,
      logger,
      schedule: '0 0 1 1 *',
      fullEveryMs: 3_600_000,
      eventsPollMs: 3_600_000, // checked by hand below
      index: () => ts.sync.index(),
      pass: async (tenants) => {
        const r = await ts.sync.apply(tenants);
        passes.push(r);
        return r;
      },
      ownClientUser: await ts.keycloak.whoAmI(),
    });
    await triggers.start();
    try {
      await until(async () => passes.length === 1, 120_000); // the full pass at start
      expect(passes[0]).toMatchObject({ failed: [] });
      expect(passes[0]!.touched).toBeUndefined();
      // olga (operator in b) joins a's operators: a is named by the membership, b as her other tenant.
      await kcAdmin.addUserToGroup(users.olga!, tenants.a!.roles.operator);
      await triggers.checkEvents();
      expect(passes).toHaveLength(2);
      expect(passes[1]!.failed).toEqual([]);
      expect(passes[1]!.touched!.sort()).toEqual([ids.a!, ids.b!].sort());
      expect((await tbPeople(ids.a!)).operators).toEqual([ocho(ids.a!), inBoth('olga', ids.a!)].sort());
      expect((await tbPeople(ids.b!)).operators).toEqual([ocho(ids.b!), inBoth('olga', ids.b!)].sort());
      expect(await grafanaRoles((await grafanaOrg(names.a))!.id)).toMatchObject({ [email('olga')]: 'Editor' });
      await kcAdmin.removeUserFromGroup(users.olga!, tenants.a!.roles.operator);
      await triggers.checkEvents();
      expect(passes).toHaveLength(3);
      expect(passes[2]!.touched!.sort()).toEqual([ids.a!, ids.b!].sort());
      expect((await tbPeople(ids.a!)).operators).toEqual([ocho(ids.a!)]);
      expect((await tbPeople(ids.b!)).operators).toEqual([ocho(ids.b!), email('olga')].sort());
      await triggers.checkEvents();
      expect(passes).toHaveLength(3); // no new event, no pass
    } finally {
      await triggers.stop();
    }
  });

  it('corrects hand edits in ThingsBoard, Grafana and InfluxDB', async () => {
    const t = await tbTenant(ids.a!);
    await tb.saveTenant({ ...t!, title: 'renamed by hand' });
    const orgA = await grafanaOrg(names.a);
    await grafana.renameOrg(orgA!.id, `${names.a} (hand)`);
    const orgB = await grafanaOrg(names.b);
    const olgaB = (await grafana.orgUsers(orgB!.id)).find((u) => u.email === email('olga'))!;
    await grafana.setOrgUserRole(orgB!.id, olgaB.userId, 'Admin');
    const readToken = (await grafana.getDataSourceByUid(orgA!.id, DATASOURCE_UID))!.jsonData!.cdmTokenId as string;
    await influx.deleteAuthorization(readToken);
    const dash = await operatorsDashboard(ids.a!, ocho(ids.a!));
    await dash.as.saveDashboard({ ...dash.seen!, configuration: { ...dash.seen!.configuration, widgets: {}, cdm: undefined } });
    await dash.as.setDashboardCustomers(dash.info!.id!.id, []);

    const r = await ts.sync.apply();
    expect(r.failed).toEqual([]);
    expect((await tbTenant(ids.a!))?.title).toBe(names.a);
    expect((await grafanaOrg(names.a))?.id).toBe(orgA!.id);
    expect((await grafanaRoles(orgB!.id))[email('olga')]).toBe('Editor');
    const newToken = (await grafana.getDataSourceByUid(orgA!.id, DATASOURCE_UID))!.jsonData!.cdmTokenId;
    expect(newToken).not.toBe(readToken);
    expect((await influx.listAuthorizations((await influx.findOrg('cdm'))!.id)).map((x) => x.id)).toContain(newToken);
    const mended = await operatorsDashboard(ids.a!, ocho(ids.a!));
    expect(mended.info!.id!.id).toBe(dash.info!.id!.id);
    expect(mended.seen?.configuration).toEqual(operatorUi(config.FLEET_UI_URL).configuration);
    expect(await ts.sync.plan().then((p) => p.systems.flatMap((s) => s.actions))).toEqual([]);
  });

  it('disables a deleted group’s tenant: people out, devices, telemetry and dashboards kept', async () => {
    const t = await tbTenant(ids.b!);
    const admins = await all(tb.tenantUserPages(t!.id!.id));
    const as = await tb.actAs(admins.find((u) => u.email === bridgeAdminEmail(ids.b!))!.id!.id);
    await as.saveDevice({ name: `dev-b-${run}`, type: 'default' });
    await kcAdmin.deleteGroup(ids.b!);

    expect((await ts.sync.apply()).failed).toEqual([]);
    const after = await tbTenant(ids.b!);
    expect(after?.additionalInfo).toMatchObject({ cdmId: ids.b, cdmDisabled: true });
    expect(await tbPeople(ids.b!)).toEqual({ admins: [bridgeAdminEmail(ids.b!)], operators: [] });
    expect(await as.findDeviceByName(`dev-b-${run}`)).toBeDefined();
    const orgB = await grafanaOrg(names.b);
    expect(await grafanaRoles(orgB!.id)).toEqual({});
    expect((await grafana.search(orgB!.id, { type: 'dash-db', tag: 'cdm' })).length).toBeGreaterThan(0);
    const orgId = (await influx.findOrg('cdm'))!.id;
    expect(await influx.findBucket(orgId, bucketName(ids.b!))).toBeDefined();
    const writeB = (await influx.listAuthorizations(orgId)).filter((x) => x.description?.startsWith(`cdm:${ids.b}:device-write`));
    expect(writeB.map((x) => x.status)).toEqual(['inactive']);
  });

  it('purges only a deleted tenant, only with confirmation', async () => {
    expect(await cli(['purge', names.a, '--confirm', names.a])).toMatchObject({ code: 2, err: expect.stringContaining('still exists in Keycloak') });
    expect(await cli(['purge', names.b])).toMatchObject({ code: 2, err: expect.stringContaining('needs confirmation') });
    expect(await tbTenant(ids.b!)).toBeDefined();
    const done = await cli(['purge', names.b, '--confirm', names.b]);
    expect(done.code, done.err).toBe(0);
    expect(done.out).toContain(`purged "${names.b}"`);
    expect(await tbTenant(ids.b!)).toBeUndefined();
    expect(await grafanaOrg(names.b)).toBeUndefined();
    expect(await influx.findBucket((await influx.findOrg('cdm'))!.id, bucketName(ids.b!))).toBeUndefined();
    expect(ts.store.get(ids.b!)).toBeUndefined();
  });

  it('plan prints per system and apply exits 0 when in line', async () => {
    const plan = await cli(['plan']);
    expect(plan.code, plan.err).toBe(0);
    expect(plan.out).toContain('thingsboard: in line');
    expect(plan.out).toContain('nothing to change');
    expect((await cli(['apply'])).code).toBe(0);
  });

  it('keeps syncing the other systems while one upstream is down, and says which', async () => {
    const id = await kcAdmin.createGroup(`e2e-${run}-c`, (await kcAdmin.getGroupByPath('/tenants'))!.id);
    const broken = composeTenantSync({ ...config, GRAFANA_URL: 'http://127.0.0.1:9' }, logger);
    const r = await broken.sync.apply();
    expect(r.failed).toEqual([{ cdmId: '*', system: 'grafana', error: expect.stringContaining('Grafana') }]);
    expect((await tbTenant(id))?.title).toBe(`e2e-${run}-c`);
    expect(await grafanaOrg(`e2e-${run}-c`)).toBeUndefined();
    const apply = await cli(['apply']);
    expect(apply.code, apply.out).toBe(0);
    expect(await grafanaOrg(`e2e-${run}-c`)).toBeDefined();
    await kcAdmin.deleteGroup(id);
  });

  it('runs as a daemon: a pass on start, another soon after a Keycloak change, status in /metrics', async () => {
    // A schedule that never fires during the test: only start-up and the admin event can trigger.
    const child = startBridge(ctx.repoDir, 'tenant-sync', { ...env, SYNC_SCHEDULE: '0 0 1 1 *', EVENTS_POLL_SECONDS: '1', HEALTH_PORT: '29131' });
    children.push(child);
    const metric = async (name: string) => {
      const text = await (await fetch('http://127.0.0.1:29131/metrics')).text();
      return Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);
    };
    await until(async () => (await metric('cdm_tenant_sync_passes_total').catch(() => 0)) >= 1, 30_000);
    const t0 = Date.now();
    const id = await kcAdmin.createGroup(`e2e-${run}-d`, (await kcAdmin.getGroupByPath('/tenants'))!.id);
    await until(async () => (await tbTenant(id)) !== undefined, 20_000);
    console.log(`daemon: group created → ThingsBoard tenant in ${Date.now() - t0} ms (events polled every 1 s)`);
    await until(async () => (await metric('cdm_tenant_sync_passes_total')) >= 2, 10_000);
    expect(await metric('cdm_tenant_sync_tenants')).toBeGreaterThanOrEqual(2);
    const health = await fetch('http://127.0.0.1:29131/healthz');
    expect(((await health.json()) as { checks: Record<string, { ok: boolean }> }).checks.reconcile?.ok).toBe(true);
    await kcAdmin.deleteGroup(id);
  });

  it('cleans up its people and groups', async () => {
    for (const u of Object.values(users)) await kcAdmin.deleteUser(u);
    await kcAdmin.deleteGroup(ids.a!);
    expect((await ts.sync.apply()).failed).toEqual([]);
  });
});
