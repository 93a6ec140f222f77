import { SignJWT } from 'jose';
import { http, HttpResponse } from 'msw';
import { describe, expect, it } from 'vitest';
import { UpstreamError } from '../errors.ts';
import { KeycloakClient } from './keycloak.ts';
import { useMsw } from './testing.ts';

const base = 'http://kc.test';
const admin = `${base}/admin/realms/cdm`;
const server = useMsw();
const key = new TextEncoder().encode('k'.repeat(32));
const token = (ttl = 300) =>
  new SignJWT({})
    .setProtectedHeader({ alg: 'HS256' })
    .setExpirationTime(Math.floor(Date.now() / 1000) + ttl)
    .sign(key);

const client = () => new KeycloakClient({ baseURL: base, realm: 'cdm', clientId: 'cdm-tenant-sync', clientSecret: 's3cr3t', pageSize: 2, retries: 1 });

function tokenEndpoint(counter: { n: number; body?: URLSearchParams }) {
  return http.post(`${base}/realms/cdm/protocol/openid-connect/token`, async ({ request }) => {
    counter.n++;
    counter.body = new URLSearchParams(await request.text());
    return HttpResponse.json({ access_token: await token(), expires_in: 300, token_type: 'Bearer' });
  });
}

describe('KeycloakClient', () => {
  it('authenticates with client credentials once and lists subgroups by pages', async () => {
    const counter = { n: 0 } as { n: number; body?: URLSearchParams };
    const seen: string[] = [];
    server.use(
      tokenEndpoint(counter),
      http.get(`${admin}/groups/p1/children`, ({ request }) => {
        const u = new URL(request.url);
        seen.push(`${u.searchParams.get('first')}:${u.searchParams.get('max')}`);
        expect(request.headers.get('authorization')).toMatch(/^Bearer /);
        const first = Number(u.searchParams.get('first'));
        const all = [
          { id: 'a', name: 'acme' },
          { id: 'b', name: 'beta' },
          { id: 'c', name: 'gamma' },
        ];
        return HttpResponse.json(all.slice(first, first + 2));
      }),
    );
    const kc = client();
    const groups = await kc.listSubGroups('p1');
    expect(groups.map((g) => g.name)).toEqual(['acme', 'beta', 'gamma']);
    expect(seen).toEqual(['0:2', '2:2']);
    expect(counter.n).toBe(1);
    expect(counter.body?.get('grant_type')).toBe('client_credentials');
    expect(counter.body?.get('client_id')).toBe('cdm-tenant-sync');
  });

  it('resolves a role to its users with one paged listing', async () => {
    server.use(
      tokenEndpoint({ n: 0 }),
      http.get(`${admin}/roles/cdm-operator/users`, ({ request }) => {
        const first = Number(new URL(request.url).searchParams.get('first'));
        return HttpResponse.json(first === 0 ? [{ id: 'u1' }, { id: 'u2' }] : []);
      }),
    );
    expect((await client().usersWithRole('cdm-operator')).map((u) => u.id)).toEqual(['u1', 'u2']);
  });

  it('returns undefined for a missing group path', async () => {
    server.use(
      tokenEndpoint({ n: 0 }),
      http.get(`${admin}/group-by-path/tenants`, () => HttpResponse.json({ error: 'Group path does not exist' }, { status: 404 })),
    );
    expect(await client().getGroupByPath('/tenants')).toBeUndefined();
  });

  it('gives a token renewal its own deadline, not the long-fired one of the last call', async () => {
    let tokens = 0;
    server.use(
      http.post(`${base}/realms/cdm/protocol/openid-connect/token`, async () => {
        tokens++;
        // Inside the refresh margin: every call has to authenticate again.
        return HttpResponse.json({ access_token: await token(5), expires_in: 5, token_type: 'Bearer' });
      }),
      http.get(`${base}/admin/realms/cdm`, () => HttpResponse.json({ realm: 'cdm' })),
    );
    const kc = new KeycloakClient({ baseURL: base, realm: 'cdm', clientId: 'c', clientSecret: 's', timeoutMs: 100 });
    await kc.ping();
    await new Promise((r) => setTimeout(r, 250));
    await kc.ping();
    expect(tokens).toBe(2);
  });

  it('reports bad client credentials as an UpstreamError without the secret', async () => {
    server.use(
      http.post(`${base}/realms/cdm/protocol/openid-connect/token`, () =>
        HttpResponse.json({ error: 'unauthorized_client', error_description: 'Invalid client or Invalid client credentials' }, { status: 401 }),
      ),
    );
    const err = await client()
      .ping()
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UpstreamError);
    expect((err as UpstreamError).status).toBe(401);
    expect((err as Error).message).toContain('Keycloak: POST /protocol/openid-connect/token failed (HTTP 401)');
    expect((err as Error).message).toContain('check the Keycloak credentials');
    expect((err as Error).message).not.toContain('s3cr3t');
  });

  it('retries a read on 5xx, then fails naming the call', async () => {
    let n = 0;
    server.use(
      tokenEndpoint({ n: 0 }),
      http.get(`${admin}/users/u1`, () => {
        n++;
        return HttpResponse.json({ error: 'unknown_error' }, { status: 503 });
      }),
    );
    await expect(client().getUser('u1')).rejects.toThrow(/Keycloak: GET \/users\/\{id\} failed \(HTTP 503\)/);
    expect(n).toBe(2);
  });

  it('does not retry a write that failed with 5xx', async () => {
    let n = 0;
    server.use(
      tokenEndpoint({ n: 0 }),
      http.post(`${admin}/groups`, () => {
        n++;
        return HttpResponse.json({ error: 'unknown_error' }, { status: 500 });
      }),
    );
    await expect(client().createGroup('acme')).rejects.toThrow(/HTTP 500/);
    expect(n).toBe(1);
  });

  it('retries an idempotent write (PUT) on 5xx as the other clients do; a write to something missing (404) is an error, a delete of it is done', async () => {
    let n = 0;
    server.use(
      tokenEndpoint({ n: 0 }),
      http.put(`${admin}/users/u1/groups/g1`, () => (++n === 1 ? HttpResponse.json({ error: 'unknown_error' }, { status: 503 }) : new HttpResponse(null, { status: 204 }))),
      http.put(`${admin}/users/u1/groups/gone`, () => HttpResponse.json({ error: 'Group not found' }, { status: 404 })),
      http.delete(`${admin}/users/u2`, () => HttpResponse.json({ error: 'User not found' }, { status: 404 })),
    );
    const kc = client();
    await kc.addUserToGroup('u1', 'g1');
    expect(n).toBe(2);
    await expect(kc.addUserToGroup('u1', 'gone')).rejects.toThrow(/PUT \/users\/\{id\}\/groups\/\{groupId\} failed \(HTTP 404\)/);
    await expect(kc.deleteUser('u2')).resolves.toBeUndefined();
  });

  it('creates a user with a password and adds it to a group', async () => {
    const bodies: unknown[] = [];
    server.use(
      tokenEndpoint({ n: 0 }),
      http.post(`${admin}/users`, async ({ request }) => {
        bodies.push(await request.json());
        return new HttpResponse(null, { status: 201, headers: { Location: `${admin}/users/u9` } });
      }),
      http.put(`${admin}/users/u9/groups/g1`, () => new HttpResponse(null, { status: 204 })),
    );
    const kc = client();
    const id = await kc.createUser({ username: 'alice', email: 'alice@example.com', password: 'pw1' });
    expect(id).toBe('u9');
    await kc.addUserToGroup(id, 'g1');
    expect(bodies[0]).toMatchObject({ username: 'alice', enabled: true, credentials: [{ type: 'password', value: 'pw1', temporary: false }] });
  });
});
