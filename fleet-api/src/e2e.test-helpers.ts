import crypto from 'node:crypto';
import fs from 'node:fs';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { createLogger, InfluxClient, KeycloakClient, KeycloakTokenVerifier, loadConfig, ThingsBoardClient, type EntityId } from '@cdm/common';
import { composeEnrollBridge, createApi, createApiServer, createClaim, enrollBridgeConfig } from '@cdm/enroll-bridge';
import { bridgeEnv, createPerson, createTenantGroup, defaultContext, thingsboardTenant, type Endpoint } from '@cdm/stack';
import { serveDirectory } from '../../enroll-bridge/src/directory.test-helpers.ts';
import { Contract } from '../../stack/src/fakes/contract.ts';
import { composeFleetApi } from './compose.ts';
import { fleetApiConfig } from './config.ts';
import { openApiDocument } from './openapi.ts';
import { Fleet, type DeviceIdentity } from '@cdm/device';

export type Role = 'admin' | 'operator' | 'oncall' | 'outsider';

/**
 * The scene every fleet-API e2e test needs, on the real stack: a Keycloak tenant with a person per
 * role (and an admin of another tenant), the ThingsBoard tenant as tenant-sync leaves it,
 * enroll-bridge (API for devices, directory for the fleet API) and the fleet API with its command
 * loop. Calls go through HTTP with real Keycloak tokens and are checked against the OpenAPI document.
 */
