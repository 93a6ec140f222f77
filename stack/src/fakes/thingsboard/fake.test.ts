import type { Server } from 'node:http';
import { ThingsBoardClient } from '@cdm/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listen } from '../server.ts';
import { createThingsBoardFake } from './fake.ts';

let server: Server;
let url: string;
let sys: ThingsBoardClient;

beforeAll(async () => {
  ({ server, url } = await listen(createThingsBoardFake().app));
  sys = new ThingsBoardClient({ baseURL: url, username: 'sysadmin@thingsboard.org', password: 'sysadmin', retries: 0 });
});
afterAll(() => server.close());

const raw = (path: string, init: RequestInit = {}) => fetch(`${url}${path}`, init);
async function login(): Promise<string> {
  const res = await raw('/api/auth/login', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ username: 'sysadmin@thingsboard.org', password: 'sysadmin' }) });
  return ((await res.json()) as { token: string }).token;
}

describe('ThingsBoard fake through the real client', () => {
  it('runs the tenant → admin → device → attributes → alarm flow with ThingsBoard semantics', async () => {
    const tenant = await sys.saveTenant({ title: 'acme', additionalInfo: { cdmId: 'g-1' } });
    const admin = await sys.saveUser({ email: 'admin@acme.example', authority: 'TENANT_ADMIN', tenantId: tenant.id });
    const acme = await sys.actAs(admin.id!.id);
    const device = await acme.saveDeviceWithCredentials(
      { name: 'dev-0001', type: 'default' },
      { credentialsType: 'X509_CERTIFICATE', credentialsValue: '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----' },
    );
    expect((await acme.findDeviceByName('dev-0001'))?.id).toEqual(device.id);
    expect((await acme.getDeviceCredentials(device.id!.id))?.credentialsType).toBe('X509_CERTIFICATE');
    await acme.saveAttributes(device.id!, 'SERVER_SCOPE', { ota_status: 'pending', wg_ip: '10.77.0.2' });
    expect(await acme.getAttributes(device.id!, 'SERVER_SCOPE', ['ota_status'])).toMatchObject([{ key: 'ota_status', value: 'pending' }]);

    const alarm = { type: 'OTA Failure', name: 'OTA Failure', originator: device.id!, severity: 'MAJOR' as const, status: 'ACTIVE_UNACK' as const, acknowledged: false, cleared: false };
    const a1 = await acme.saveAlarm(alarm);
    const a2 = await acme.saveAlarm({ ...alarm, details: { again: true } });
    expect(a2.id).toEqual(a1.id); // one active alarm per originator and type
    await acme.clearAlarm(a1.id!.id);
    const all: unknown[] = [];
    for await (const p of acme.alarmPages(device.id!, { searchStatus: 'ACTIVE' })) all.push(...p);
    expect(all).toHaveLength(0);
  });

  it('keeps tenants apart: another tenant admin does not see the device', async () => {
    const t2 = await sys.saveTenant({ title: 'beta' });
    const admin2 = await sys.saveUser({ email: 'admin@beta.example', authority: 'TENANT_ADMIN', tenantId: t2.id });
    const beta = await sys.actAs(admin2.id!.id);
    expect(await beta.findDeviceByName('dev-0001')).toBeUndefined();
    // A tenant's own entity may carry tenant-wide alarms; another tenant's may not.
    const own = await beta.saveAlarm({
      type: 'OTA Rollout Paused',
      name: 'OTA Rollout Paused',
      status: 'ACTIVE_UNACK',
      originator: t2.id! as never,
      severity: 'CRITICAL',
      acknowledged: false,
      cleared: false,
    });
    expect(own.originator).toEqual(t2.id);
    const acmeId = (await first(sys.tenantPages({ textSearch: 'acme' })))!.id!;
    await expect(beta.saveAlarm({ type: 'x', name: 'x', status: 'ACTIVE_UNACK', originator: acmeId as never, severity: 'MINOR', acknowledged: false, cleared: false })).rejects.toThrow(/HTTP 403/);
  });

  it('refuses what real ThingsBoard refuses: sysadmin creating a device, duplicate names', async () => {
    await expect(sys.saveDevice({ name: 'x' })).rejects.toThrow(/HTTP 403/);
    const admin = await sys.saveUser({ email: 'admin2@acme.example', authority: 'TENANT_ADMIN', tenantId: (await first(sys.tenantPages({ textSearch: 'acme' })))!.id });
    const acme = await sys.actAs(admin.id!.id);
    await expect(acme.saveDevice({ name: 'dev-0001' })).rejects.toThrow(/Device with such name already exists/);
  });
});

