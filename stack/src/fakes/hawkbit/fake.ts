import crypto from 'node:crypto';
import { Contract } from '../contract.ts';
import { createFakeApp, reply, type FakeDefinition, type Handler } from '../server.ts';
import { parseFiql } from './fiql.ts';

export const HAWKBIT_MGMT_SPEC = 'hawkbit-mgmt-v1-2025-03-13.json';

/** Tenant configuration values are any JSON value (Java Object); the generator typed them "object". */
const anyValue = { description: 'boolean, number or string configuration value' };
export const HAWKBIT_RELAXATIONS = [
  { schema: 'MgmtSystemTenantConfigurationValueRequest', replace: { type: 'object', required: ['value'], properties: { value: anyValue } }, why: 'configuration values are booleans, numbers or strings' },
  { schema: 'MgmtSystemTenantConfigurationValue', replace: { type: 'object', properties: { value: anyValue, global: { type: 'boolean' }, lastModifiedAt: { type: 'integer' }, lastModifiedBy: { type: 'string' }, createdAt: { type: 'integer' }, createdBy: { type: 'string' } } }, why: 'same as the request' },
];

interface Target {
  controllerId: string;
  name: string;
  description?: string;
  address?: string;
  securityToken: string;
  updateStatus: string;
  createdAt: number;
  createdBy: string;
  lastModifiedAt: number;
  lastModifiedBy: string;
  requestAttributes: boolean;
}

const ex = (status: number, errorCode: string, message: string) =>
  reply(status, { exceptionClass: 'org.eclipse.hawkbit.repository.exception.EntityNotFoundException', errorCode, message });
const notFound = (what: string) => ex(404, 'hawkbit.server.error.repo.entitiyNotFound', `${what} not found.`);

/** Tenant configuration keys hawkBit knows, with their defaults (see TenantConfigurationKey). */
const CONFIG_DEFAULTS: Record<string, unknown> = {
  'authentication.targettoken.enabled': false,
  'authentication.gatewaytoken.enabled': false,
  'authentication.gatewaytoken.key': '',
  'pollingTime': '00:05:00',
  'pollingOverdueTime': '00:05:00',
  'maintenanceWindowPollCount': 3,
  'anonymous.download.enabled': false,
  'repository.actions.autoclose.enabled': false,
  'multi.assignments.enabled': false,
  'batch.assignments.enabled': false,
  'user.confirmation.flow.enabled': false,
  'rollout.approval.enabled': false,
  'action.cleanup.enabled': false,
};

/**
 * hawkBit Management API fake (HTTP Basic admin/admin): targets with FIQL filters and paging, and
 * tenant configuration. Software modules, distribution sets and rollouts answer 501 until the
 * ota-bridge work needs them.
 */