export async function fleetScene(stack: Record<string, Endpoint>, name: string) {
  const ctx = defaultContext();
  const run = crypto.randomBytes(3).toString('hex');
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), `cdm-${name}-`));
  const group = `e2e-${name}-${run}`;
  const password = `pw-${crypto.randomBytes(6).toString('hex')}`;
  const kcUrl = stack.keycloak!.url;
  const kcAdmin = new KeycloakClient({ baseURL: kcUrl, realm: 'cdm', authRealm: 'master', clientId: 'admin-cli', username: 'admin', password: 'admin' });
  const envs = bridgeEnv(stack, ctx.stateDir);
  const closers: (() => unknown)[] = [];

  const mine = await createTenantGroup(kcAdmin, group);
  const other = await createTenantGroup(kcAdmin, `${group}-other`);
  const people: Record<Role, string> = { admin: `adm-${run}`, operator: `op-${run}`, oncall: `oc-${run}`, outsider: `out-${run}` };
  const ids = [
    await createPerson(kcAdmin, { username: people.admin, password, groups: [mine.roles.admin] }),
    await createPerson(kcAdmin, { username: people.operator, password, groups: [mine.roles.operator] }),
    await createPerson(kcAdmin, { username: people.oncall, password, groups: [mine.roles.oncall] }),
    await createPerson(kcAdmin, { username: people.outsider, password, groups: [other.roles.admin] }),
  ];
  closers.push(async () => {
    for (const id of ids) await kcAdmin.deleteUser(id).catch(() => undefined);
    for (const g of [mine.id, other.id]) await kcAdmin.deleteGroup(g).catch(() => undefined);
  });

  // ThingsBoard tenant and its bridge admin, and the tenant's write token, as tenant-sync leaves them.
  const eb = loadConfig(enrollBridgeConfig, { ...envs['enroll-bridge'], DATA_DIR: path.join(tmp, 'enroll'), TENANT_TOKEN_DIR: path.join(tmp, 'tokens'), LOG_LEVEL: 'warn' });
  const sys = new ThingsBoardClient({ baseURL: eb.THINGSBOARD_URL, username: eb.THINGSBOARD_USERNAME, password: eb.THINGSBOARD_PASSWORD });
  const { tenant: t, as: tbAdmin } = await thingsboardTenant(sys, mine.id, group);
  const influx = new InfluxClient({ baseURL: stack.influxdb2!.url, token: stack.influxdb2!.credentials!.token! });
  const org = (await influx.findOrg('cdm'))!;
  const bucket = await influx.createBucket({ orgID: org.id, name: `cdm-${mine.id}` });
  const write = await influx.createAuthorization({ orgID: org.id, description: `e2e ${group}`, permissions: [{ action: 'write', resource: { type: 'buckets', id: bucket.id, orgID: org.id } }] });
  closers.push(() => influx.deleteBucket(bucket.id).catch(() => undefined));
  fs.mkdirSync(path.join(tmp, 'tokens'));
  fs.writeFileSync(path.join(tmp, 'tokens', `${mine.id}.json`), JSON.stringify({ cdmId: mine.id, org: 'cdm', bucket: bucket.name, authId: write.id, token: write.token }));

  const bridge = await composeEnrollBridge(eb, createLogger('enroll', { level: 'silent' }));
  // With its admin API (claims for registration), as enroll-bridge's main.ts serves it.
  const adminVerifier = new KeycloakTokenVerifier({ issuer: `${kcUrl}/realms/cdm`, audience: eb.ADMIN_OIDC_AUDIENCE });
  const enrollApi = createApiServer(
    createApi({
      enroller: bridge.enroller,
      logger: createLogger('api', { level: 'silent' }),
      rootPem: bridge.clients.stepca.rootPem,
      perAddressPerMinute: 100_000,
      perClaimPerMinute: 100_000,
      admin: bridge.admin(adminVerifier),
    }),
  );
  await new Promise<void>((r) => enrollApi.listen(0, '127.0.0.1', r));
  const directory = await serveDirectory(bridge.store, `${kcUrl}/realms/cdm`);
  closers.push(async () => {
    enrollApi.close();
    directory.close();
    for (const d of await bridge.store.listDevices({ tenantId: mine.id })) await bridge.enroller.decommission(d.deviceId).catch(() => undefined);
    await bridge.store.close();
    await sys.deleteTenant(t.id!.id).catch(() => undefined);
  });

  const enrollUrl = `http://127.0.0.1:${(enrollApi.address() as AddressInfo).port}`;
  const config = loadConfig(fleetApiConfig, {
    ...envs['fleet-api'],
    DIRECTORY_URL: directory.url,
    ENROLL_ADMIN_URL: `${enrollUrl}/v1/admin`,
    DATA_DIR: path.join(tmp, 'fleet'),
    LISTEN_PORT: '0',
    LOG_LEVEL: 'warn',
    GROUP_CONFIRM_ABOVE: '50',
  });
  const fleet = await composeFleetApi(config, createLogger('fleet-api', { level: process.env.FLEET_LOG ?? 'silent' }));
  await new Promise<void>((r) => fleet.server.listen(0, '127.0.0.1', r));
  const api = `http://127.0.0.1:${(fleet.server.address() as AddressInfo).port}/v1`;
  let busy = false;
  const loop = setInterval(() => {
    if (busy) return;
    busy = true;
    void fleet.loop
      .pass()
      .catch(() => undefined)
      .finally(() => (busy = false));
  }, 300);
  closers.push(
    () => clearInterval(loop),
    () => fleet.server.close(),
    () => fleet.store.close(),
  );

  const tokens = new Map<Role, { token: string; until: number }>();
  const token = async (who: Role) => {
    const hit = tokens.get(who);
    if (hit && hit.until > Date.now()) return hit.token;
    const res = await fetch(`${kcUrl}/realms/cdm/protocol/openid-connect/token`, {
      method: 'POST',
      body: new URLSearchParams({ grant_type: 'password', client_id: 'cdm-console', username: people[who], password }),
    });
    if (!res.ok) throw new Error(`Keycloak refused ${people[who]}: ${res.status} ${await res.text()}`);
    const body = (await res.json()) as { access_token: string; expires_in: number };
    tokens.set(who, { token: body.access_token, until: Date.now() + (body.expires_in - 30) * 1000 });
    return body.access_token;
  };
  const contract = new Contract({ id: 'fleet-api', spec: openApiDocument() }, '/v1');
  /** Calls the fleet API with a given token (another system's), checked against the document as `call` is. */
  const callWith = async (token: string, method: string, url: string, body?: unknown) => {
    const res = await fetch(`${api}${url}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const json = (await res.json()) as Record<string, any>;
    const mo = contract.match(method, `/v1${url.split('?')[0]}`);
    const problems = [...(Object.keys(mo.op.responses ?? {}).includes(String(res.status)) ? [] : [`status ${res.status} undocumented`]), ...contract.validateResponse(mo, res.status, json)];
    if (problems.length) throw new Error(`${method} ${url} → ${res.status} ${JSON.stringify(json).slice(0, 300)}: ${problems.join('; ')}`);
    return { status: res.status, body: json };
  };

  /** Calls the fleet API as a person; the answer must be documented and valid. */
  const call = async (who: Role, method: string, url: string, body?: unknown) => callWith(await token(who), method, url, body);
  /** Polls until `ok` holds for the answer, or fails naming the last one. */
  const until = async <T>(what: string, get: () => Promise<T>, ok: (v: T) => boolean, timeoutMs = 60_000, everyMs = 500): Promise<T> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const v = await get();
      if (ok(v)) return v;
      if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs / 1000} s; last: ${JSON.stringify(v).slice(0, 600)}`);
      await new Promise((r) => setTimeout(r, everyMs));
    }
  };
  const tbDevice = async (deviceId: string): Promise<EntityId> => ({ entityType: 'DEVICE', id: (await tbAdmin.findDeviceByName(deviceId))!.id!.id });

  /**
   * Another system as ops connect it: a confidential Keycloak client of its own whose tokens carry
   * the fleet API's audience, its service-account user put in one of the tenant's role groups.
   */
  const system = async (name: string, role: 'admin' | 'operator' | 'oncall') => {
    const admin = { authorization: `Bearer ${await kcAdmin.accessToken()}`, 'content-type': 'application/json' };
    const base = `${kcUrl}/admin/realms/cdm`;
    const clientId = `${name}-${run}`;
    const secret = `s-${crypto.randomBytes(12).toString('hex')}`;
    const made = await fetch(`${base}/clients`, {
      method: 'POST',
      headers: admin,
      body: JSON.stringify({
        clientId,
        secret,
        publicClient: false,
        serviceAccountsEnabled: true,
        standardFlowEnabled: false,
        directAccessGrantsEnabled: false,
        protocolMappers: [
          { name: 'audience cdm-fleet', protocol: 'openid-connect', protocolMapper: 'oidc-audience-mapper', config: { 'included.custom.audience': 'cdm-fleet', 'access.token.claim': 'true' } },
        ],
      }),
    });
    if (made.status !== 201) throw new Error(`Keycloak: client ${clientId} not created (${made.status} ${await made.text()})`);
    const uuid = made.headers.get('location')!.split('/').at(-1)!;
    closers.push(() => fetch(`${base}/clients/${uuid}`, { method: 'DELETE', headers: admin }));
    const user = (await (await fetch(`${base}/clients/${uuid}/service-account-user`, { headers: admin })).json()) as { id: string };
    await kcAdmin.addUserToGroup(user.id, mine.roles[role]);
    const res = await fetch(`${kcUrl}/realms/cdm/protocol/openid-connect/token`, {
      method: 'POST',
      body: new URLSearchParams({ grant_type: 'client_credentials', client_id: clientId, client_secret: secret }),
    });
    if (!res.ok) throw new Error(`Keycloak refused ${clientId}: ${res.status} ${await res.text()}`);
    return ((await res.json()) as { access_token: string }).access_token;
  };
  return {
    /** The fleet API's origin, where its device page is (/?device=<id>). */
    pageUrl: api.replace(/\/v1$/, ''),
    password,
    system,
    callWith,
    run,
    tmp,
    tenantId: mine.id,
    /** The other tenant's Keycloak group id (its admin is the `outsider`). */
    otherTenantId: other.id,
    /** ThingsBoard as its system administrator. */
    tbSys: sys,
    group,
    people,
    call,
    until,
    tbAdmin,
    tbDevice,
    enrollUrl,
    claim: async (uses: number) => (await createClaim(bridge.store, { tenantId: mine.id, uses, expires: '1h' })).token,
    mqtt: { url: stack.thingsboard!.extra!.mqttsUrl!, caFile: stack.thingsboard!.extra!.caChain! },
    /** Simulated devices speaking the agent protocol over their own mutual-TLS MQTT sessions to ThingsBoard (not started). */
    simulate: (identities: DeviceIdentity[]) =>
      new Fleet({
        identities,
        broker: { url: stack.thingsboard!.extra!.mqttsUrl!, ca: fs.readFileSync(stack.thingsboard!.extra!.caChain!, 'utf8'), broker: 'thingsboard' },
        influxUrl: stack.influxdb2!.url,
        rebootMs: 1000,
        windowS: 60,
      }),
    close: async () => {
      for (const c of closers.reverse()) await c();
    },
  };
}
