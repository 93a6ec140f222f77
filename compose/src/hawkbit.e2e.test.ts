import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { KeycloakClient } from '@cdm/common';
import { defaultContext, startFreshHawkbit } from '@cdm/stack';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { HAWKBIT_ADMIN, HAWKBIT_OPERATOR } from '../../tenant-sync/src/hawkbit-plan.ts';

/**
 * compose's hawkBit settings on the real hawkBit 1.0.4: the environment of the `hawkbit` service in
 * docker-compose.yml, as written (only the database is the in-memory one, and Keycloak's address
 * the local stack's), against the stack's real Keycloak. Then people with the client roles
 * tenant-sync grants may do exactly what the role table in tenant-sync says, and nothing else.
 */
const stack = inject('stack');
const kcUrl = stack.keycloak!.url;
const run = crypto.randomBytes(3).toString('hex');
const secret = `hb-${crypto.randomBytes(9).toString('base64url')}`;
const compose = parse(fs.readFileSync(path.resolve(import.meta.dirname, '..', 'docker-compose.yml'), 'utf8')) as { services: { hawkbit: { environment: Record<string, string> } } };
const vars: Record<string, string> = { CDM_HAWKBIT_PASSWORD: secret, CDM_KEYCLOAK_PUBLIC_URL: kcUrl };
const env = Object.fromEntries(
  Object.entries(compose.services.hawkbit.environment)
    .filter(([k]) => !k.startsWith('SPRING_DATASOURCE_') && k !== 'SPRING_JPA_DATABASE')
    .map(([k, v]) => [
      k,
      String(v)
        .replace(/\$\{(\w+)\}/g, (_, n: string) => vars[n] ?? `<${n} unset>`)
        .replace('http://keycloak:8080', kcUrl),
    ]),
);
const kcAdmin = new KeycloakClient({ baseURL: kcUrl, realm: 'cdm', authRealm: 'master', clientId: 'admin-cli', username: 'admin', password: 'admin' });
const password = `pw-${crypto.randomBytes(6).toString('hex')}`;
const people: Record<string, string> = {};
let hb: Awaited<ReturnType<typeof startFreshHawkbit>>;

