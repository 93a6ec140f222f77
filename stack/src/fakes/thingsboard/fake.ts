import crypto from 'node:crypto';
import { SignJWT, jwtVerify } from 'jose';
import { Contract } from '../contract.ts';
import { createFakeApp, reply, type FakeDefinition, type FakeRequest, type Handler } from '../server.ts';
import { tbPage } from '../paging.ts';
import { NULL_UUID, TbState, id, type Authority, type UserRec } from './state.ts';

export const TB_SPEC = 'thingsboard-ce-4.3.1.2-SNAPSHOT.json';

/** The generated spec marks these as required, but ThingsBoard assigns them when it saves. */
export const TB_RELAXATIONS = [
  {
    schema: 'DeviceCredentials',
    optional: ['id', 'deviceId', 'credentialsId'],
    why: 'POST /api/device-with-credentials creates the credentials: the server sets id and deviceId, and derives credentialsId from an X.509 certificate',
  },
];

interface Principal {
  userId: string;
  authority: Authority;
  tenantId: string;
  customerId: string;
}

/** ThingsBoard's error body: {status, message, errorCode, timestamp}. */
const tbError = (status: number, message: string) => ({
  status,
  message,
  errorCode: status === 401 ? 10 : status === 403 ? 20 : status === 404 ? 32 : status === 400 ? 31 : 2,
  timestamp: Date.now(),
});
const fail = (status: number, message: string) => reply(status, tbError(status, message));
const notFound = () => fail(404, "Requested item wasn't found!");
const denied = () => fail(403, "You don't have permission to perform this operation!");

/** Public paths that need no JWT, as in ThingsBoard's security config. */
const PUBLIC = new Set(['/api/auth/login', '/api/auth/token']);

