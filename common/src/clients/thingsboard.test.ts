import { SignJWT } from 'jose';
import { http, HttpResponse } from 'msw';
import { describe, expect, it } from 'vitest';
import { UpstreamError } from '../errors.ts';
import { ThingsBoardClient } from './thingsboard.ts';
import { record, useMsw, type Recorded } from './testing.ts';

const base = 'http://tb.test';
const server = useMsw();
const key = new TextEncoder().encode('k'.repeat(32));
const jwt = (sub: string, ttlSec = 900) =>
  new SignJWT({ scopes: ['SYS_ADMIN'] })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(sub)
    .setExpirationTime(Math.floor(Date.now() / 1000) + ttlSec)
    .sign(key);

const newClient = () => new ThingsBoardClient({ baseURL: base, username: 'sysadmin@thingsboard.org', password: 'pw', retries: 1, pageSize: 2 });

/** A login endpoint that counts calls and hands out fresh tokens. */
function loginHandlers(counter: { login: number; refresh: number }, ttlSec = 900) {
  return [
    http.post(`${base}/api/auth/login`, async ({ request }) => {
      counter.login++;
      expect(await request.json()).toEqual({ username: 'sysadmin@thingsboard.org', password: 'pw' });
      return HttpResponse.json({ token: await jwt(`login-${counter.login}`, ttlSec), refreshToken: 'r1' });
    }),
    http.post(`${base}/api/auth/token`, async ({ request }) => {
      counter.refresh++;
      expect(await request.json()).toEqual({ refreshToken: 'r1' });
      return HttpResponse.json({ token: await jwt(`refresh-${counter.refresh}`), refreshToken: 'r1' });
    }),
  ];
}

