import path from 'node:path';
import { createLogger, loadConfig, OPERATORS_CUSTOMER, type EntityData, type ThingsBoardClient } from '@cdm/common';
import { enroll, type Fleet } from '@cdm/device';
import { bridgeEnv, defaultContext, ensureTestTools } from '@cdm/stack';
import { composeTenantSync, DEVICE_WIDGET_FQN, OPERATOR_DASHBOARD, tenantSyncConfig } from '@cdm/tenant-sync';
import { mountWidget } from '../../tenant-sync/src/thingsboard-ui.test-helpers.ts';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { fleetScene } from './e2e.test-helpers.ts';

/**
 * An operator's path from ThingsBoard to a device: the 'cdm devices' dashboard tenant-sync
 * provisioned, read as the operator (a ThingsBoard customer user) with the device enroll-bridge
 * assigned to their customer; the dashboard's cdm widget run on the values ThingsBoard gives the
 * operator for that device (its controller, as ThingsBoard's UI runs it: the local stack's
 * ThingsBoard is built without its web UI, see stack/src/services/thingsboard-build.ts); the link
 * it opens followed in a real browser to the fleet API's page, Keycloak sign-in, and the operation
 * run on a simulated device over mutual-TLS MQTT.
 */
const stack = inject('stack');
const scene = await fleetScene(stack, 'dash');
let browser: Browser | undefined;
let fleet: Fleet | undefined;
let deviceId = '';
let dashboardId = '';
let operator: { id?: { id: string }; email: string; authority: string };

beforeAll(async () => {
  await ensureTestTools('chromium');
  // tenant-sync's pass, as it runs: people, the Operators customer and the dashboard for the fleet API's page.
  const env = { ...bridgeEnv(stack, defaultContext().stateDir)['tenant-sync'], TOKEN_STORE_DIR: path.join(scene.tmp, 'ts-tokens'), FLEET_UI_URL: scene.pageUrl, LOG_LEVEL: 'warn' };
  const ts = composeTenantSync(loadConfig(tenantSyncConfig, env), createLogger('tenant-sync', { level: 'silent' }));
  const pass = await ts.sync.apply();
  expect(pass.failed).toEqual([]);
  const as: ThingsBoardClient = scene.tbAdmin;
  const customer = (await as.findCustomerByTitle(OPERATORS_CUSTOMER))!;
  const users: (typeof operator)[] = [];
  for await (const p of as.customerUserPages(customer.id!.id)) users.push(...p);
  operator = users.find((u) => u.email === `${scene.people.operator}@e2e.example`)!;
  for await (const p of as.tenantDashboardPages({ textSearch: OPERATOR_DASHBOARD })) dashboardId ||= p.find((d) => d.title === OPERATOR_DASHBOARD)?.id?.id ?? '';
  expect(dashboardId).not.toBe('');

  const identity = await enroll(scene.enrollUrl, await scene.claim(1), `DASH${scene.run.toUpperCase()}`);
  deviceId = identity.id;
  fleet = scene.simulate([identity]);
  await fleet.start();
  await scene.call('operator', 'PATCH', `/devices/${deviceId}/shadow`, { version: 0, desired: { sampling_interval_s: 9 } });
  browser = await chromium.launch({ executablePath: '/usr/lib/chromium/chromium', args: ['--no-sandbox'] });
}, 300_000);

afterAll(async () => {
  await browser?.close();
  await fleet?.stop();
  // The pass also made the other tenant's ThingsBoard tenant; the scene removes only its own.
  for await (const p of scene.tbSys.tenantPages()) for (const t of p) if ((t.additionalInfo as { cdmId?: string } | null)?.cdmId === scene.otherTenantId) await scene.tbSys.deleteTenant(t.id!.id);
  await scene.close();
}, 120_000);

describe("the operators' dashboard, from ThingsBoard to the device", () => {
  it('shows the operator the device and its shadow, offers only their operations, and runs diagnostics through the fleet page', async () => {
    const op = await scene.tbAdmin.actAs(operator.id!.id);
    // The dashboard and its widget, as the operator reads them.
    const dash = (await op.getDashboard(dashboardId))!;
    const widget = Object.values(dash.configuration.widgets as Record<string, { typeFullFqn: string; config: { datasources: { dataKeys: { name: string }[] }[]; settings: object } }>).find(
      (w) => w.typeFullFqn === `tenant.${DEVICE_WIDGET_FQN}`,
    )!;
    const type = (await op.getWidgetType(`tenant.${DEVICE_WIDGET_FQN}`))!;
    // The device table's alias (all devices the operator may see) with the widget's keys.
    const keys = widget.config.datasources[0]!.dataKeys.map((k) => k.name);
    const rows: EntityData[] = [];
    for await (const p of op.deviceDataPages(keys.map((key) => ({ type: 'ATTRIBUTE' as const, key })))) rows.push(...p);
    const row = rows.find((r) => r.latest.ENTITY_FIELD?.name?.value === deviceId);
    expect(row, 'the operator sees the device (assigned to their customer)').toBeDefined();
    const values = Object.fromEntries(Object.entries(row!.latest.ATTRIBUTE ?? {}).map(([k, v]) => [k, v.value]));

    const w = mountWidget(String(type.descriptor.controllerScript), { settings: widget.config.settings, authority: operator.authority, entityName: deviceId, values });
    expect(w.scope).toMatchObject({ device: deviceId, state: 'in sync', version: 1, reportedVersion: 1, online: true });
    expect(w.scope.ops.map((o: { label: string }) => o.label)).toEqual(['Diagnostics', 'Reboot', 'Apply configuration']);
    w.scope.open('diagnostics');
    expect(w.opened).toHaveLength(1);
    const [url, target, features] = w.opened[0]!;
    expect([target, features]).toEqual(['_blank', 'noopener']);

    const page = await (await browser!.newContext()).newPage();
    const seen: string[] = [];
    page.on('pageerror', (e) => seen.push(`error: ${e.message}`));
    const explain = (err: unknown): never => {
      throw new Error(`${(err as Error).message}\nat: ${page.url().replace(/code=[^&]+/, 'code=…')}\n${seen.join('\n')}`);
    };
    await page.goto(url!);
    await page.waitForSelector('#username', { timeout: 30_000 }).catch(explain);
    await page.fill('#username', scene.people.operator);
    await page.fill('#password', scene.password);
    await page.click('#kc-login');
    await page.locator('#status', { hasText: 'signed in' }).waitFor({ timeout: 30_000 }).catch(explain);
    expect(Object.fromEntries(new URL(page.url()).searchParams)).toEqual({ device: deviceId, op: 'diagnostics' });
    // The operation's button has the focus; nothing ran until the operator pressed it.
    expect(await page.locator('#op-diagnostics:focus').count()).toBe(1);
    expect((await scene.call('operator', 'GET', `/devices/${deviceId}/commands`)).body.commands).toEqual([]);
    await page.click('#op-diagnostics');
    await page.locator('#command-status[data-status="successful"]').waitFor({ timeout: 60_000 }).catch(explain);
    await page.context().close();
  }, 240_000);
});
