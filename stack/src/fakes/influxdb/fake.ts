import crypto from 'node:crypto';
import { Contract } from '../contract.ts';
import { createFakeApp, reply, type FakeDefinition, type FakeReply, type Handler } from '../server.ts';
import { mapBucketExpressions } from './bucket-expressions.ts';
import { durationMs, executeRun, runScript, taskOptions, type TaskOptions } from './tasks.ts';

export const INFLUX_SPEC = 'influxdb-oss-2.7.0.yml';
export const OPERATOR_TOKEN = 'cdm-dev-operator-token';
/** The spec's `format: duration` is a Flux duration literal (its descriptions say so), e.g. `5m` or `1h30m`. */
export const INFLUX_FORMATS = { duration: /^(\d+(ns|us|µs|ms|s|m|h|d|w|mo|y))+$/, flux: /[\s\S]*/ };

interface Permission {
  action: 'read' | 'write';
  resource: { type: string; id?: string; orgID?: string };
}
interface Authz {
  id: string;
  token: string;
  status: 'active' | 'inactive';
  description?: string;
  orgID: string;
  permissions: Permission[];
  createdAt: string;
  updatedAt: string;
}
interface Bucket {
  id: string;
  name: string;
  orgID: string;
  type: 'user';
  description?: string;
  retentionRules: { type: 'expire'; everySeconds: number }[];
  createdAt: string;
  updatedAt: string;
}

interface Task extends TaskOptions {
  id: string;
  orgID: string;
  org: string;
  status: 'active' | 'inactive';
  flux: string;
  description?: string;
  createdAt: string;
  updatedAt: string;
  latestCompleted?: string;
  lastRunStatus?: 'success' | 'failed';
  lastRunError?: string;
}

const hexId = () => crypto.randomBytes(8).toString('hex');
const err = (status: number, code: string, message: string) => reply(status, { code, message });
const now = () => new Date().toISOString();
/** The 1.8 database behind a bucket: the bucket id keeps names safe and unique. */
export const dbOf = (bucketId: string) => `b_${bucketId}`;

/**
 * InfluxDB 2 management API (orgs, buckets, tokens) in memory, with token permissions enforced on
 * write and query, which are proxied to a real InfluxDB 1.8 (`backend`).
 */
