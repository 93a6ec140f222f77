import { enroll, type Fleet } from '@cdm/device';
import { ensureTestTools } from '@cdm/stack';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { fleetScene, type Role } from './e2e.test-helpers.ts';

/**
 * The operator's device page (what ThingsBoard's cdm widget opens) in a real browser: Keycloak
 * sign-in, the device and its shadow, operations offered by the person's role, a command run to its
 * outcome on a simulated device that speaks the agent protocol over mutual-TLS MQTT to the real
 * ThingsBoard.
 */
const stack = inject('stack');
const scene = await fleetScene(stack, 'page');
let browser: Browser | undefined;
let fleet: Fleet | undefined;
let deviceId = '';

beforeAll(async () => {
  await ensureTestTools('chromium');
  const identity = await enroll(scene.enrollUrl, await scene.claim(1), `PAGE${scene.run.toUpperCase()}`);
  deviceId = identity.id;
  fleet = scene.simulate([identity]);
  await fleet.start();
  expect(fleet.stats().connected).toBe(1);
  browser = await chromium.launch({ executablePath: '/usr/lib/chromium/chromium', args: ['--no-sandbox'] });
}, 300_000);

afterAll(async () => {
  await browser?.close();
  await fleet?.stop();
  await scene.close();
}, 120_000);

/** A fresh browser (no Keycloak session) signed in as `who` on the device page; failures say what the page showed. */
async function signedIn(who: Role): Promise<{ page: Page; explain: (err: unknown) => never }> {
  const page = await (await browser!.newContext()).newPage();
  const seen: string[] = [];
  page.on('console', (m) => seen.push(`console: ${m.text()}`));
  page.on('pageerror', (e) => seen.push(`error: ${e.message}`));
  page.on('dialog', (d) => void d.accept());
  const explain = (err: unknown): never => {
    throw new Error(`${(err as Error).message}\npage: ${page.url().replace(/code=[^&]+/, 'code=…')}\n${seen.join('\n')}`);
  };
  await page.goto(`${scene.pageUrl}/?device=${deviceId}`);
  await page.waitForSelector('#username', { timeout: 30_000 }); // Keycloak's login form
  await page.fill('#username', scene.people[who]);
  await page.fill('#password', scene.password);
  await page.click('#kc-login');
  await page.waitForURL((u) => u.origin === scene.pageUrl && !u.searchParams.has('code'), { timeout: 30_000 }).catch(explain);
  return { page, explain };
}

const disabled = async (page: Page, ids: string[]) => Object.fromEntries(await Promise.all(ids.map(async (id) => [id, await page.locator(`#${id}`).isDisabled()] as const)));
const OPS = ['op-diagnostics', 'op-reboot', 'op-config-apply', 'op-factory-reset', 'op-recovery', 'config-save'];

describe('device page (opened from ThingsBoard)', () => {
  it('an operator signs in, sees the device and its shadow, gets diagnostics back and saves a configuration; admin-only operations are not offered', async () => {
    const { page, explain } = await signedIn('operator');
    await page.locator('#status', { hasText: 'signed in' }).waitFor({ timeout: 30_000 }).catch(explain);
    expect(new URL(page.url()).searchParams.get('device')).toBe(deviceId); // the query survived the round trip, the code did not
    expect(await page.locator('#facts').textContent()).toContain(scene.tenantId);
    expect(await disabled(page, OPS)).toEqual({ 'op-diagnostics': false, 'op-reboot': false, 'op-config-apply': false, 'op-factory-reset': true, 'op-recovery': true, 'config-save': false });

    await page.click('#op-diagnostics');
    await page.locator('#command-status[data-status="successful"]').waitFor({ timeout: 60_000 }).catch(explain);
    const result = JSON.parse((await page.locator('#command-result').textContent())!) as {
      sensors?: Record<string, unknown>;
      self_test?: { ok: boolean; checks: { name: string }[] };
      logs?: string[];
    };
    expect(result.sensors).toMatchObject({ battery_pct: expect.any(Number), signal_dbm: expect.any(Number) });
    expect(result.self_test?.checks.map((t) => t.name)).toEqual(['10-battery', '20-radio']);
    expect(result.logs?.length).toBeGreaterThan(0);

    await page.fill('textarea[name=desired]', '{"sampling_interval_s": 7}');
    await page.click('#config-save');
    await page.locator('#status', { hasText: 'desired configuration saved' }).waitFor({ timeout: 30_000 }).catch(explain);
    // The simulated device applies it and reports it back: the shadow converges.
    await scene.until(
      'shadow in sync',
      () => scene.call('operator', 'GET', `/devices/${deviceId}/shadow`),
      (r) => r.body.state === 'in-sync' && r.body.reported.sampling_interval_s === 7,
    );
    const trail = await scene.call('admin', 'GET', `/audit?tenant=${scene.tenantId}`);
    expect(trail.body.entries.map((e: { actorName: string; action: string }) => `${e.actorName} ${e.action}`)).toEqual(
      expect.arrayContaining([`${scene.people.operator} command.diagnostics`, `${scene.people.operator} shadow.write`]),
    );
    await page.context().close();
  }, 180_000);

  it('an admin factory-resets the device from the page (after confirming); on-call may only reboot and ask for diagnostics', async () => {
    const oncall = await signedIn('oncall');
    await oncall.page.locator('#status', { hasText: 'signed in' }).waitFor({ timeout: 30_000 }).catch(oncall.explain);
    expect(await disabled(oncall.page, OPS)).toEqual({ 'op-diagnostics': false, 'op-reboot': false, 'op-config-apply': true, 'op-factory-reset': true, 'op-recovery': true, 'config-save': true });
    await oncall.page.context().close();

    const before = fleet!.agent(deviceId)!.actions.factoryResets;
    const admin = await signedIn('admin');
    await admin.page.locator('#status', { hasText: 'signed in' }).waitFor({ timeout: 30_000 }).catch(admin.explain);
    expect(await disabled(admin.page, OPS)).toEqual(Object.fromEntries(OPS.map((id) => [id, false])));
    await admin.page.click('#op-factory-reset');
    await admin.page.locator('#command-status[data-status="successful"]').waitFor({ timeout: 60_000 }).catch(admin.explain);
    expect(fleet!.agent(deviceId)!.actions.factoryResets).toBe(before + 1);
    await admin.page.context().close();
  }, 180_000);

  it("attack: an admin of another tenant signs in and gets nothing of this tenant's device", async () => {
    const { page, explain } = await signedIn('outsider');
    await page
      .locator('#status', { hasText: `no device ${deviceId} in your tenants` })
      .waitFor({ timeout: 30_000 })
      .catch(explain);
    expect(await page.locator('#operations button').count()).toBe(0);
    expect(await page.locator('#facts').textContent()).toBe('');
    await page.context().close();
  }, 120_000);
});