describe('ThingsBoardClient', () => {
  it('logs in once and sends the JWT in X-Authorization', async () => {
    const counter = { login: 0, refresh: 0 };
    const seen: Recorded[] = [];
    server.use(
      ...loginHandlers(counter),
      http.post(`${base}/api/tenant`, async ({ request }) => {
        seen.push(await record(request));
        return HttpResponse.json({ id: { id: 't1', entityType: 'TENANT' }, title: 'acme' });
      }),
    );
    const tb = newClient();
    await tb.saveTenant({ title: 'acme', additionalInfo: { cdmId: 'g1' } });
    await tb.saveTenant({ title: 'acme' });
    expect(counter.login).toBe(1);
    expect(seen[0]?.headers.get('x-authorization')).toMatch(/^Bearer ey/);
    expect(seen[0]?.body).toEqual({ title: 'acme', additionalInfo: { cdmId: 'g1' } });
  });

  it('refreshes the token when it is about to expire', async () => {
    const counter = { login: 0, refresh: 0 };
    server.use(
      ...loginHandlers(counter, 30),
      http.get(`${base}/api/auth/user`, () => HttpResponse.json({})),
    );
    const tb = newClient();
    await tb.ping(); // login (token lives 30 s, under the refresh margin)
    await tb.ping(); // refresh
    expect(counter).toEqual({ login: 1, refresh: 1 });
  });

  it('after a 401 refreshes once and retries; a rejected refresh token leads to a new login', async () => {
    const counter = { login: 0, refresh: 0 };
    let calls = 0;
    server.use(
      // Listed first: msw uses the first matching handler, so this refresh endpoint wins.
      http.post(`${base}/api/auth/token`, () => {
        counter.refresh++;
        return HttpResponse.json({ status: 401, message: 'Token has expired', errorCode: 11 }, { status: 401 });
      }),
      ...loginHandlers(counter),
      http.get(`${base}/api/device/d1`, () => {
        calls++;
        return calls === 1
          ? HttpResponse.json({ status: 401, message: 'Token has expired', errorCode: 11 }, { status: 401 })
          : HttpResponse.json({ id: { id: 'd1', entityType: 'DEVICE' }, name: 'dev-1' });
      }),
    );
    const dev = await newClient().getDevice('d1');
    expect(dev?.name).toBe('dev-1');
    expect(counter).toEqual({ login: 2, refresh: 1 });
  });

  it('gives up with an UpstreamError when credentials are wrong', async () => {
    server.use(http.post(`${base}/api/auth/login`, () => HttpResponse.json({ status: 401, message: 'Invalid username or password', errorCode: 10 }, { status: 401 })));
    const err = await newClient()
      .ping()
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UpstreamError);
    expect((err as Error).message).toMatch(/^ThingsBoard: POST \/api\/auth\/login failed \(HTTP 401\): Invalid username or password — check the ThingsBoard credentials/);
    expect((err as Error).message).not.toContain('pw');
  });

  it('lists by pages until hasNext is false', async () => {
    const counter = { login: 0, refresh: 0 };
    const pages: string[] = [];
    server.use(
      ...loginHandlers(counter),
      http.get(`${base}/api/tenants`, ({ request }) => {
        const u = new URL(request.url);
        pages.push(`${u.searchParams.get('page')}/${u.searchParams.get('pageSize')}`);
        const page = Number(u.searchParams.get('page'));
        const data = page === 0 ? [{ title: 'a' }, { title: 'b' }] : [{ title: 'c' }];
        return HttpResponse.json({ data, totalPages: 2, totalElements: 3, hasNext: page === 0 });
      }),
    );
    const titles: string[] = [];
    for await (const p of newClient().tenantPages()) titles.push(...p.map((t) => t.title));
    expect(titles).toEqual(['a', 'b', 'c']);
    expect(pages).toEqual(['0/2', '1/2']);
  });

  it('returns undefined for a missing device and retries a 5xx GET before failing', async () => {
    const counter = { login: 0, refresh: 0 };
    let n = 0;
    server.use(
      ...loginHandlers(counter),
      http.get(`${base}/api/tenant/device`, ({ request }) => {
        expect(new URL(request.url).searchParams.get('deviceName')).toBe('nope');
        return HttpResponse.json({ status: 404, message: "Requested item wasn't found!", errorCode: 32 }, { status: 404 });
      }),
      http.get(`${base}/api/device/d9`, () => {
        n++;
        return HttpResponse.json({ status: 500, message: 'boom' }, { status: 500 });
      }),
    );
    const tb = newClient();
    expect(await tb.findDeviceByName('nope')).toBeUndefined();
    await expect(tb.getDevice('d9')).rejects.toThrow('ThingsBoard: GET /api/device/{id} failed (HTTP 500): boom');
    expect(n).toBe(2);
  });

  it('saves server attributes as the JSON text the spec declares (text/plain)', async () => {
    const counter = { login: 0, refresh: 0 };
    let seen: Recorded | undefined;
    server.use(
      ...loginHandlers(counter),
      http.post(`${base}/api/plugins/telemetry/DEVICE/d1/attributes/SERVER_SCOPE`, async ({ request }) => {
        seen = await record(request);
        return new HttpResponse(null, { status: 200 });
      }),
    );
    await newClient().saveAttributes({ id: 'd1', entityType: 'DEVICE' }, 'SERVER_SCOPE', { ota_status: 'pending' });
    expect(seen?.headers.get('content-type')).toContain('text/plain');
    expect(seen?.body).toEqual({ ota_status: 'pending' });
  });

  it('acts as a tenant admin with the token pair the sysadmin obtains', async () => {
    const counter = { login: 0, refresh: 0 };
    let auth = '';
    const adminToken = await jwt('tenant-admin');
    server.use(
      ...loginHandlers(counter),
      http.get(`${base}/api/user/u1/token`, () => HttpResponse.json({ token: adminToken, refreshToken: 'r2' })),
      http.post(`${base}/api/device`, ({ request }) => {
        auth = request.headers.get('x-authorization') ?? '';
        return HttpResponse.json({ id: { id: 'd1', entityType: 'DEVICE' }, name: 'dev-1' });
      }),
    );
    const tenant = await newClient().actAs('u1');
    await tenant.saveDevice({ name: 'dev-1', type: 'default' });
    expect(auth).toBe(`Bearer ${adminToken}`);
  });

  it('a tenant-admin client gets a new token pair from the sysadmin once its refresh token is refused (after a week idle)', async () => {
    const counter = { login: 0, refresh: 0 };
    let issued = 0;
    const seen: string[] = [];
    server.use(
      // the first pair is already expired and its refresh token refused, as after 7 idle days
      http.get(`${base}/api/user/u1/token`, async () => HttpResponse.json({ token: await jwt(`tenant-admin-${++issued}`, issued === 1 ? -10 : 900), refreshToken: `tr${issued}` })),
      http.post(`${base}/api/auth/token`, async ({ request }) => {
        const body = (await request.json()) as { refreshToken: string };
        if (body.refreshToken.startsWith('tr')) return HttpResponse.json({ status: 401, message: 'Token has expired', errorCode: 11 }, { status: 401 });
        return HttpResponse.json({ token: await jwt('sys-refresh'), refreshToken: 'r1' });
      }),
      ...loginHandlers(counter),
      http.post(`${base}/api/device`, ({ request }) => {
        seen.push(request.headers.get('x-authorization') ?? '');
        return HttpResponse.json({ id: { id: 'd1', entityType: 'DEVICE' }, name: 'dev-1' });
      }),
    );
    const tenant = await newClient().actAs('u1');
    await tenant.saveDevice({ name: 'dev-1', type: 'default' });
    expect(issued).toBe(2);
    expect(seen).toHaveLength(1);
    expect(seen[0]).not.toBe('');
  });
});