export function createInfluxFake(opts: { backend: string; contract?: Contract }) {
  const contract = opts.contract ?? new Contract(INFLUX_SPEC, '/api/v2', [], { formats: INFLUX_FORMATS });
  let orgs = new Map<string, { id: string; name: string; createdAt: string; updatedAt: string }>();
  let buckets = new Map<string, Bucket>();
  let authz = new Map<string, Authz>();
  let tasks = new Map<string, Task>();
  /** Per task, the last scheduled time its scheduler ran (or skipped at creation). */
  const scheduled = new Map<string, number>();

  const reset = () => {
    tasks = new Map();
    scheduled.clear();
    const org = { id: hexId(), name: 'cdm', createdAt: now(), updatedAt: now() };
    orgs = new Map([[org.id, org]]);
    buckets = new Map();
    const all = ['orgs', 'buckets', 'authorizations', 'tasks'].flatMap((type) => (['read', 'write'] as const).map((action) => ({ action, resource: { type } })));
    authz = new Map([[OPERATOR_TOKEN, { id: hexId(), token: OPERATOR_TOKEN, status: 'active', description: 'operator (dev)', orgID: org.id, permissions: all, createdAt: now(), updatedAt: now() }]]);
  };
  reset();

  const can = (a: Authz, action: 'read' | 'write', type: string, id?: string, orgID?: string) =>
    a.permissions.some((p) => p.action === action && p.resource.type === type && (!p.resource.id || p.resource.id === id) && (!p.resource.orgID || !orgID || p.resource.orgID === orgID));
  const need = (a: Authz, action: 'read' | 'write', type: string, id?: string, orgID?: string) => {
    if (!can(a, action, type, id, orgID)) throw err(403, 'forbidden', `insufficient permissions for ${action} on ${type}`);
  };
  const orgByNameOrId = (name?: string, id?: string) => [...orgs.values()].find((o) => (id && o.id === id) || (name && o.name === name));
  const backend = async (path: string, init: RequestInit): Promise<Response> => {
    try {
      return await fetch(`${opts.backend}${path}`, { ...init, signal: AbortSignal.timeout(30_000) });
    } catch {
      throw err(503, 'unavailable', `InfluxDB 1.8 backend at ${opts.backend} is not reachable (npm run stack -- up influxdb)`);
    }
  };
  const influxql = async (q: string, what: string) => {
    const res = await backend(`/query?q=${encodeURIComponent(q)}`, { method: 'POST' });
    const text = await res.text();
    if (!res.ok || text.includes('"error"')) throw err(500, 'internal error', `backend refused ${what}: ${text}`);
  };
  // A bucket's retention is its database's: influxd drops expired shards and refuses older points,
  // as InfluxDB 2 does ("partial write: points beyond retention policy dropped").
  const retention = (rules: Bucket['retentionRules']) => (rules[0]?.everySeconds ? `${Math.max(3600, rules[0].everySeconds)}s` : 'INF');
  const createDb = async (bucketId: string, rules: Bucket['retentionRules']) => influxql(`CREATE DATABASE "${dbOf(bucketId)}" WITH DURATION ${retention(rules)} NAME "autogen"`, 'CREATE DATABASE');
  const setRetention = async (bucketId: string, rules: Bucket['retentionRules']) =>
    influxql(`ALTER RETENTION POLICY "autogen" ON "${dbOf(bucketId)}" DURATION ${retention(rules)}`, 'ALTER RETENTION POLICY');
  const bucketFor = (org: string | undefined, orgID: string | undefined, name: string) => {
    const o = orgByNameOrId(org, orgID);
    if (!o) throw err(404, 'not found', `organization name "${org ?? orgID}" not found`);
    const b = [...buckets.values()].find((x) => x.orgID === o.id && x.name === name);
    if (!b) throw err(404, 'not found', `bucket "${name}" not found`);
    return b;
  };
  /** Each from(bucket: "name") → its 1.8 database; the first name `allowed` refuses (or that does not exist) is returned as denied. */
  const toBackendBuckets = (flux: string, orgID: string, allowed: (b: Bucket) => boolean) => {
    let denied: string | undefined;
    const out = flux.replace(/from\s*\(\s*bucket\s*:\s*"([^"]+)"\s*\)/g, (m, name: string) => {
      const b = [...buckets.values()].find((x) => x.orgID === orgID && x.name === name);
      if (!b || !allowed(b)) denied ??= name;
      return b ? `from(bucket: "${dbOf(b.id)}/autogen")` : m;
    });
    // A bucket chosen by an expression (a dashboard picking its tier by time range) is mapped when
    // the query runs: the candidates are the buckets the token may read whose names start with a
    // string the query holds; any other name reaches influxd unmapped and is not found.
    const literals = [...flux.matchAll(/"((?:[^"\\]|\\.)*)"/g)].map((m) => m[1]!).filter(Boolean);
    const candidates = [...buckets.values()].filter((b) => b.orgID === orgID && allowed(b) && literals.some((l) => b.name.startsWith(l)));
    return {
      flux: mapBucketExpressions(
        out,
        candidates.map((b) => [b.name, `${dbOf(b.id)}/autogen`]),
      ),
      denied,
    };
  };
  /** One run of a task at `scheduledFor` (its `now`): InfluxDB's Run, failed with the reason if it could not run. */
  const runTask = async (t: Task, scheduledFor: Date) => {
    const startedAt = now();
    let error: string | undefined;
    const script = runScript(t.flux, t, scheduledFor);
    try {
      if (typeof script === 'string') throw new Error(script);
      const target = [...buckets.values()].find((b) => b.orgID === t.orgID && b.name === script.bucket);
      if (!target) throw new Error(`to(): bucket "${script.bucket}" not found`);
      const q = toBackendBuckets(script.query, t.orgID, () => true);
      if (q.denied) throw new Error(`could not find bucket "${q.denied}"`);
      await executeRun(opts.backend, q.flux, `${dbOf(target.id)}/autogen`);
    } catch (e) {
      error = (e as Error).message;
    }
    Object.assign(t, { latestCompleted: scheduledFor.toISOString(), lastRunStatus: error ? 'failed' : 'success', lastRunError: error });
    return {
      id: hexId(),
      taskID: t.id,
      status: error ? 'failed' : 'success',
      scheduledFor: scheduledFor.toISOString(),
      startedAt,
      finishedAt: now(),
      requestedAt: startedAt,
      ...(error ? { log: [{ time: now(), message: error }] } : {}),
    };
  };
  // The scheduler: each active task runs once per `every` (after `offset`), now = the period's start; one run at a time.
  let ticking = false;
  const tick = async () => {
    if (ticking) return;
    ticking = true;
    try {
      for (const t of [...tasks.values()].filter((x) => x.status === 'active')) {
        const every = durationMs(t.every!);
        const due = Math.floor((Date.now() - durationMs(t.offset ?? '0s')) / every) * every;
        if (due > (scheduled.get(t.id) ?? due)) await runTask(t, new Date(due));
        scheduled.set(t.id, due);
      }
    } finally {
      ticking = false;
    }
  };
  setInterval(() => void tick(), 5_000).unref();
  const textReply = async (res: Response): Promise<FakeReply> => ({
    status: res.status,
    body: await res.text(),
    text: true,
    headers: { 'Content-Type': res.headers.get('content-type') ?? 'text/plain' },
  });

  type H = Handler<Authz>;
  const h: Record<string, H> = {
    'GET /orgs': ({ query, principal }) => {
      need(principal, 'read', 'orgs');
      const list = [...orgs.values()].filter((o) => (!query.org || o.name === query.org) && (!query.orgID || o.id === query.orgID));
      if ((query.org || query.orgID) && !list.length) return err(404, 'not found', `organization name "${query.org ?? query.orgID}" not found`);
      return reply(200, { orgs: list });
    },
    'POST /orgs': ({ body, principal }) => {
      need(principal, 'write', 'orgs');
      const name = (body as { name: string }).name;
      if ([...orgs.values()].some((o) => o.name === name)) return err(422, 'conflict', `organization with name ${name} already exists`);
      const o = { id: hexId(), name, createdAt: now(), updatedAt: now() };
      orgs.set(o.id, o);
      return reply(201, o);
    },
    'GET /buckets': ({ query, principal }) => {
      const o = query.org || query.orgID ? orgByNameOrId(query.org, query.orgID) : undefined;
      if ((query.org || query.orgID) && !o) return err(404, 'not found', 'organization not found');
      const visible = [...buckets.values()]
        .filter((b) => (!o || b.orgID === o.id) && (!query.name || b.name === query.name) && (!query.id || b.id === query.id))
        .filter((b) => can(principal, 'read', 'buckets', b.id, b.orgID));
      const offset = Number(query.offset ?? 0);
      const limit = Number(query.limit ?? 20);
      return reply(200, { buckets: visible.slice(offset, offset + limit) });
    },
    'POST /buckets': async ({ body, principal }) => {
      const b = body as { orgID: string; name: string; description?: string; retentionRules?: Bucket['retentionRules'] };
      need(principal, 'write', 'buckets', undefined, b.orgID);
      if (!orgs.has(b.orgID)) return err(404, 'not found', 'organization not found');
      if ([...buckets.values()].some((x) => x.orgID === b.orgID && x.name === b.name)) return err(422, 'conflict', `bucket with name ${b.name} already exists`);
      const rec: Bucket = { id: hexId(), name: b.name, orgID: b.orgID, type: 'user', description: b.description, retentionRules: b.retentionRules ?? [], createdAt: now(), updatedAt: now() };
      await createDb(rec.id, rec.retentionRules);
      buckets.set(rec.id, rec);
      return reply(201, rec);
    },
    'PATCH /buckets/{bucketID}': async ({ params, body, principal }) => {
      const b = buckets.get(params.bucketID!);
      if (!b) return err(404, 'not found', 'bucket not found');
      need(principal, 'write', 'buckets', b.id, b.orgID);
      const patch = body as Partial<Bucket>;
      if (patch.retentionRules) await setRetention(b.id, patch.retentionRules);
      Object.assign(b, patch, { updatedAt: now() });
      return reply(200, b);
    },
    'DELETE /buckets/{bucketID}': ({ params, principal }) => {
      const b = buckets.get(params.bucketID!);
      if (!b) return err(404, 'not found', 'bucket not found');
      need(principal, 'write', 'buckets', b.id, b.orgID);
      buckets.delete(b.id);
      return reply(204);
    },
    'GET /authorizations': ({ query, principal }) => {
      need(principal, 'read', 'authorizations');
      const list = [...authz.values()].filter((a) => (!query.orgID || a.orgID === query.orgID) && (!query.token || a.token === query.token));
      // Tokens are shown only once, at creation.
      return reply(200, { authorizations: list.map(({ token: _t, ...a }) => a) });
    },
    'POST /authorizations': ({ body, principal }) => {
      need(principal, 'write', 'authorizations');
      const a = body as { orgID: string; description?: string; status?: 'active' | 'inactive'; permissions: Permission[] };
      if (!a.orgID || !orgs.has(a.orgID)) return err(400, 'invalid', 'orgID is required and must exist');
      if (!a.permissions?.length) return err(400, 'invalid', 'authorization must have at least one permission');
      for (const p of a.permissions) if (p.resource.type === 'buckets' && p.resource.id && !buckets.has(p.resource.id)) return err(400, 'invalid', `bucket ${p.resource.id} not found`);
      const rec: Authz = {
        id: hexId(),
        token: crypto.randomBytes(32).toString('base64url'),
        status: a.status ?? 'active',
        description: a.description,
        orgID: a.orgID,
        permissions: a.permissions,
        createdAt: now(),
        updatedAt: now(),
      };
      authz.set(rec.token, rec);
      return reply(201, rec);
    },
    'PATCH /authorizations/{authID}': ({ params, body, principal }) => {
      need(principal, 'write', 'authorizations');
      const a = [...authz.values()].find((x) => x.id === params.authID);
      if (!a) return err(404, 'not found', 'authorization not found');
      Object.assign(a, body as object, { updatedAt: now() });
      const { token: _t, ...out } = a;
      return reply(200, out);
    },
    'DELETE /authorizations/{authID}': ({ params, principal }) => {
      need(principal, 'write', 'authorizations');
      const a = [...authz.values()].find((x) => x.id === params.authID);
      if (!a) return err(404, 'not found', 'authorization not found');
      authz.delete(a.token);
      return reply(204);
    },
    'POST /write': async ({ query, body, principal }) => {
      const b = bucketFor(query.org, query.orgID, query.bucket ?? '');
      need(principal, 'write', 'buckets', b.id, b.orgID);
      const res = await backend(`/api/v2/write?bucket=${encodeURIComponent(`${dbOf(b.id)}/autogen`)}&precision=${query.precision ?? 'ns'}`, {
        method: 'POST',
        // express.raw has already inflated a gzipped body: forwarding its Content-Encoding made influxd
        // try to inflate plain text ("gzip: invalid header" for every write over 1 KB).
        headers: { 'Content-Type': 'text/plain; charset=utf-8' },
        body: String(body ?? ''),
      });
      if (res.status === 204) return reply(204);
      return err(res.status === 400 ? 400 : 500, res.status === 400 ? 'invalid' : 'internal error', await res.text());
    },
    'POST /query': async ({ query, body, headers, principal }) => {
      const o = orgByNameOrId(query.org, query.orgID);
      if (!o) return err(404, 'not found', 'organization not found');
      const q = String(headers['content-type'] ?? '').includes('vnd.flux') ? { query: String(body ?? '') } : (body as { query: string; dialect?: unknown });
      // Each from(bucket: "name") must be a bucket the token may read; rewrite it to the 1.8 database.
      const { flux, denied } = toBackendBuckets(q.query, o.id, (b) => can(principal, 'read', 'buckets', b.id, b.orgID));
      if (denied) return err(404, 'not found', `failed to initialize execute state: could not find bucket "${denied}"`);
      const res = await backend('/api/v2/query', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Accept: 'application/csv' },
        body: JSON.stringify({ ...q, query: flux, type: 'flux' }),
      });
      return textReply(res);
    },
    'GET /tasks': ({ query, principal }) => {
      need(principal, 'read', 'tasks');
      const o = query.org || query.orgID ? orgByNameOrId(query.org, query.orgID) : undefined;
      if ((query.org || query.orgID) && !o) return err(404, 'not found', `organization name "${query.org ?? query.orgID}" not found`);
      // Paged by id, as InfluxDB does: `after` is the last id of the previous page.
      const list = [...tasks.values()]
        .filter((t) => (!o || t.orgID === o.id) && (!query.name || t.name === query.name) && (!query.after || t.id > query.after))
        .sort((a, b) => a.id.localeCompare(b.id));
      return reply(200, { tasks: list.slice(0, Number(query.limit ?? 100)) });
    },
    'POST /tasks': ({ body, principal }) => {
      need(principal, 'write', 'tasks');
      const b = body as { orgID?: string; org?: string; flux: string; status?: 'active' | 'inactive'; description?: string };
      const o = orgByNameOrId(b.org, b.orgID);
      if (!o) return err(400, 'invalid', 'organization not found: give org or orgID');
      const parsed = taskOptions(b.flux);
      if (typeof parsed === 'string') return err(400, 'invalid', parsed);
      const t: Task = { id: hexId(), orgID: o.id, org: o.name, status: b.status ?? 'active', flux: b.flux, description: b.description, ...parsed, createdAt: now(), updatedAt: now() };
      tasks.set(t.id, t);
      return reply(201, t);
    },
    'GET /tasks/{taskID}': ({ params, principal }) => {
      need(principal, 'read', 'tasks');
      const t = tasks.get(params.taskID!);
      return t ? reply(200, t) : err(404, 'not found', 'task not found');
    },
    'PATCH /tasks/{taskID}': ({ params, body, principal }) => {
      need(principal, 'write', 'tasks');
      const t = tasks.get(params.taskID!);
      if (!t) return err(404, 'not found', 'task not found');
      const b = body as { flux?: string; status?: 'active' | 'inactive'; description?: string };
      if (b.flux !== undefined) {
        const parsed = taskOptions(b.flux);
        if (typeof parsed === 'string') return err(400, 'invalid', parsed);
        Object.assign(t, { flux: b.flux, offset: undefined }, parsed);
      }
      Object.assign(t, b.status ? { status: b.status } : {}, b.description !== undefined ? { description: b.description } : {}, { updatedAt: now() });
      return reply(200, t);
    },
    'DELETE /tasks/{taskID}': ({ params, principal }) => {
      need(principal, 'write', 'tasks');
      if (!tasks.delete(params.taskID!)) return err(404, 'not found', 'task not found');
      scheduled.delete(params.taskID!);
      return reply(204);
    },
    'POST /tasks/{taskID}/runs': async ({ params, body, principal }) => {
      need(principal, 'write', 'tasks');
      const t = tasks.get(params.taskID!);
      if (!t) return err(404, 'not found', 'task not found');
      const at = (body as { scheduledFor?: string | null } | undefined)?.scheduledFor;
      return reply(201, await runTask(t, at ? new Date(at) : new Date()));
    },
    'GET /health': () => reply(200, { name: 'influxdb', message: 'ready for queries and writes', status: 'pass', checks: [], version: '2.7.0 (cdm fake)', commit: 'fake' }),
    'GET /ping': () => reply(204),
  };

  const def: FakeDefinition<Authz> = {
    name: 'InfluxDB',
    contract,
    handlers: h,
    errorBody: (status, message) => ({ code: status === 404 ? 'not found' : status === 401 ? 'unauthorized' : status >= 500 ? 'internal error' : 'invalid', message }),
    reset,
    authenticate(mo, req) {
      if (mo.template === '/health' || mo.template === '/ping') return {} as Authz;
      const header = req.headers.authorization ?? '';
      const token = header.startsWith('Token ') ? header.slice(6) : header.startsWith('Bearer ') ? header.slice(7) : '';
      const a = authz.get(token);
      if (!a || a.status !== 'active') return err(401, 'unauthorized', 'unauthorized access');
      return a;
    },
  };
  return { app: createFakeApp(def) };
}
