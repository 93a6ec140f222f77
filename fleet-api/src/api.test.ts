import fs from 'node:fs';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import express from 'express';
import { Validator } from '@seriousme/openapi-schema-validator';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { AuthError, UpstreamError, createLogger, TenantAuthority, type AuthorityReader, type DirectoryDevice } from '@cdm/common';
import { Contract } from '../../stack/src/fakes/contract.ts';
import { fleetRouter } from './api.ts';
import { CommandRunner } from './commands.ts';
import { FleetDevices } from './devices.ts';
import { FakeHawkbit, FakeThingsBoard } from './fleet.test-helpers.ts';
import { Deployments } from './deployments.ts';
import { CommandLoop } from './groups.ts';
import { openApiDocument } from './openapi.ts';
import { FleetStore } from './store.ts';

/**
 * The fleet API through HTTP with ThingsBoard and Keycloak in memory: the permission table, tenant
 * isolation, the shadow's optimistic concurrency, command delivery states, group operations with
 * their concurrency limit and crash recovery, and bad input. Every response is checked against the
 * served OpenAPI document (status documented, body valid).
 */
const contract = new Contract({ id: 'fleet-api', spec: openApiDocument() }, '/v1');
const log = createLogger('fleet-test', { level: 'silent' });

// Keycloak: tenants acme (A) and globex (B) with their role subgroups; people by id.
const groups = [
  { id: 'root', name: 'tenants' },
  { id: 'A', name: 'acme', parentId: 'root' },
  { id: 'B', name: 'globex', parentId: 'root' },
  { id: 'A-adm', name: 'admins', parentId: 'A' },
  { id: 'A-op', name: 'operators', parentId: 'A' },
  { id: 'A-oc', name: 'oncall', parentId: 'A' },
  { id: 'B-adm', name: 'admins', parentId: 'B' },
];
const membership: Record<string, string[]> = { ada: ['A-adm'], otto: ['A-op'], ona: ['A-oc'], mem: ['A'], bob: ['B-adm'] };
const reader: AuthorityReader = {
  getGroupByPath: async (p) => (p === '/tenants' ? groups[0] : undefined),
  listSubGroups: async (pid) => groups.filter((g) => g.parentId === pid),
  getUser: async (id) => (membership[id] ? { id, enabled: true } : undefined),
  userGroups: async (id) => groups.filter((g) => membership[id]?.includes(g.id)),
};

let clock = Date.parse('2026-11-29T10:00:00Z');
const now = () => clock;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'fleet-api-'));
let store: FleetStore;
let tb: FakeThingsBoard;
let hawkbit: FakeHawkbit;
/** enroll-bridge's admin API: records what it was asked with whose token; refuses when told to. */
const claimsAsked: { bearer: string; tenant: string; deviceId: string; expires: string }[] = [];
let enrollRefuses: UpstreamError | undefined;
const enrollAdmin = {
  createDeviceClaim: async (bearer: string, r: { tenant: string; deviceId: string; expires: string }) => {
    if (enrollRefuses) throw enrollRefuses;
    claimsAsked.push({ bearer, ...r });
    return { claim: { id: 'c-1', tenantId: r.tenant, deviceId: r.deviceId, usesLeft: 1, maxUses: 1, expiresAt: '2027-02-27T10:00:00.000Z' }, token: 'cdm_claim_secret' };
  },
};
let dir: Map<string, DirectoryDevice>;
let loop: CommandLoop;
let base = '';
let server: ReturnType<ReturnType<typeof express>['listen']> | undefined;