const basic = (u: string, p: string) => `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}`;
const cdm = basic('cdm', secret);
let dsId = 0;
const send = (auth: string, method: string, p: string, body?: unknown) =>
  fetch(`${hb.url}${p}`, { method, headers: { Authorization: auth, 'Content-Type': 'application/json', Accept: 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
async function call(auth: string, method: string, p: string, body?: unknown): Promise<number> {
  const res = await send(auth, method, p, body);
  await res.arrayBuffer();
  return res.status;
}
async function json(auth: string, method: string, p: string, body?: unknown): Promise<unknown> {
  const res = await send(auth, method, p, body);
  if (!res.ok) throw new Error(`${method} ${p}: ${res.status} ${await res.text()}`);
  return res.json();
}
const rolloutStatus = async (id: number) => ((await json(cdm, 'GET', `/rest/v1/rollouts/${id}`)) as { status: string }).status;
async function until(id: number, status: string): Promise<void> {
  for (const deadline = Date.now() + 30_000; (await rolloutStatus(id)) !== status; await new Promise((r) => setTimeout(r, 300))) {
    if (Date.now() > deadline) throw new Error(`rollout ${id} not ${status} after 30 s`);
  }
}
/** A person's access token, issued to a client by password grant (the dev realm allows it for tests). */
async function token(who: string, clientId = 'hawkbit'): Promise<string> {
  const res = await fetch(`${kcUrl}/realms/cdm/protocol/openid-connect/token`, {
    method: 'POST',
    body: new URLSearchParams({ grant_type: 'password', client_id: clientId, username: `${who}-${run}`, password }),
  });
  const body = (await res.json()) as { access_token?: string; error_description?: string };
  if (!body.access_token) throw new Error(`no token for ${who}: ${body.error_description}`);
  return `Bearer ${body.access_token}`;
}

beforeAll(async () => {
  hb = await startFreshHawkbit(
    defaultContext(() => {}),
    28082,
    { env, credentials: { username: 'cdm', password: secret } },
  );
  const client = (await kcAdmin.findClient('hawkbit'))!;
  const roles = await kcAdmin.clientRoles(client.id);
  for (const [who, grant] of [
    ['operator', HAWKBIT_OPERATOR],
    ['admin', HAWKBIT_ADMIN],
    ['nobody', []],
  ] as const) {
    people[who] = await kcAdmin.createUser({ username: `${who}-${run}`, email: `${who}-${run}@e2e.example`, firstName: who, lastName: 'E2e', password });
    const missing = grant.filter((g) => !roles.some((r) => r.name === g));
    expect(missing, 'every role tenant-sync grants exists on the realm client').toEqual([]);
    if (grant.length)
      await kcAdmin.addClientRoles(
        people[who]!,
        client.id,
        roles.filter((r) => (grant as readonly string[]).includes(r.name!)).map((r) => ({ id: r.id!, name: r.name! })),
      );
  }
  // Something to look at and act on, made by the bridges' user: a target and a distribution set.
  expect(await call(cdm, 'POST', '/rest/v1/targets', [{ controllerId: `t-${run}`, name: `t-${run}`, description: 'compose e2e' }])).toBe(201);
  const sm = (await json(cdm, 'POST', '/rest/v1/softwaremodules', [{ name: `fw-${run}`, version: '1.0.0', type: 'os' }])) as { id: number }[];
  const ds = (await json(cdm, 'POST', '/rest/v1/distributionsets', [{ name: `fw-${run}`, version: '1.0.0', type: 'os', modules: [{ id: sm[0]!.id }] }])) as { id: number }[];
  dsId = ds[0]!.id;
  expect(await call(cdm, 'PUT', '/rest/v1/system/configs/authentication.gatewaytoken.key', { value: `gw-${run}` })).toBeLessThan(300);
}, 300_000);
afterAll(async () => {
  for (const id of Object.values(people)) await kcAdmin.deleteUser(id).catch(() => undefined);
  await hb?.stop();
});

describe("compose's hawkBit settings on the real hawkBit", () => {
  it('the bridges log in as cdm; the built-in admin/admin is gone and the admin user has no rights', async () => {
    expect(await call(basic('cdm', secret), 'GET', '/rest/v1/targets')).toBe(200);
    expect(await call(basic('admin', 'admin'), 'GET', '/rest/v1/targets')).toBe(401);
    expect(await call(basic('admin', secret), 'GET', '/rest/v1/targets')).toBe(403);
    expect(await call(basic('cdm', 'wrong'), 'GET', '/rest/v1/targets')).toBe(401);
  });

  it('an operator (tenant-sync role table) reads targets, sets and rollouts, but changes no target and creates no rollout', async () => {
    const t = await token('operator');
    expect(await call(t, 'GET', '/rest/v1/targets')).toBe(200);
    expect(await call(t, 'GET', '/rest/v1/distributionsets')).toBe(200);
    expect(await call(t, 'GET', '/rest/v1/softwaremodules')).toBe(200);
    expect(await call(t, 'GET', '/rest/v1/rollouts')).toBe(200);
    expect(await call(t, 'POST', '/rest/v1/targets', [{ controllerId: `op-${run}`, name: 'x' }])).toBe(403);
    expect(await call(t, 'PUT', `/rest/v1/targets/t-${run}`, { name: `t-${run}`, description: 'renamed by operator' })).toBe(403);
    expect(await call(t, 'POST', '/rest/v1/rollouts', { name: `op-r-${run}`, distributionSetId: dsId, targetFilterQuery: `controllerId==t-${run}` })).toBe(403);
    // hawkBit shows anyone its harmless settings, never the gateway token key.
    expect(Object.keys((await json(t, 'GET', '/rest/v1/system/configs')) as object)).not.toContain('authentication.gatewaytoken.key');
    expect(await call(t, 'PUT', '/rest/v1/system/configs/authentication.gatewaytoken.enabled', { value: true })).toBe(403);
  });

  it('an admin changes targets and creates a rollout; an operator starts and pauses it (HANDLE_ROLLOUT)', async () => {
    const admin = await token('admin');
    const operator = await token('operator');
    expect(await call(admin, 'PUT', `/rest/v1/targets/t-${run}`, { name: `t-${run}`, description: 'renamed by admin' })).toBe(200);
    expect(await call(admin, 'POST', '/rest/v1/targets', [{ controllerId: `adm-${run}`, name: 'x' }])).toBe(403); // targets come from enroll-bridge
    const r = (await json(admin, 'POST', '/rest/v1/rollouts', { name: `r-${run}`, distributionSetId: dsId, targetFilterQuery: `controllerId==t-${run}` })) as { id: number };
    await until(r.id, 'ready');
    expect(await call(operator, 'POST', `/rest/v1/rollouts/${r.id}/start`)).toBe(204);
    await until(r.id, 'running');
    expect(await call(operator, 'POST', `/rest/v1/rollouts/${r.id}/pause`)).toBe(204);
    expect(await rolloutStatus(r.id)).toBe('paused');
    expect(await call(await token('nobody'), 'POST', `/rest/v1/rollouts/${r.id}/resume`)).toBe(403);
  });

  it('no role, another client’s token, or a forged token get nothing', async () => {
    expect(await call(await token('nobody'), 'GET', '/rest/v1/targets')).toBe(403);
    // Same person, but a token issued to another client: it carries neither the hawkBit roles nor
    // hawkBit as audience (that client's scope holds only the realm roles it needs).
    expect(await call(await token('operator', 'cdm-terminal'), 'GET', '/rest/v1/targets')).toBe(401);
    const [h, p] = (await token('admin')).slice(7).split('.');
    expect(await call(`Bearer ${h}.${p}.${Buffer.from('forged').toString('base64url')}`, 'GET', '/rest/v1/targets')).toBe(401);
  });
});