export function createThingsBoardFake(opts: { contract?: Contract } = {}) {
  // oneOf → anyOf: the spec's error responses are oneOf two schemas that every error body matches
  // (no required fields, no discriminator), so as written no response could ever be valid.
  const contract = opts.contract ?? new Contract(TB_SPEC, '', TB_RELAXATIONS, { oneOfAsAnyOf: true });
  const state = new TbState();
  const secret = crypto.randomBytes(32);

  const issue = async (u: UserRec) => {
    const claims = { scopes: [u.authority], userId: u.id.id, tenantId: u.tenantId.id, customerId: u.customerId.id, enabled: true };
    const token = await new SignJWT(claims).setProtectedHeader({ alg: 'HS512' }).setSubject(u.email).setIssuer('thingsboard.io').setIssuedAt().setExpirationTime('15m').sign(secret);
    const refreshToken = await new SignJWT({ scopes: ['REFRESH_TOKEN'], userId: u.id.id })
      .setProtectedHeader({ alg: 'HS512' })
      .setSubject(u.email)
      .setIssuer('thingsboard.io')
      .setIssuedAt()
      .setExpirationTime('7d')
      .sign(secret);
    return { token, refreshToken };
  };

  const need = (p: Principal, ...roles: Authority[]) => {
    if (!roles.includes(p.authority)) throw denied();
  };
  const ownTenant = (p: Principal, tenantId: string) => {
    if (p.authority !== 'SYS_ADMIN' && p.tenantId !== tenantId) throw denied();
  };
  const getOwned = <T extends { tenantId: { id: string } }>(map: Map<string, T>, key: string, p: Principal): T => {
    const e = map.get(key);
    if (!e || e.tenantId.id !== p.tenantId) throw notFound(); // another tenant's entity does not exist for you
    return e;
  };
  const publicUser = ({ password: _pw, enabled: _en, ...u }: UserRec) => u;
  const ts = () => Date.now();

  type H = Handler<Principal>;
  const h: Record<string, H> = {
    // ---- auth
    'POST /api/auth/login': async ({ body }) => {
      const { username, password } = body as { username: string; password: string };
      const u = [...state.users.values()].find((x) => x.email === username);
      if (!u || !u.password || u.password !== password) return fail(401, 'Invalid username or password');
      if (!u.enabled) return fail(401, 'User account is not active');
      return reply(200, await issue(u));
    },
    'POST /api/auth/token': async ({ body }) => {
      try {
        const { payload } = await jwtVerify((body as { refreshToken: string }).refreshToken ?? '', secret);
        const u = state.users.get(String(payload.userId));
        if (!u || !(payload.scopes as string[]).includes('REFRESH_TOKEN')) throw new Error('bad');
        return reply(200, await issue(u));
      } catch {
        return fail(401, 'Token has expired');
      }
    },
    'GET /api/auth/user': ({ principal }) => reply(200, publicUser(state.users.get(principal.userId)!)),

    // ---- tenants
    'POST /api/tenant': ({ body, principal }) => {
      need(principal, 'SYS_ADMIN');
      const t = body as Record<string, unknown> & { id?: { id: string }; title: string };
      const existing = t.id ? state.tenants.get(t.id.id) : undefined;
      if (t.id && !existing) return notFound();
      const rec = { ...existing, ...t, id: existing?.id ?? id('TENANT'), createdTime: (existing?.createdTime as number) ?? ts(), name: t.title, tenantProfileId: id('TENANT_PROFILE', NULL_UUID) };
      state.tenants.set(rec.id.id, rec);
      if (!existing) {
        // A new tenant gets its default device profile, as in ThingsBoard.
        const p = {
          id: id('DEVICE_PROFILE'),
          createdTime: ts(),
          tenantId: { id: rec.id.id, entityType: 'TENANT' },
          name: 'default',
          type: 'DEFAULT',
          transportType: 'DEFAULT',
          provisionType: 'DISABLED',
          default: true,
        };
        state.profiles.set(p.id.id, p);
      }
      return reply(200, rec);
    },
    'GET /api/tenant/{tenantId}': ({ params, principal }) => {
      ownTenant(principal, params.tenantId!);
      const t = state.tenants.get(params.tenantId!);
      return t ? reply(200, t) : notFound();
    },
    'DELETE /api/tenant/{tenantId}': ({ params, principal }) => {
      need(principal, 'SYS_ADMIN');
      if (!state.tenants.delete(params.tenantId!)) return notFound();
      // Deleting a tenant deletes everything in it, device credentials included.
      for (const d of state.devices.values()) if (d.tenantId.id === params.tenantId) state.credentials.delete(d.id.id);
      for (const m of [state.users, state.customers, state.profiles, state.devices, state.alarms] as Map<string, { tenantId: { id: string } }>[]) {
        for (const [k, v] of m) if (v.tenantId.id === params.tenantId) m.delete(k);
      }
      return reply(200);
    },
    'GET /api/tenants': ({ query, principal }) => {
      need(principal, 'SYS_ADMIN');
      return reply(
        200,
        tbPage([...state.tenants.values()], query, (t) => String(t.title)),
      );
    },

    // ---- users
    'POST /api/user': ({ body, principal }) => {
      const u = body as Partial<UserRec> & { email: string; authority: Authority };
      const tenantId = u.tenantId?.id ?? principal.tenantId;
      if (principal.authority === 'SYS_ADMIN') {
        if (u.authority !== 'TENANT_ADMIN' || !state.tenants.has(tenantId)) return fail(400, 'System administrator can only create tenant administrators of an existing tenant');
      } else if (principal.authority === 'TENANT_ADMIN') {
        ownTenant(principal, tenantId);
        if (u.authority === 'SYS_ADMIN') return denied();
        if (u.authority === 'CUSTOMER_USER' && !state.customers.get(u.customerId?.id ?? '')) return fail(400, 'Customer user must belong to a customer of the tenant');
      } else return denied();
      const existing = u.id ? state.users.get(u.id.id) : undefined;
      if (u.id && !existing) return notFound();
      const clash = [...state.users.values()].find((x) => x.email === u.email && x.id.id !== existing?.id.id);
      if (clash) return fail(400, "User with email '" + u.email + "'  already present in database!");
      const rec: UserRec = {
        ...existing,
        ...(u as UserRec),
        id: existing?.id ?? (id('USER') as UserRec['id']),
        createdTime: existing?.createdTime ?? ts(),
        tenantId: { id: tenantId, entityType: 'TENANT' },
        customerId: u.customerId ?? { id: NULL_UUID, entityType: 'CUSTOMER' },
        name: u.email,
        enabled: existing?.enabled ?? true,
      };
      state.users.set(rec.id.id, rec);
      return reply(200, publicUser(rec));
    },
    'GET /api/user/{userId}': ({ params, principal }) => {
      const u = state.users.get(params.userId!);
      if (!u || (principal.authority !== 'SYS_ADMIN' && u.tenantId.id !== principal.tenantId)) return notFound();
      return reply(200, publicUser(u));
    },
    'DELETE /api/user/{userId}': ({ params, principal }) => {
      const u = state.users.get(params.userId!);
      if (!u || (principal.authority !== 'SYS_ADMIN' && u.tenantId.id !== principal.tenantId)) return notFound();
      need(principal, 'SYS_ADMIN', 'TENANT_ADMIN');
      // SysAdminPermissions: the system administrator has no rights on a tenant's customer users.
      if (principal.authority === 'SYS_ADMIN' && u.authority === 'CUSTOMER_USER') throw denied();
      const admins = [...state.users.values()].filter((x) => x.authority === 'TENANT_ADMIN' && x.tenantId.id === u.tenantId.id);
      if (u.authority === 'TENANT_ADMIN' && admins.length === 1) return fail(400, 'At least one tenant administrator must remain!');
      state.users.delete(params.userId!);
      return reply(200);
    },
    'GET /api/tenant/{tenantId}/users': ({ params, query, principal }) => {
      need(principal, 'SYS_ADMIN');
      const list = [...state.users.values()].filter((u) => u.tenantId.id === params.tenantId && u.authority === 'TENANT_ADMIN').map(publicUser);
      return reply(
        200,
        tbPage(list as unknown as Record<string, unknown>[], query, (u) => String(u.email)),
      );
    },
    'GET /api/customer/{customerId}/users': ({ params, query, principal }) => {
      need(principal, 'TENANT_ADMIN');
      getOwned(state.customers, params.customerId!, principal);
      const list = [...state.users.values()].filter((u) => u.customerId.id === params.customerId).map(publicUser);
      return reply(
        200,
        tbPage(list as unknown as Record<string, unknown>[], query, (u) => String(u.email)),
      );
    },
    'POST /api/user/{userId}/userCredentialsEnabled': ({ params, query, principal }) => {
      need(principal, 'SYS_ADMIN', 'TENANT_ADMIN');
      const u = state.users.get(params.userId!);
      if (!u || (principal.authority !== 'SYS_ADMIN' && u.tenantId.id !== principal.tenantId)) return notFound();
      u.enabled = query.userCredentialsEnabled !== 'false';
      return reply(200);
    },
    'GET /api/user/{userId}/token': async ({ params, principal }) => {
      const u = state.users.get(params.userId!);
      if (!u) return notFound();
      const allowed =
        (principal.authority === 'SYS_ADMIN' && u.authority === 'TENANT_ADMIN') || (principal.authority === 'TENANT_ADMIN' && u.authority === 'CUSTOMER_USER' && u.tenantId.id === principal.tenantId);
      if (!allowed) return denied();
      return reply(200, { ...(await issue(u)), scope: u.authority });
    },

    // ---- customers
    'POST /api/customer': ({ body, principal }) => {
      need(principal, 'TENANT_ADMIN');
      const c = body as Record<string, unknown> & { id?: { id: string }; title: string };
      const existing = c.id ? getOwned(state.customers, c.id.id, principal) : undefined;
      if ([...state.customers.values()].some((x) => x.tenantId.id === principal.tenantId && x.title === c.title && x.id.id !== existing?.id.id)) {
        return fail(400, 'Customer with such title already exists!');
      }
      const rec = {
        ...existing,
        ...c,
        id: existing?.id ?? id('CUSTOMER'),
        createdTime: (existing?.createdTime as number) ?? ts(),
        tenantId: { id: principal.tenantId, entityType: 'TENANT' },
        name: c.title,
      };
      state.customers.set(rec.id.id, rec);
      return reply(200, rec);
    },
    'GET /api/customers': ({ query, principal }) => {
      need(principal, 'TENANT_ADMIN');
      return reply(
        200,
        tbPage(
          [...state.customers.values()].filter((c) => c.tenantId.id === principal.tenantId),
          query,
          (c) => c.title,
        ),
      );
    },
    'GET /api/tenant/customers': ({ query, principal }) => {
      need(principal, 'TENANT_ADMIN');
      const c = [...state.customers.values()].find((x) => x.tenantId.id === principal.tenantId && x.title === query.customerTitle);
      return c ? reply(200, c) : notFound();
    },
    'DELETE /api/customer/{customerId}': ({ params, principal }) => {
      need(principal, 'TENANT_ADMIN');
      getOwned(state.customers, params.customerId!, principal);
      state.customers.delete(params.customerId!);
      return reply(200);
    },

    // ---- device profiles
    'POST /api/deviceProfile': ({ body, principal }) => {
      need(principal, 'TENANT_ADMIN');
      const p = body as Record<string, unknown> & { id?: { id: string }; name?: string };
      if (!p.name) return fail(400, 'Device profile name should be specified!');
      const existing = p.id ? getOwned(state.profiles, p.id.id, principal) : undefined;
      if ([...state.profiles.values()].some((x) => x.tenantId.id === principal.tenantId && x.name === p.name && x.id.id !== existing?.id.id)) {
        return fail(400, 'Device profile with such name already exists!');
      }
      const rec = {
        type: 'DEFAULT',
        transportType: 'DEFAULT',
        provisionType: 'DISABLED',
        ...existing,
        ...p,
        name: p.name,
        id: existing?.id ?? id('DEVICE_PROFILE'),
        createdTime: (existing?.createdTime as number) ?? ts(),
        tenantId: { id: principal.tenantId, entityType: 'TENANT' },
        default: existing?.default ?? false,
      };
      state.profiles.set(rec.id.id, rec);
      return reply(200, rec);
    },
    'GET /api/deviceProfiles': ({ query, principal }) => {
      need(principal, 'TENANT_ADMIN');
      return reply(
        200,
        tbPage(
          [...state.profiles.values()].filter((p) => p.tenantId.id === principal.tenantId),
          query,
          (p) => p.name,
        ),
      );
    },

    // ---- devices
    'POST /api/device': ({ body, query, principal }) => {
      const d = saveDevice(body as DeviceIn, principal);
      if (!state.credentials.has(d.id.id)) setCredentials(d.id.id, { credentialsType: 'ACCESS_TOKEN', credentialsId: query.accessToken ?? crypto.randomBytes(10).toString('base64url') });
      return reply(200, d);
    },
    'POST /api/device-with-credentials': ({ body, principal }) => {
      const { device, credentials } = body as { device: DeviceIn; credentials: { credentialsType: string; credentialsId?: string; credentialsValue?: string } };
      const d = saveDevice(device, principal);
      setCredentials(d.id.id, credentials);
      return reply(200, d);
    },
    'GET /api/device/{deviceId}': ({ params, principal }) => reply(200, getOwned(state.devices, params.deviceId!, principal)),
    'GET /api/tenant/device': ({ query, principal }) => {
      need(principal, 'TENANT_ADMIN');
      const d = [...state.devices.values()].find((x) => x.tenantId.id === principal.tenantId && x.name === query.deviceName);
      return d ? reply(200, d) : notFound();
    },
    'GET /api/tenant/devices': ({ query, principal }) => {
      need(principal, 'TENANT_ADMIN');
      const list = [...state.devices.values()].filter((d) => d.tenantId.id === principal.tenantId && (!query.type || d.type === query.type));
      return reply(
        200,
        tbPage(list, query, (d) => d.name),
      );
    },
    'DELETE /api/device/{deviceId}': ({ params, principal }) => {
      need(principal, 'TENANT_ADMIN');
      getOwned(state.devices, params.deviceId!, principal);
      state.devices.delete(params.deviceId!);
      state.credentials.delete(params.deviceId!);
      return reply(200);
    },
    'GET /api/device/{deviceId}/credentials': ({ params, principal }) => {
      need(principal, 'TENANT_ADMIN');
      getOwned(state.devices, params.deviceId!, principal);
      return reply(200, state.credentials.get(params.deviceId!));
    },
    'POST /api/device/credentials': ({ body, principal }) => {
      need(principal, 'TENANT_ADMIN');
      const c = body as { deviceId: { id: string }; credentialsType: string; credentialsId?: string; credentialsValue?: string };
      getOwned(state.devices, c.deviceId.id, principal);
      return reply(200, setCredentials(c.deviceId.id, c));
    },

    // ---- attributes and telemetry
    'POST /api/plugins/telemetry/{entityType}/{entityId}/attributes/{scope}': (r) => saveAttributes(r),
    'POST /api/plugins/telemetry/{entityType}/{entityId}/{scope}': (r) => saveAttributes(r),
    'GET /api/plugins/telemetry/{entityType}/{entityId}/values/attributes/{scope}': ({ params, query, principal }) => {
      entity(params, principal);
      const keys = query.keys?.split(',').filter(Boolean);
      const attrs = [...(state.attributes.get(`${params.entityId}/${params.scope}`)?.values() ?? [])].filter((a) => !keys || keys.includes(a.key));
      return reply(200, attrs);
    },
    'POST /api/plugins/telemetry/{entityType}/{entityId}/timeseries/{scope}': ({ params, body, principal }) => {
      entity(params, principal);
      const values = parseJsonText(body);
      const latest = state.telemetry.get(params.entityId!) ?? new Map();
      for (const [k, v] of Object.entries(values)) latest.set(k, { ts: ts(), value: v });
      state.telemetry.set(params.entityId!, latest);
      return reply(200);
    },
    'GET /api/plugins/telemetry/{entityType}/{entityId}/values/timeseries': ({ params, query, principal }) => {
      entity(params, principal);
      const latest = state.telemetry.get(params.entityId!) ?? new Map<string, { ts: number; value: unknown }>();
      const keys = query.keys?.split(',').filter(Boolean) ?? [...latest.keys()];
      // ThingsBoard returns telemetry values as strings unless useStrictDataTypes=true, and a key
      // asked for that has no value as one entry with value null.
      const strict = query.useStrictDataTypes === 'true';
      const value = (k: string) => (latest.has(k) ? { ts: latest.get(k)!.ts, value: strict ? latest.get(k)!.value : String(latest.get(k)!.value) } : { ts: ts(), value: null });
      return reply(200, Object.fromEntries(keys.map((k) => [k, [value(k)]])));
    },

    // ---- alarms
    'POST /api/alarm': ({ body, principal }) => {
      need(principal, 'TENANT_ADMIN');
      const a = body as Record<string, unknown> & { id?: { id: string }; originator: { id: string; entityType: string }; type: string };
      entity({ entityType: a.originator.entityType, entityId: a.originator.id }, principal);
      // ThingsBoard keeps one active alarm per originator and type: a second create updates it.
      const existing = a.id ? getOwned(state.alarms, a.id.id, principal) : [...state.alarms.values()].find((x) => x.originator.id === a.originator.id && x.type === a.type && !x.cleared);
      const now = ts();
      const rec = {
        ...existing,
        ...a,
        id: existing?.id ?? id('ALARM'),
        createdTime: (existing?.createdTime as number) ?? now,
        tenantId: { id: principal.tenantId, entityType: 'TENANT' },
        customerId: { id: NULL_UUID, entityType: 'CUSTOMER' },
        name: a.type,
        startTs: (existing?.startTs as number) ?? now,
        endTs: now,
        acknowledged: existing?.acknowledged ?? false,
        cleared: existing?.cleared ?? false,
      };
      const full = { ...rec, status: alarmStatus(rec) };
      state.alarms.set(full.id.id, full);
      return reply(200, full);
    },
    'GET /api/alarm/{alarmId}': ({ params, principal }) => reply(200, getOwned(state.alarms, params.alarmId!, principal)),
    'DELETE /api/alarm/{alarmId}': ({ params, principal }) => {
      getOwned(state.alarms, params.alarmId!, principal);
      state.alarms.delete(params.alarmId!);
      return reply(200, true);
    },
    'POST /api/alarm/{alarmId}/ack': ({ params, principal }) => alarmUpdate(params.alarmId!, principal, (a) => ({ acknowledged: true, ackTs: ts(), cleared: a.cleared })),
    'POST /api/alarm/{alarmId}/clear': ({ params, principal }) => alarmUpdate(params.alarmId!, principal, () => ({ cleared: true, clearTs: ts() })),
    'GET /api/alarm/{entityType}/{entityId}': ({ params, query, principal }) => {
      entity(params, principal);
      const status = query.searchStatus ?? 'ANY';
      const list = [...state.alarms.values()]
        .filter((a) => a.originator.id === params.entityId)
        .filter(
          (a) => status === 'ANY' || (status === 'ACTIVE' && !a.cleared) || (status === 'CLEARED' && a.cleared) || (status === 'ACK' && a.acknowledged) || (status === 'UNACK' && !a.acknowledged),
        )
        .filter((a) => !query.status || a.status === query.status)
        .map((a) => ({ ...a, originatorName: String(state.devices.get(a.originator.id)?.name ?? state.tenants.get(a.originator.id)?.title ?? '') }));
      return reply(
        200,
        tbPage(list, { sortProperty: 'createdTime', sortOrder: 'DESC', ...query }, (a) => a.type),
      );
    },
  };

  type DeviceIn = Record<string, unknown> & { id?: { id: string }; name: string; deviceProfileId?: { id: string }; type?: string };
  function saveDevice(d: DeviceIn, principal: Principal) {
    need(principal, 'TENANT_ADMIN');
    const existing = d.id ? getOwned(state.devices, d.id.id, principal) : undefined;
    if ([...state.devices.values()].some((x) => x.tenantId.id === principal.tenantId && x.name === d.name && x.id.id !== existing?.id.id)) {
      throw fail(400, 'Device with such name already exists!');
    }
    const profiles = [...state.profiles.values()].filter((p) => p.tenantId.id === principal.tenantId);
    const profile = d.deviceProfileId ? profiles.find((p) => p.id.id === d.deviceProfileId!.id) : profiles.find((p) => (d.type ? p.name === d.type : p.default));
    if (!profile) throw fail(400, 'Device profile is not found!');
    const rec = {
      ...existing,
      ...d,
      id: existing?.id ?? id('DEVICE'),
      createdTime: (existing?.createdTime as number) ?? ts(),
      tenantId: { id: principal.tenantId, entityType: 'TENANT' },
      customerId: (d.customerId as { id: string } | undefined) ?? existing?.customerId ?? { id: NULL_UUID, entityType: 'CUSTOMER' },
      deviceProfileId: profile.id,
      type: profile.name,
    };
    state.devices.set(rec.id.id, rec);
    return rec;
  }

  function setCredentials(deviceId: string, c: { credentialsType: string; credentialsId?: string; credentialsValue?: string }) {
    // As DeviceCredentialsServiceImpl.formatCertData: the PEM armour and line breaks are stripped
    // (not parsed or checked) and the id is the SHA3-256 of what is left, which MQTT matches
    // against the leaf certificate a device presents.
    const x509 = c.credentialsType === 'X509_CERTIFICATE';
    const value = x509 ? (c.credentialsValue ?? '').replace(/-----(BEGIN|END) CERTIFICATE-----/g, '').replace(/[\r\n]/g, '') : c.credentialsValue;
    const credentialsId = x509
      ? crypto
          .createHash('sha3-256')
          .update(value ?? '')
          .digest('hex')
      : (c.credentialsId ?? crypto.randomBytes(10).toString('base64url'));
    const clash = [...state.credentials.values()].find((x) => x.credentialsId === credentialsId && x.deviceId.id !== deviceId);
    if (clash) throw fail(400, 'Device credentials are already assigned to another device!');
    const prev = state.credentials.get(deviceId);
    const rec = {
      id: prev?.id ?? { id: crypto.randomUUID() },
      createdTime: prev?.createdTime ?? ts(),
      deviceId: { id: deviceId, entityType: 'DEVICE' as const },
      credentialsType: c.credentialsType,
      credentialsId,
      credentialsValue: value,
    };
    state.credentials.set(deviceId, rec);
    return rec;
  }

  function entity(params: Record<string, string | undefined>, principal: Principal) {
    if (principal.authority === 'SYS_ADMIN') throw denied();
    // A tenant's own users may use the tenant entity itself (e.g. as originator of tenant-wide alarms).
    if (params.entityType === 'TENANT') {
      if (params.entityId !== principal.tenantId) throw denied();
      return;
    }
    if (params.entityType !== 'DEVICE') throw fail(501, `ThingsBoard fake supports DEVICE and the own TENANT entity for telemetry and alarms, not ${params.entityType}`);
    getOwned(state.devices, params.entityId!, principal);
  }

  function saveAttributes({ params, body, principal }: FakeRequest<Principal>) {
    entity(params, principal);
    if (params.scope !== 'SERVER_SCOPE' && params.scope !== 'SHARED_SCOPE') return fail(400, `Invalid scope: ${params.scope}`);
    const values = parseJsonText(body);
    const key = `${params.entityId}/${params.scope}`;
    const attrs = state.attributes.get(key) ?? new Map();
    for (const [k, v] of Object.entries(values)) attrs.set(k, { key: k, value: v, lastUpdateTs: ts() });
    state.attributes.set(key, attrs);
    return reply(200);
  }

  function alarmUpdate(alarmId: string, principal: Principal, change: (a: { cleared: boolean; acknowledged: boolean }) => Record<string, unknown>) {
    need(principal, 'TENANT_ADMIN');
    const a = getOwned(state.alarms, alarmId, principal);
    Object.assign(a, change(a));
    a.status = alarmStatus(a);
    return reply(200, { ...a, originatorName: String(state.devices.get(a.originator.id)?.name ?? '') });
  }

  const def: FakeDefinition<Principal> = {
    name: 'ThingsBoard',
    contract,
    handlers: h,
    errorBody: tbError,
    reset: () => state.reset(),
    async authenticate(mo, req) {
      if (PUBLIC.has(mo.template)) return { userId: '', authority: 'SYS_ADMIN', tenantId: '', customerId: '' } as Principal;
      const header = req.headers['x-authorization'];
      const token = typeof header === 'string' && header.startsWith('Bearer ') ? header.slice(7) : undefined;
      if (!token) return fail(401, 'Authentication failed');
      try {
        const { payload } = await jwtVerify(token, secret);
        const scopes = payload.scopes as string[];
        if (scopes.includes('REFRESH_TOKEN')) return fail(401, 'Invalid JWT token');
        const u = state.users.get(String(payload.userId));
        if (!u || !u.enabled) return fail(401, 'User not found or disabled');
        return { userId: u.id.id, authority: u.authority, tenantId: u.tenantId.id, customerId: u.customerId.id };
      } catch {
        return fail(401, 'Token has expired');
      }
    },
  };
  return { app: createFakeApp(def), state };
}

function alarmStatus(a: { cleared: boolean; acknowledged: boolean }): string {
  return `${a.cleared ? 'CLEARED' : 'ACTIVE'}_${a.acknowledged ? 'ACK' : 'UNACK'}`;
}

/** Attribute and telemetry bodies are JSON documents; the spec types them as text/plain. */
function parseJsonText(body: unknown): Record<string, unknown> {
  if (body && typeof body === 'object') return body as Record<string, unknown>;
  try {
    const v = JSON.parse(String(body ?? ''));
    if (v && typeof v === 'object' && !Array.isArray(v)) return v as Record<string, unknown>;
  } catch {
    /* fall through */
  }
  throw fail(400, 'Request body must be a JSON object of key/value pairs');
}