export function createHawkbitFake(opts: { contract?: Contract; username?: string; password?: string } = {}) {
  const contract = opts.contract ?? new Contract(HAWKBIT_MGMT_SPEC, '', HAWKBIT_RELAXATIONS);
  const user = opts.username ?? 'admin';
  const pass = opts.password ?? 'admin';
  let targets = new Map<string, Target>();
  let configs = new Map<string, unknown>();
  const reset = () => {
    targets = new Map();
    configs = new Map();
  };
  reset();

  const out = (t: Target) => ({ ...t, _links: { self: { href: `/rest/v1/targets/${encodeURIComponent(t.controllerId)}` } } });
  const page = <T>(items: T[], query: Record<string, string | undefined>) => {
    const offset = Number(query.offset ?? 0);
    const limit = Math.min(Number(query.limit ?? 50), 500);
    const content = items.slice(offset, offset + limit);
    return { content, total: items.length, size: content.length };
  };
  const sorted = <T extends Record<string, unknown>>(items: T[], sort: string | undefined) => {
    if (!sort) return items;
    const [field, dir] = sort.split(':') as [string, string | undefined];
    const d = (dir ?? 'ASC').toUpperCase() === 'DESC' ? -1 : 1;
    return [...items].sort((a, b) => (a[field]! < b[field]! ? -d : a[field]! > b[field]! ? d : 0));
  };
  const filter = <T extends Record<string, unknown>>(items: T[], q: string | undefined) => {
    try {
      return items.filter(parseFiql(q));
    } catch (e) {
      throw ex(400, 'hawkbit.server.error.rest.param.rsqlInvalid', (e as Error).message);
    }
  };

  type H = Handler<string>;
  const h: Record<string, H> = {
    'POST /rest/v1/targets': ({ body, principal }) => {
      const list = body as { controllerId: string; name: string; description?: string; address?: string; securityToken?: string }[];
      const dup = list.find((t) => targets.has(t.controllerId));
      if (dup) return ex(409, 'hawkbit.server.error.repo.entitiyAlreadyExists', `Target with controllerId ${dup.controllerId} already exists`);
      const now = Date.now();
      const created = list.map((t) => {
        const rec: Target = { ...t, securityToken: t.securityToken ?? crypto.randomBytes(16).toString('hex'), updateStatus: 'registered', createdAt: now, createdBy: principal, lastModifiedAt: now, lastModifiedBy: principal, requestAttributes: true };
        targets.set(rec.controllerId, rec);
        return out(rec);
      });
      return reply(201, created);
    },
    'GET /rest/v1/targets': ({ query }) => reply(200, page(sorted(filter([...targets.values()] as unknown as Record<string, unknown>[], query.q), query.sort).map((t) => out(t as unknown as Target)), query)),
    'GET /rest/v1/targets/{targetId}': ({ params }) => {
      const t = targets.get(params.targetId!);
      return t ? reply(200, out(t)) : notFound(`Target with given identifier {${params.targetId}}`);
    },
    'PUT /rest/v1/targets/{targetId}': ({ params, body, principal }) => {
      const t = targets.get(params.targetId!);
      if (!t) return notFound(`Target with given identifier {${params.targetId}}`);
      const { controllerId: _c, ...change } = body as Partial<Target>;
      Object.assign(t, change, { lastModifiedAt: Date.now(), lastModifiedBy: principal });
      return reply(200, out(t));
    },
    'DELETE /rest/v1/targets/{targetId}': ({ params }) => {
      if (!targets.delete(params.targetId!)) return notFound(`Target with given identifier {${params.targetId}}`);
      return reply(200);
    },
    'GET /rest/v1/targets/{targetId}/attributes': ({ params }) => (targets.has(params.targetId!) ? reply(200, {}) : notFound(`Target {${params.targetId}}`)),
    'GET /rest/v1/targets/{targetId}/actions': ({ params, query }) => (targets.has(params.targetId!) ? reply(200, page([], query)) : notFound(`Target {${params.targetId}}`)),
    'GET /rest/v1/system/configs/{keyName}': ({ params }) => {
      if (!(params.keyName! in CONFIG_DEFAULTS)) return ex(404, 'hawkbit.server.error.configuration.keyInvalid', `The given configuration key ${params.keyName} does not exist.`);
      const set = configs.has(params.keyName!);
      return reply(200, { value: set ? configs.get(params.keyName!) : CONFIG_DEFAULTS[params.keyName!], global: !set });
    },
    'PUT /rest/v1/system/configs/{keyName}': ({ params, body }) => {
      const def = CONFIG_DEFAULTS[params.keyName!];
      if (def === undefined) return ex(404, 'hawkbit.server.error.configuration.keyInvalid', `The given configuration key ${params.keyName} does not exist.`);
      const value = (body as { value: unknown }).value;
      if (typeof value !== typeof def) return ex(400, 'hawkbit.server.error.configuration.valueInvalid', `The given configuration value is expected to be of type ${typeof def}.`);
      configs.set(params.keyName!, value);
      return reply(200, { value, global: false, lastModifiedAt: Date.now() });
    },
  };

  const def: FakeDefinition<string> = {
    name: 'hawkBit',
    contract,
    handlers: h,
    errorBody: (status, message) => ({ exceptionClass: 'org.springframework.web.bind.MethodArgumentNotValidException', errorCode: status === 404 ? 'hawkbit.server.error.rest.notFound' : 'hawkbit.server.error.rest.body.notReadable', message }),
    reset,
    authenticate(_mo, req) {
      const auth = req.headers.authorization ?? '';
      const [u, ...p] = auth.startsWith('Basic ') ? Buffer.from(auth.slice(6), 'base64').toString('utf8').split(':') : [];
      if (u !== user || p.join(':') !== pass) return reply(401);
      return u;
    },
  };
  return { app: createFakeApp(def) };
}