async function start(dataDir = path.join(tmp, String(Math.random()))) {
  server?.close();
  store = await FleetStore.open({ dataDir });
  const runner = new CommandRunner({ store, gateway: tb, logger: log, now });
  loop = new CommandLoop({ store, runner, logger: log, now, queuedRecheckMs: 0 });
  const directory = { get: async (id: string) => dir.get(id), lookup: async (ids: readonly string[]) => new Map([...dir].filter(([k]) => ids.includes(k))) };
  const app = express();
  app.use(
    '/v1',
    fleetRouter({
      deployments: new Deployments(hawkbit as never, 5000),
      enrollAdmin,
      verifier: { verify: async (t) => (t?.startsWith('u:') ? { sub: t.slice(2), username: t.slice(2), exp: 0 } : Promise.reject(new AuthError(401, 'no valid bearer token'))) },
      authority: new TenantAuthority(reader, { parentPath: '/tenants', ttlMs: 0 }),
      directory,
      devices: new FleetDevices(tb, directory),
      gateway: tb,
      store,
      runner,
      logger: log,
      limits: { confirmAbove: 20, maxGroup: 1000, defaultExpirySeconds: 3600, maxExpirySeconds: 86_400, maxConcurrency: 50 },
      now,
    }),
  );
  server = app.listen(0, '127.0.0.1');
  await new Promise((r) => server!.once('listening', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

beforeEach(async () => {
  tb = new FakeThingsBoard(now);
  hawkbit = new FakeHawkbit();
  dir = new Map();
  for (let i = 1; i <= 3; i++) dir.set(`a${i}`, tb.add('A', `a${i}`, { firmware: '1.0.0', metadata: { region: i === 3 ? 'us' : 'eu' } }));
  dir.set('b1', tb.add('B', 'b1'));
  await start();
});
afterAll(() => server?.close());

/** Passes of the command loop, a second apart. */
async function passes(n: number) {
  for (let i = 0; i < n; i++) {
    clock += 1000;
    await loop.pass();
  }
}

/** Calls the API and checks the answer against the OpenAPI document. */
async function call(method: string, url: string, who?: string, body?: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(`${base}/v1${url}`, {
    method,
    headers: { ...(who ? { authorization: `Bearer u:${who}` } : {}), ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const json = (await res.json()) as Record<string, any>;
  const mo = contract.match(method, `/v1${url.split('?')[0]}`);
  expect(Object.keys(mo.op.responses ?? {}), `${method} ${url} answered ${res.status}: ${JSON.stringify(json)}`).toContain(String(res.status));
  expect(contract.validateResponse(mo, res.status, json), `${method} ${url}`).toEqual([]);
  return { status: res.status, body: json, location: res.headers.get('location') };
}

describe('fleet API', () => {
  it('serves a valid OpenAPI 3.1 document that prints the permission table', async () => {
    const r = await call('GET', '/openapi.json');
    const v = await new Validator().validate(r.body);
    expect(v.errors ?? []).toEqual([]);
    expect(v.valid).toBe(true);
    expect(r.body.openapi).toBe('3.1.0');
    expect(r.body.info.description).toContain('| command.factory-reset | admin |');
  });

  it('permission table: operator reboots, only an admin factory-resets; refusals are audited', async () => {
    expect((await call('POST', '/devices/a1/command', 'otto', { operation: 'reboot' })).status).toBe(202);
    const refused = await call('POST', '/devices/a1/command', 'otto', { operation: 'factory-reset' });
    expect(refused).toMatchObject({ status: 403, body: { error: expect.stringMatching(/command.factory-reset needs the admin role/) } });
    expect((await call('POST', '/devices/a1/command', 'ona', { operation: 'recovery' })).status).toBe(403);
    expect((await call('POST', '/devices/a1/command', 'ada', { operation: 'factory-reset' })).status).toBe(202);
    expect((await call('POST', '/devices/a1/command', 'ona', { operation: 'diagnostics', params: { self_test: true } })).status).toBe(202);
    expect((await call('PATCH', '/devices/a1/shadow', 'ona', { version: 0, desired: { log_level: 'debug' } })).status).toBe(403);
    // A plain member of the tenant holds no role: nothing here.
    expect((await call('GET', '/devices/a1', 'mem')).status).toBe(403);
    const trail = await call('GET', '/audit?tenant=acme', 'ada');
    expect(trail.body.entries.map((e: any) => `${e.actorName} ${e.action} ${e.outcome}`)).toEqual(
      expect.arrayContaining(['otto command.reboot done', 'otto command.factory-reset refused', 'ona command.recovery refused', 'ada command.factory-reset done', 'ona shadow.write refused']),
    );
    expect((await call('GET', '/audit?tenant=acme', 'otto')).status).toBe(403);
  });

  it("a device's view lists what the caller may do to it, from the same table the API enforces", async () => {
    const ops = (u: string) => call('GET', '/devices/a1', u).then((r) => r.body.allowed.filter((a: string) => a.startsWith('command.')).sort());
    expect(await ops('ada')).toEqual(['command.config-apply', 'command.diagnostics', 'command.factory-reset', 'command.reboot', 'command.recovery']);
    expect(await ops('otto')).toEqual(['command.config-apply', 'command.diagnostics', 'command.reboot']);
    expect(await ops('ona')).toEqual(['command.diagnostics', 'command.reboot']);
    expect((await call('GET', '/devices/a1', 'ona')).body.allowed).not.toContain('shadow.write');
  });

  it("attack: another tenant's admin cannot see or command a device (404, as if it did not exist)", async () => {
    expect((await call('GET', '/devices/a1', 'bob')).status).toBe(404);
    expect((await call('POST', '/devices/a1/command', 'bob', { operation: 'reboot' })).status).toBe(404);
    expect((await call('PATCH', '/devices/a1/shadow', 'bob', { version: 0, desired: {} })).status).toBe(404);
    expect((await call('GET', '/devices?tenant=acme', 'bob')).status).toBe(403);
    expect((await call('POST', '/groups/operations', 'bob', { tenant: 'acme', selector: {}, operation: 'reboot' })).status).toBe(403);
    const own = await call('POST', '/devices/a1/command', 'otto', { operation: 'reboot' });
    expect((await call('GET', `/devices/a1/commands/${own.body.commandId}`, 'bob')).status).toBe(404);
    // A command id of one device read through another device of the same tenant: not found.
    expect((await call('GET', `/devices/a2/commands/${own.body.commandId}`, 'otto')).status).toBe(404);
    expect(tb.sends.size).toBe(1);
  });

  it('lists and filters devices; only what the directory confirms for the tenant', async () => {
    const all = await call('GET', '/devices?tenant=acme', 'ona');
    expect(all.body.devices.map((d: any) => d.deviceId)).toEqual(['a1', 'a2', 'a3']);
    expect((await call('GET', '/devices?tenant=acme&region=us', 'ona')).body.devices.map((d: any) => d.deviceId)).toEqual(['a3']);
    expect((await call('GET', '/devices?tenant=acme&limit=2&offset=2', 'ona')).body).toMatchObject({ total: 3, devices: [{ deviceId: 'a3' }] });
    expect((await call('GET', '/devices?tenant=acme&online=maybe', 'ona')).status).toBe(400);
    tb.device('a2').row.otaStatus = 'boot_mismatch';
    expect((await call('GET', '/devices?tenant=acme&otaStatus=boot_mismatch', 'ona')).body.devices).toMatchObject([{ deviceId: 'a2', otaStatus: 'boot_mismatch' }]);
    expect((await call('GET', '/devices?tenant=nope', 'ona')).status).toBe(404);
    expect((await call('PATCH', '/devices/a2', 'otto', { metadata: { region: 'us', tags: ['pilot'] } })).status).toBe(200);
    expect((await call('GET', '/devices?tenant=acme&region=us&tag=pilot', 'ona')).body.devices.map((d: any) => d.deviceId)).toEqual(['a2']);
  });

  it('shadow: partial desired updates with optimistic concurrency; reported and delta as the device applies', async () => {
    const s0 = await call('GET', '/devices/a1/shadow', 'otto');
    expect(s0.body).toMatchObject({ version: 0, state: 'in-sync', desired: {} });
    const s1 = await call('PATCH', '/devices/a1/shadow', 'otto', { version: 0, desired: { sampling_interval_s: 5, log_level: 'debug' } });
    expect(s1.body).toMatchObject({ version: 1, state: 'pending', delta: { sampling_interval_s: 5, log_level: 'debug' } });
    // Someone who read version 0 too loses: 409, nothing written.
    const stale = await call('PATCH', '/devices/a1/shadow', 'ada', { version: 0, desired: { log_level: 'warn' } });
    expect(stale).toMatchObject({ status: 409, body: { error: expect.stringMatching(/version 1, not 0/) } });
    expect((await call('PATCH', '/devices/a1/shadow', 'ada', { version: 1, desired: { sampling_interval_s: 0 } })).status).toBe(400);
    expect((await call('PATCH', '/devices/a1/shadow', 'ada', { version: 1, desired: { colour: 'red' } })).status).toBe(400);
    expect(tb.device('a1').attrs.shared).toEqual({ config: { sampling_interval_s: 5, log_level: 'debug' }, config_version: 1 });
    // The device applies version 1 and reports it.
    Object.assign(tb.device('a1').attrs.client, { config_reported: { sampling_interval_s: 5, log_level: 'debug' }, config_reported_version: 1, config_last_sync: clock });
    expect((await call('GET', '/devices/a1/shadow', 'ona')).body).toMatchObject({ state: 'in-sync', reportedVersion: 1, delta: {}, lastSync: new Date(clock).toISOString() });
  });

  it('a concurrent shadow change from the same version: exactly one wins', async () => {
    const rs = await Promise.all(['otto', 'ada', 'otto', 'ada'].map((w, i) => call('PATCH', '/devices/a1/shadow', w, { version: 0, desired: { window_s: 10 + i } })));
    expect(rs.map((r) => r.status).sort()).toEqual([200, 409, 409, 409]);
    expect(tb.device('a1').attrs.shared.config_version).toBe(1);
  });

  it('commands: delivered and answered; to an offline device queued, then delivered when it returns, or expired', async () => {
    tb.device('a1').answer = (m, p) => ({ ok: true, result: { method: m, params: p } });
    const c = await call('POST', '/devices/a1/command', 'ona', { operation: 'diagnostics', params: { logs_since_s: 600 } });
    expect(c.location).toBe(`/v1/devices/a1/commands/${c.body.commandId}`);
    expect(c.body).toMatchObject({ status: 'sent', params: { logs_since_s: 600, log_lines: 200, self_test: false, sensors: false } });
    expect((await call('GET', `/devices/a1/commands/${c.body.commandId}`, 'ona')).body.status).toBe('delivered');
    expect((await call('GET', `/devices/a1/commands/${c.body.commandId}`, 'ona')).body).toMatchObject({ status: 'successful', result: { method: 'diagnostics' } });

    tb.device('a2').answer = () => ({ ok: false, error: 'self-test hook 10-sensors failed' });
    const f = await call('POST', '/devices/a2/command', 'ona', { operation: 'diagnostics', params: { self_test: true } });
    await passes(2);
    expect((await call('GET', `/devices/a2/commands/${f.body.commandId}`, 'ona')).body).toMatchObject({ status: 'failed', error: 'self-test hook 10-sensors failed' });

    tb.online('a3', false);
    const q = await call('POST', '/devices/a3/command', 'otto', { operation: 'reboot' });
    const x = await call('POST', '/devices/a3/command', 'otto', { operation: 'reboot', params: { delay_s: 5 }, expiresInSeconds: 60 });
    await passes(1);
    expect((await call('GET', `/devices/a3/commands/${q.body.commandId}`, 'otto')).body.status).toBe('queued');
    clock += 61_000;
    expect((await call('GET', `/devices/a3/commands/${x.body.commandId}`, 'otto')).body).toMatchObject({ status: 'expired', error: expect.stringMatching(/offline/) });
    tb.online('a3');
    await passes(2);
    expect((await call('GET', `/devices/a3/commands/${q.body.commandId}`, 'otto')).body.status).toBe('successful');
    expect((await call('GET', '/devices/a3/commands', 'otto')).body.commands.map((k: any) => k.status).sort()).toEqual(['expired', 'successful']);
  });

  it('bad input: a clear 4xx with the reason, nothing sent', async () => {
    expect((await call('POST', '/devices/a1/command', undefined, { operation: 'reboot' })).status).toBe(401);
    expect((await call('POST', '/devices/a1/command', 'otto', { operation: 'self-destruct' })).body.error).toMatch(/unknown operation "self-destruct" \(known: reboot, factory-reset/);
    expect((await call('POST', '/devices/a1/command', 'otto', { operation: 'reboot', params: { delay_s: -1 } })).body.error).toMatch(/delay_s/);
    expect((await call('POST', '/devices/a1/command', 'otto', { operation: 'reboot', params: { now: true } })).status).toBe(400);
    expect((await call('POST', '/devices/a1/command', 'otto', 'operation=reboot', { 'content-type': 'text/plain' })).status).toBe(415);
    expect((await call('POST', '/devices/a1/command', 'otto', '{"operation":')).status).toBe(400);
    expect((await call('POST', '/devices/nope/command', 'otto', { operation: 'reboot' })).status).toBe(404);
    expect((await call('POST', '/devices/a1/command', 'otto', { operation: 'reboot', expiresInSeconds: 999_999 })).status).toBe(400);
    expect(tb.sends.size).toBe(0);
  });

  it('group operation: selector, concurrency limit, progress, per-device outcomes', async () => {
    for (let i = 1; i <= 40; i++) dir.set(`g${i}`, tb.add('A', `g${i}`, { firmware: '2.0.0', online: i > 3, metadata: { region: 'eu' } }));
    tb.device('g4').answer = () => ({ ok: false, error: 'reboot refused: update in progress' });
    const body = { tenant: 'acme', selector: { firmware: '2.0.0' }, operation: 'reboot', concurrency: 5, expiresInSeconds: 600 };
    expect((await call('POST', '/groups/operations', 'otto', body)).body.error).toMatch(/matches 40 devices \(more than 20\); repeat with "confirm": true/);
    expect((await call('POST', '/groups/operations', 'otto', { ...body, selector: { firmware: '9.9.9' } })).status).toBe(422);
    expect((await call('POST', '/groups/operations', 'otto', { ...body, operation: 'factory-reset', confirm: true })).status).toBe(403);
    const g = await call('POST', '/groups/operations', 'otto', { ...body, confirm: true });
    expect(g).toMatchObject({ status: 202, body: { progress: { total: 40, pending: 40 } } });
    const id = g.body.group.id as string;
    for (let i = 0; i < 40 && (await call('GET', `/groups/operations/${id}`, 'ona')).body.group.state === 'running'; i++) {
      await passes(1);
      if (i === 30) tb.online('g2'); // one offline device returns during the run
    }
    expect(tb.maxInFlight).toBe(5);
    let view = (await call('GET', `/groups/operations/${id}`, 'ona')).body;
    expect(view.progress).toMatchObject({ total: 40, done: 37, failed: 1, 'offline-queued': 2 });
    expect(view.devices.find((d: any) => d.deviceId === 'g4')).toMatchObject({ outcome: 'failed', error: 'reboot refused: update in progress' });
    expect(view.group.state).toBe('running'); // waits for g1, g3 until they return or expire
    clock += 600_000;
    await passes(1);
    view = (await call('GET', `/groups/operations/${id}`, 'ona')).body;
    expect(view.progress).toMatchObject({ done: 37, failed: 1, expired: 2 });
    expect(view.group.state).toBe('finished');
    // Outcomes are paged and filterable: the failures alone, or the done ones 10 at a time.
    expect((await call('GET', `/groups/operations/${id}?outcome=expired`, 'ona')).body).toMatchObject({ page: { matching: 2 }, devices: [{ deviceId: 'g1' }, { deviceId: 'g3' }] });
    const second = (await call('GET', `/groups/operations/${id}?outcome=done&offset=10&limit=10`, 'ona')).body;
    expect(second.page).toEqual({ offset: 10, limit: 10, matching: 37 });
    expect(second.devices).toHaveLength(10);
    expect(second.progress.total).toBe(40);
    expect((await call('GET', `/groups/operations/${id}?outcome=lost`, 'ona')).status).toBe(400);
    expect([...tb.sends.values()].every((n) => n === 1)).toBe(true);
    expect(tb.sends.size).toBe(40);
  });

  it('a group operation survives a restart of the API mid-run and never sends twice', async () => {
    for (let i = 1; i <= 12; i++) dir.set(`r${i}`, tb.add('A', `r${i}`, { metadata: { site: 'plant-2' } }));
    const dataDir = path.join(tmp, 'restart');
    await start(dataDir);
    const g = await call('POST', '/groups/operations', 'otto', { tenant: 'acme', selector: { site: 'plant-2' }, operation: 'reboot', concurrency: 4 });
    await passes(1);
    // Crash mid-send: one send never reached ThingsBoard, one reached it but the answer was lost.
    tb.failNextSend = 'before';
    await passes(1);
    tb.failNextSend = 'after';
    await passes(1);
    await store.close();
    await start(dataDir); // a new process on the same store
    await passes(20);
    const view = (await call('GET', `/groups/operations/${g.body.group.id}`, 'otto')).body;
    expect(view.progress).toMatchObject({ total: 12, done: 12 });
    expect(view.group.state).toBe('finished');
    expect(tb.sends.size).toBe(12);
    expect([...tb.sends.values()].every((n) => n === 1)).toBe(true);
  });

  it('cancel: unsent devices are cancelled, queued ones withdrawn, delivered ones stay', async () => {
    for (let i = 1; i <= 6; i++) dir.set(`c${i}`, tb.add('A', `c${i}`, { online: i !== 1, metadata: { owner: 'plant-9' } }));
    const g = await call('POST', '/groups/operations', 'otto', { tenant: 'acme', selector: { owner: 'plant-9' }, operation: 'reboot', concurrency: 2 });
    await passes(2); // c1 (offline → queued, frees its slot) and c2 sent
    expect((await call('POST', `/groups/operations/${g.body.group.id}/cancel`, 'ona')).status).toBe(403);
    const c = await call('POST', `/groups/operations/${g.body.group.id}/cancel`, 'otto');
    expect(c.body.group.state).toBe('cancelled');
    expect(c.body.devices.find((d: any) => d.deviceId === 'c1')).toMatchObject({ outcome: 'cancelled' });
    expect(c.body.progress.cancelled).toBeGreaterThanOrEqual(3);
    tb.online('c1');
    expect(tb.rpcs.has(c.body.devices.find((d: any) => d.deviceId === 'c1').commandId)).toBe(false);
  });

  it("deployments: an admin deploys the tenant's own published set in stages, read back, paused, cancelled; others refused", async () => {
    const own = hawkbit.addSet('cdm tenant A');
    const foreign = hawkbit.addSet('cdm tenant B');
    const unmarked = hawkbit.addSet(undefined);
    const body = { tenant: 'acme', distributionSetId: own, groups: [10, 40, 50], start: true };
    expect((await call('POST', '/ota/deployments', 'otto', body)).status).toBe(403);
    expect((await call('POST', '/ota/deployments', 'ada', { ...body, distributionSetId: foreign })).status).toBe(404);
    expect((await call('POST', '/ota/deployments', 'ada', { ...body, distributionSetId: unmarked })).status).toBe(404);
    expect((await call('POST', '/ota/deployments', 'ada', { ...body, groups: [50, 40] })).body.error).toMatch(/add up to 100/);
    expect((await call('POST', '/ota/deployments', 'ada', { ...body, selector: { ids: ['a1', 'b1'] } })).body.error).toMatch(/no active device b1 in tenant acme/);
    const d = await call('POST', '/ota/deployments', 'ada', { ...body, selector: { ids: ['a1', 'a2'] } });
    expect(d).toMatchObject({
      status: 201,
      location: `/v1/ota/deployments/${d.body.deploymentId}`,
      body: { status: 'running', tenantId: 'A', stages: [{ targetPercentage: 10 }, { targetPercentage: 40 }, { targetPercentage: 50 }] },
    });
    expect(hawkbit.rollouts.get(d.body.deploymentId)).toMatchObject({ description: 'cdm tenant A', targetFilterQuery: 'description=="cdm tenant A";controllerId=in=(a1,a2)', distributionSetId: own });
    expect((await call('GET', `/ota/deployments/${d.body.deploymentId}`, 'ona')).body.status).toBe('running');
    expect((await call('GET', `/ota/deployments/${d.body.deploymentId}`, 'bob')).status).toBe(404);
    expect((await call('POST', `/ota/deployments/${d.body.deploymentId}/pause`, 'otto')).status).toBe(403);
    expect((await call('POST', `/ota/deployments/${d.body.deploymentId}/pause`, 'ada')).body.status).toBe('paused');
    expect((await call('POST', `/ota/deployments/${d.body.deploymentId}/cancel`, 'ada')).body.status).toBe('deleted');
    expect(hawkbit.rollouts.has(d.body.deploymentId)).toBe(false);
    const trail = (await call('GET', '/audit?tenant=acme', 'ada')).body.entries.map((e: any) => `${e.actorName} ${e.action} ${e.outcome}`);
    expect(trail).toEqual(expect.arrayContaining(['ada deployments.write done', 'ada deployments.write refused', 'ada deployments.pause done', 'ada deployments.cancel done']));
  });

  it('registration: an admin gets a device-scoped claim from enroll-bridge (with their own token) and the owner-assignment QR', async () => {
    const r = await call('POST', '/devices', 'ada', { tenant: 'acme', deviceId: 'SN-0042', expires: '30d' });
    expect(r.status).toBe(201);
    expect(claimsAsked).toEqual([{ bearer: 'u:ada', tenant: 'A', deviceId: 'SN-0042', expires: '30d' }]);
    expect(r.body).toMatchObject({ deviceId: 'SN-0042', tenantId: 'A', token: 'cdm_claim_secret', claim: { deviceId: 'SN-0042', maxUses: 1 } });
    expect(r.body.ownerAssignment.content).toBe('cdm:enroll?v=1&tenant=A&device=SN-0042&claim=cdm_claim_secret');
    const png = Buffer.from(String(r.body.ownerAssignment.png).replace(/^data:image\/png;base64,/, ''), 'base64');
    expect(png.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
    // The audit names the claim, never its token.
    const trail = (await call('GET', '/audit?tenant=acme', 'ada')).body.entries;
    expect(trail.find((e: any) => e.action === 'devices.register')).toMatchObject({ devices: ['SN-0042'], detail: expect.stringContaining('claim c-1') });
    expect(JSON.stringify(trail)).not.toContain('cdm_claim_secret');
  });

  it('registration refused: not an admin (403), bad id (400), already enrolled here (409), enroll-bridge says no (its status)', async () => {
    expect((await call('POST', '/devices', 'otto', { tenant: 'acme', deviceId: 'SN-0043' })).status).toBe(403);
    expect((await call('POST', '/devices', 'ada', { tenant: 'acme', deviceId: '../etc' })).status).toBe(400);
    dir.set('SN-0001', tb.add('A', 'SN-0001'));
    expect((await call('POST', '/devices', 'ada', { tenant: 'acme', deviceId: 'SN-0001' })).body.error).toMatch(/SN-0001 is already enrolled in tenant acme/);
    enrollRefuses = new UpstreamError('enroll-bridge admin API', 'POST /v1/admin/claims', 403, 'admin role in tenant acme required');
    try {
      expect((await call('POST', '/devices', 'ada', { tenant: 'acme', deviceId: 'SN-0044' })).status).toBe(403);
    } finally {
      enrollRefuses = undefined;
    }
    expect(claimsAsked.map((c) => c.deviceId)).not.toContain('SN-0043');
  });
});