describe('ThingsBoard fake rejects requests that violate the spec', () => {
  it('401 without a token, in ThingsBoard’s error shape', async () => {
    const res = await raw('/api/tenants?pageSize=10&page=0');
    expect(res.status).toBe(401);
    expect(await res.json()).toMatchObject({ status: 401, errorCode: 10 });
  });

  it('400 when a required query parameter is missing or of the wrong type', async () => {
    const token = await login();
    const missing = await raw('/api/tenants?page=0', { headers: { 'X-Authorization': `Bearer ${token}` } });
    expect(missing.status).toBe(400);
    expect(((await missing.json()) as { message: string }).message).toContain('missing required query parameter "pageSize"');
    const wrong = await raw('/api/tenants?pageSize=ten&page=0', { headers: { 'X-Authorization': `Bearer ${token}` } });
    expect(wrong.status).toBe(400);
  });

  it('400 when the body misses a required field or has a wrong type or enum value', async () => {
    const token = await login();
    const post = (path: string, body: unknown) => raw(path, { method: 'POST', headers: { 'X-Authorization': `Bearer ${token}`, 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
    const noTitle = await post('/api/tenant', { email: 'x@example.com' });
    expect(noTitle.status).toBe(400);
    expect(((await noTitle.json()) as { message: string }).message).toMatch(/title/);
    expect((await post('/api/tenant', { title: 42 })).status).toBe(400);
    expect((await post('/api/user', { email: 'a@b.c', authority: 'SUPERUSER' })).status).toBe(400);
  });

  it('415 for a content type the operation does not accept, 404/405 for unknown paths and methods', async () => {
    const token = await login();
    const auth = { 'X-Authorization': `Bearer ${token}` };
    const xml = await raw('/api/tenant', { method: 'POST', headers: { ...auth, 'Content-Type': 'application/xml' }, body: '<tenant/>' });
    expect(xml.status).toBe(415);
    expect((await raw('/api/no-such-thing', { headers: auth })).status).toBe(404);
    expect((await raw('/api/tenants', { method: 'PUT', headers: auth })).status).toBe(405);
  });

  it('a response outside the contract is caught and reported as a 500', async () => {
    const { app, state } = createThingsBoardFake();
    const s = await listen(app);
    try {
      const token = (
        (await (
          await fetch(`${s.url}/api/auth/login`, {
            method: 'POST',
            headers: { 'Content-Type': 'application/json' },
            body: JSON.stringify({ username: 'sysadmin@thingsboard.org', password: 'sysadmin' }),
          })
        ).json()) as { token: string }
      ).token;
      // Corrupt the state so the fake would answer a Tenant without its required title.
      state.tenants.set('t-bad', { id: { id: 't-bad', entityType: 'TENANT' } } as never);
      const res = await fetch(`${s.url}/api/tenant/t-bad`, { headers: { 'X-Authorization': `Bearer ${token}` } });
      expect(res.status).toBe(500);
      expect(((await res.json()) as { message: string }).message).toContain('answered outside its contract');
      const log = (await (await fetch(`${s.url}/__fake/requests`)).json()) as { violations: string[] };
      expect(log.violations).toHaveLength(1);
    } finally {
      s.server.close();
    }
  });
});

async function first<T>(it: AsyncIterable<T[]>): Promise<T | undefined> {
  for await (const p of it) return p[0];
  return undefined;
}
