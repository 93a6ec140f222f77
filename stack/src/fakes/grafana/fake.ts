import crypto from 'node:crypto';
import { Contract } from '../contract.ts';
import { createFakeApp, reply, type FakeDefinition, type Handler } from '../server.ts';

export const GRAFANA_SPEC = 'grafana-9.5.0-pre-05191d0-openapi3.json';

/** Where the generated spec differs from what Grafana's Go code actually reads. */
export const GRAFANA_RELAXATIONS = [
  {
    schema: 'Duration',
    replace: {
      anyOf: [
        { type: 'string', pattern: '^([0-9]+(ms|s|m|h|d|w|y))+$' },
        { type: 'integer', minimum: 0 },
      ],
    },
    why: 'the generator merged two Go types into "Duration": alert rule "for" is a Prometheus model.Duration (JSON: a string like "5m"), while a query\'s relativeTimeRange from/to is ngalert models.Duration (JSON: seconds as a number)',
  },
  {
    schema: 'EmbeddedContactPoint',
    replace: {
      type: 'object',
      required: ['type', 'settings'],
      properties: {
        uid: { type: 'string', pattern: '^[a-zA-Z0-9\\-_]{1,40}$' },
        name: { type: 'string' },
        type: {
          enum: [
            'alertmanager',
            'dingding',
            'discord',
            'email',
            'googlechat',
            'kafka',
            'line',
            'opsgenie',
            'pagerduty',
            'pushover',
            'sensugo',
            'slack',
            'teams',
            'telegram',
            'threema',
            'victorops',
            'webhook',
            'wecom',
          ],
        },
        settings: { type: 'object' },
        disableResolveMessage: { type: 'boolean' },
        provenance: { type: 'string' },
      },
    },
    why: 'the spec\'s type enum has a leading space on every value but the first (" webhook"), which Grafana itself never sends or accepts; the values are the notifier types of pkg/services/ngalert/notifier/channels_config',
  },
  {
    schema: 'ObjectMatchers',
    replace: { type: 'array', items: { type: 'array', items: { type: 'string' }, minItems: 3, maxItems: 3 } },
    why: 'Grafana marshals object_matchers as [name, operator, value] triples (ObjectMatchers.MarshalJSON; the Grafana Foundation SDK types ObjectMatcher as a list of strings), while the generated spec points it at the Matcher object',
  },
];

type Role = 'Viewer' | 'Editor' | 'Admin';
interface User {
  id: number;
  login: string;
  email: string;
  name: string;
  password: string;
  isGrafanaAdmin: boolean;
}
interface Org {
  id: number;
  name: string;
  members: Map<number, Role>;
}
interface Principal {
  user: User;
  orgId: number;
}

const err = (status: number, message: string) => reply(status, { message });
/** The contact point every Grafana org starts with. */
const DEFAULT_RECEIVER = 'grafana-default-email';
const RANK: Record<Role, number> = { Viewer: 1, Editor: 2, Admin: 3 };

/** Grafana HTTP API fake: orgs and membership, users, datasources, folders, dashboards, alert rules, contact points and notification policies. */
export function createGrafanaFake(opts: { contract?: Contract } = {}) {
  const contract = opts.contract ?? new Contract(GRAFANA_SPEC, '/api', GRAFANA_RELAXATIONS);
  let users = new Map<number, User>();
  let orgs = new Map<number, Org>();
  let datasources = new Map<string, Record<string, unknown> & { uid: string; orgId: number; name: string; id: number }>();
  let folders = new Map<string, { uid: string; title: string; orgId: number; id: number }>();
  let dashboards = new Map<string, { orgId: number; uid: string; version: number; dashboard: Record<string, unknown>; folderUid?: string; id: number }>();
  let rules = new Map<string, Record<string, unknown> & { uid: string; orgID: number }>();
  let contactPoints = new Map<string, { orgId: number; uid: string; name: string; type: string; settings: Record<string, unknown>; disableResolveMessage?: boolean }>();
  let policies = new Map<number, Record<string, unknown>>();
  let seq = 1;

  const reset = () => {
    users = new Map([[1, { id: 1, login: 'admin', email: 'admin@localhost', name: 'admin', password: 'admin', isGrafanaAdmin: true }]]);
    orgs = new Map([[1, { id: 1, name: 'Main Org.', members: new Map([[1, 'Admin' as Role]]) }]]);
    datasources = new Map();
    folders = new Map();
    dashboards = new Map();
    rules = new Map();
    contactPoints = new Map();
    policies = new Map();
    seq = 100;
  };
  reset();

  const serverAdmin = (p: Principal) => {
    if (!p.user.isGrafanaAdmin) throw err(403, 'Permission denied');
  };
  /** Org-scoped calls need membership with at least `min` in the org chosen by X-Grafana-Org-Id. */
  const orgRole = (p: Principal, min: Role) => {
    const org = orgs.get(p.orgId);
    const role = org?.members.get(p.user.id);
    if (!org || !role) throw err(401, 'User not a member of organization');
    if (RANK[role] < RANK[min]) throw err(403, 'Permission denied');
    return org;
  };
  const orgById = (id: string | undefined) => {
    const o = orgs.get(Number(id));
    if (!o) throw err(404, 'Organization not found');
    return o;
  };
  const profile = (u: User, orgId = 1) => ({
    id: u.id,
    login: u.login,
    email: u.email,
    name: u.name,
    isGrafanaAdmin: u.isGrafanaAdmin,
    orgId,
    isDisabled: false,
    isExternal: false,
    authLabels: [],
    theme: '',
    avatarUrl: '',
    createdAt: new Date().toISOString(),
    updatedAt: new Date().toISOString(),
  });
  const findUser = (loginOrEmail: string) => [...users.values()].find((u) => u.login === loginOrEmail || u.email === loginOrEmail);

  type H = Handler<Principal>;
  const h: Record<string, H> = {
    'GET /user': ({ principal }) => reply(200, profile(principal.user, principal.orgId)),

    // ---- orgs
    'POST /orgs': ({ body, principal }) => {
      const name = (body as { name?: string }).name;
      if (!name) return err(400, 'Organization name is required');
      if ([...orgs.values()].some((o) => o.name === name)) return err(409, 'Organization name taken');
      const o: Org = { id: ++seq, name, members: new Map([[principal.user.id, 'Admin']]) }; // the creator becomes its admin
      orgs.set(o.id, o);
      return reply(200, { orgId: o.id, message: 'Organization created' });
    },
    'GET /orgs': ({ query, principal }) => {
      serverAdmin(principal);
      const perpage = Number(query.perpage ?? 1000);
      const page = Number(query.page ?? 1);
      const list = [...orgs.values()].filter((o) => !query.name || o.name === query.name).map((o) => ({ id: o.id, name: o.name }));
      return reply(200, list.slice((page - 1) * perpage, page * perpage));
    },
    'GET /orgs/name/{org_name}': ({ params, principal }) => {
      serverAdmin(principal);
      const o = [...orgs.values()].find((x) => x.name === params.org_name);
      return o ? reply(200, { id: o.id, name: o.name, address: {} }) : err(404, 'Organization not found');
    },
    'GET /orgs/{org_id}': ({ params, principal }) => {
      serverAdmin(principal);
      const o = orgById(params.org_id);
      return reply(200, { id: o.id, name: o.name, address: {} });
    },
    'PUT /orgs/{org_id}': ({ params, body, principal }) => {
      serverAdmin(principal);
      const o = orgById(params.org_id);
      const name = (body as { name?: string }).name;
      if (name && [...orgs.values()].some((x) => x.name === name && x.id !== o.id)) return err(409, 'Organization name taken');
      if (name) o.name = name;
      return reply(200, { message: 'Organization updated' });
    },
    'DELETE /orgs/{org_id}': ({ params, principal }) => {
      serverAdmin(principal);
      const o = orgById(params.org_id);
      orgs.delete(o.id);
      return reply(200, { message: 'Organization deleted' });
    },
    'GET /orgs/{org_id}/users': ({ params, principal }) => {
      serverAdmin(principal);
      const o = orgById(params.org_id);
      return reply(
        200,
        [...o.members].map(([userId, role]) => {
          const u = users.get(userId)!;
          return { orgId: o.id, userId, login: u.login, email: u.email, name: u.name, role, avatarUrl: '', lastSeenAt: new Date().toISOString(), lastSeenAtAge: '', isDisabled: false, authLabels: [] };
        }),
      );
    },
    'POST /orgs/{org_id}/users': ({ params, body, principal }) => {
      serverAdmin(principal);
      const o = orgById(params.org_id);
      const { loginOrEmail, role } = body as { loginOrEmail: string; role: Role };
      const u = findUser(loginOrEmail);
      if (!u) return err(404, 'User not found');
      if (o.members.has(u.id)) return err(409, 'User is already member of this organization');
      o.members.set(u.id, role);
      return reply(200, { message: 'User added to organization' });
    },
    'PATCH /orgs/{org_id}/users/{user_id}': ({ params, body, principal }) => {
      serverAdmin(principal);
      const o = orgById(params.org_id);
      if (!o.members.has(Number(params.user_id))) return err(404, 'User not found');
      o.members.set(Number(params.user_id), (body as { role: Role }).role);
      return reply(200, { message: 'Organization user updated' });
    },
    'DELETE /orgs/{org_id}/users/{user_id}': ({ params, principal }) => {
      serverAdmin(principal);
      const o = orgById(params.org_id);
      if (!o.members.delete(Number(params.user_id))) return err(404, 'User not found');
      return reply(200, { message: 'User removed from organization' });
    },

    // ---- users
    'POST /admin/users': ({ body, principal }) => {
      serverAdmin(principal);
      const u = body as { login?: string; email?: string; name?: string; password?: string; orgId?: number };
      if (!u.password) return err(400, 'Password is missing');
      const login = u.login || u.email || '';
      if (findUser(login) || (u.email && findUser(u.email))) return err(412, 'User with same email address or login already exists');
      const rec: User = { id: ++seq, login, email: u.email ?? login, name: u.name ?? login, password: u.password, isGrafanaAdmin: false };
      users.set(rec.id, rec);
      orgById(String(u.orgId ?? 1)).members.set(rec.id, 'Viewer');
      return reply(200, { id: rec.id, message: 'User created' });
    },
    'GET /users/search': ({ query, principal }) => {
      serverAdmin(principal);
      const perpage = Number(query.perpage ?? 1000);
      const page = Number(query.page ?? 1);
      const all = [...users.values()].map((u) => ({ id: u.id, login: u.login, email: u.email, name: u.name, isAdmin: u.isGrafanaAdmin }));
      return reply(200, { totalCount: all.length, users: all.slice((page - 1) * perpage, page * perpage), page, perPage: perpage });
    },
    'GET /users/lookup': ({ query, principal }) => {
      serverAdmin(principal);
      const u = findUser(query.loginOrEmail ?? '');
      return u ? reply(200, profile(u)) : err(404, 'user not found');
    },
    'DELETE /admin/users/{user_id}': ({ params, principal }) => {
      serverAdmin(principal);
      const idn = Number(params.user_id);
      if (!users.delete(idn)) return err(404, 'user not found');
      for (const o of orgs.values()) o.members.delete(idn);
      return reply(200, { message: 'User deleted' });
    },

    // ---- datasources
    'GET /datasources': ({ principal }) => {
      orgRole(principal, 'Admin');
      return reply(200, [...datasources.values()].filter((d) => d.orgId === principal.orgId).map(publicDs));
    },
    'GET /datasources/name/{name}': ({ params, principal }) => {
      orgRole(principal, 'Admin');
      const d = [...datasources.values()].find((x) => x.orgId === principal.orgId && x.name === params.name);
      return d ? reply(200, publicDs(d)) : err(404, 'Data source not found');
    },
    'GET /datasources/uid/{uid}': ({ params, principal }) => {
      orgRole(principal, 'Admin');
      const d = datasources.get(`${principal.orgId}/${params.uid}`);
      return d && d.orgId === principal.orgId ? reply(200, publicDs(d)) : err(404, 'Data source not found');
    },
    'POST /datasources': ({ body, principal }) => {
      orgRole(principal, 'Admin');
      const d = body as Record<string, unknown> & { name?: string; type?: string; uid?: string };
      if (!d.name || !d.type) return err(400, 'Validation error: name and type are required');
      if ([...datasources.values()].some((x) => x.orgId === principal.orgId && x.name === d.name)) return err(409, 'data source with the same name already exists');
      const rec = {
        access: 'proxy',
        isDefault: false,
        jsonData: {},
        ...d,
        name: d.name,
        uid: d.uid ?? crypto.randomBytes(7).toString('hex'),
        id: ++seq,
        orgId: principal.orgId,
        version: 1,
        readOnly: false,
      };
      // uids are unique per org in Grafana, not server-wide.
      if (datasources.has(`${principal.orgId}/${rec.uid}`)) return err(409, 'data source with the same uid already exists');
      datasources.set(`${principal.orgId}/${rec.uid}`, rec);
      return reply(200, { datasource: publicDs(rec), id: rec.id, message: 'Datasource added', name: rec.name });
    },
    'PUT /datasources/uid/{uid}': ({ params, body, principal }) => {
      orgRole(principal, 'Admin');
      const d = datasources.get(`${principal.orgId}/${params.uid}`);
      if (!d || d.orgId !== principal.orgId) return err(404, 'Data source not found');
      const rec = { ...d, ...(body as Record<string, unknown>), uid: d.uid, id: d.id, orgId: d.orgId, version: Number(d.version ?? 1) + 1 };
      datasources.set(`${principal.orgId}/${d.uid}`, rec);
      return reply(200, { datasource: publicDs(rec), id: rec.id, message: 'Datasource updated', name: rec.name });
    },
    'DELETE /datasources/uid/{uid}': ({ params, principal }) => {
      orgRole(principal, 'Admin');
      const d = datasources.get(`${principal.orgId}/${params.uid}`);
      if (!d || d.orgId !== principal.orgId) return err(404, 'Data source not found');
      datasources.delete(`${principal.orgId}/${d.uid}`);
      return reply(200, { message: 'Data source deleted' });
    },

    // ---- folders and dashboards
    'POST /folders': ({ body, principal }) => {
      orgRole(principal, 'Editor');
      const f = body as { uid?: string; title?: string };
      if (!f.title) return err(400, 'folder title cannot be empty');
      const uid = f.uid ?? crypto.randomBytes(7).toString('hex');
      if (folders.has(`${principal.orgId}/${uid}`)) return err(409, 'a folder with the same uid already exists');
      const rec = { uid, title: f.title, orgId: principal.orgId, id: ++seq };
      folders.set(`${principal.orgId}/${uid}`, rec);
      return reply(200, { id: rec.id, uid, title: rec.title, url: `/dashboards/f/${uid}`, version: 1 });
    },
    'GET /folders/{folder_uid}': ({ params, principal }) => {
      orgRole(principal, 'Viewer');
      const f = folders.get(`${principal.orgId}/${params.folder_uid}`);
      return f ? reply(200, { id: f.id, uid: f.uid, title: f.title, url: `/dashboards/f/${f.uid}`, version: 1 }) : err(404, 'folder not found');
    },
    'POST /dashboards/db': ({ body, principal }) => {
      orgRole(principal, 'Editor');
      const cmd = body as { dashboard?: Record<string, unknown>; folderUid?: string; overwrite?: boolean };
      const dash = cmd.dashboard ?? {};
      if (!dash.title) return err(400, 'Dashboard title cannot be empty');
      if (cmd.folderUid && !folders.has(`${principal.orgId}/${cmd.folderUid}`)) return err(400, 'folder not found');
      const uid = String(dash.uid ?? crypto.randomBytes(7).toString('hex'));
      const key = `${principal.orgId}/${uid}`;
      const prev = dashboards.get(key);
      // Grafana refuses a stale version unless overwrite is set (412 version-mismatch).
      if (prev && !cmd.overwrite && dash.version !== prev.version) {
        return reply(412, { message: 'The dashboard has been changed by someone else', status: 'version-mismatch' });
      }
      const version = (prev?.version ?? 0) + 1;
      const rec = { orgId: principal.orgId, uid, version, folderUid: cmd.folderUid, id: prev?.id ?? ++seq, dashboard: { ...dash, uid, version, id: prev?.id ?? seq } };
      dashboards.set(key, rec);
      return reply(200, { id: String(rec.id), uid, title: String(dash.title), url: `/d/${uid}`, status: 'success', version, slug: String(dash.title).toLowerCase().replace(/\W+/g, '-') });
    },
    'GET /dashboards/uid/{uid}': ({ params, principal }) => {
      orgRole(principal, 'Viewer');
      const d = dashboards.get(`${principal.orgId}/${params.uid}`);
      return d ? reply(200, { dashboard: d.dashboard, meta: { folderUid: d.folderUid ?? '', version: d.version, slug: '' } }) : err(404, 'Dashboard not found');
    },
    'DELETE /dashboards/uid/{uid}': ({ params, principal }) => {
      orgRole(principal, 'Editor');
      const d = dashboards.get(`${principal.orgId}/${params.uid}`);
      if (!d) return err(404, 'Dashboard not found');
      dashboards.delete(`${principal.orgId}/${params.uid}`);
      return reply(200, { id: d.id, title: String(d.dashboard.title), message: 'Dashboard deleted' });
    },
    'GET /search': ({ query, principal }) => {
      orgRole(principal, 'Viewer');
      const q = (query.query ?? '').toLowerCase();
      // Grafana ANDs repeated tag parameters.
      const wantTags = ([] as string[]).concat((query as Record<string, string | string[] | undefined>).tag ?? []);
      const dash = [...dashboards.values()]
        .filter((d) => d.orgId === principal.orgId && String(d.dashboard.title).toLowerCase().includes(q))
        .filter((d) => wantTags.every((t) => tagsOf(d.dashboard).includes(t)))
        .map((d) => ({
          id: d.id,
          uid: d.uid,
          title: String(d.dashboard.title),
          type: 'dash-db',
          uri: `db/${d.uid}`,
          url: `/d/${d.uid}`,
          tags: tagsOf(d.dashboard),
          isStarred: false,
          folderUid: d.folderUid,
        }));
      const fold = [...folders.values()]
        .filter((f) => f.orgId === principal.orgId && f.title.toLowerCase().includes(q))
        .map((f) => ({ id: f.id, uid: f.uid, title: f.title, type: 'dash-folder', uri: `db/${f.uid}`, url: `/dashboards/f/${f.uid}`, tags: [], isStarred: false }));
      const all = query.type === 'dash-db' ? dash : query.type === 'dash-folder' ? fold : [...fold, ...dash];
      return reply(200, all.slice(0, Number(query.limit ?? 5000)));
    },

    // ---- alert rules
    'GET /api/v1/provisioning/alert-rules': ({ principal }) => {
      orgRole(principal, 'Editor');
      return reply(
        200,
        [...rules.values()].filter((r) => r.orgID === principal.orgId),
      );
    },
    'GET /api/v1/provisioning/alert-rules/{UID}': ({ params, principal }) => {
      orgRole(principal, 'Editor');
      const r = rules.get(params.UID!);
      return r && r.orgID === principal.orgId ? reply(200, r) : reply(404);
    },
    'POST /api/v1/provisioning/alert-rules': ({ body, headers, principal }) => {
      orgRole(principal, 'Editor');
      return saveRule(body, headers, principal, undefined);
    },
    'PUT /api/v1/provisioning/alert-rules/{UID}': ({ params, body, headers, principal }) => {
      orgRole(principal, 'Editor');
      const r = rules.get(params.UID!);
      if (!r || r.orgID !== principal.orgId) return reply(404);
      return saveRule(body, headers, principal, params.UID);
    },
    'DELETE /api/v1/provisioning/alert-rules/{UID}': ({ params, principal }) => {
      orgRole(principal, 'Editor');
      rules.delete(params.UID!);
      return reply(204);
    },

    // ---- contact points and the notification policy tree (every org has Grafana's default email contact point)
    'GET /api/v1/provisioning/contact-points': ({ query, principal }) => {
      orgRole(principal, 'Editor');
      const own = [...contactPoints.values()].filter((c) => c.orgId === principal.orgId && (!query.name || c.name === query.name));
      return reply(
        200,
        own.map(({ orgId: _o, ...c }) => c),
      );
    },
    'POST /api/v1/provisioning/contact-points': ({ body, principal }) => {
      orgRole(principal, 'Editor');
      const c = body as { uid?: string; name?: string; type: string; settings: Record<string, unknown>; disableResolveMessage?: boolean };
      if (c.type === 'webhook' && typeof c.settings.url !== 'string') return err(400, 'webhook contact point needs settings.url');
      const uid = c.uid ?? crypto.randomBytes(7).toString('hex');
      if (contactPoints.has(uid)) return err(400, `contact point ${uid} exists`);
      const rec = { orgId: principal.orgId, uid, name: c.name ?? uid, type: c.type, settings: c.settings, disableResolveMessage: c.disableResolveMessage ?? false };
      contactPoints.set(uid, rec);
      const { orgId: _o, ...out } = rec;
      return reply(202, out);
    },
    'PUT /api/v1/provisioning/contact-points/{UID}': ({ params, body, principal }) => {
      orgRole(principal, 'Editor');
      const old = contactPoints.get(params.UID!);
      if (!old || old.orgId !== principal.orgId) return err(404, 'contact point not found');
      const c = body as { name?: string; type: string; settings: Record<string, unknown>; disableResolveMessage?: boolean };
      contactPoints.set(old.uid, { ...old, name: c.name ?? old.name, type: c.type, settings: c.settings, disableResolveMessage: c.disableResolveMessage ?? false });
      return reply(202, {});
    },
    'DELETE /api/v1/provisioning/contact-points/{UID}': ({ params, principal }) => {
      orgRole(principal, 'Editor');
      const c = contactPoints.get(params.UID!);
      if (c && c.orgId === principal.orgId) {
        // Grafana refuses to remove the last integration of a contact point the policy tree routes to.
        const used = JSON.stringify(policies.get(principal.orgId) ?? {}).includes(`"receiver":${JSON.stringify(c.name)}`);
        const last = ![...contactPoints.values()].some((x) => x !== c && x.orgId === c.orgId && x.name === c.name);
        if (used && last) return err(400, `contact point '${c.name}' is currently used by a notification policy`);
        contactPoints.delete(c.uid);
      }
      return reply(204);
    },
    'GET /api/v1/provisioning/policies': ({ principal }) => {
      orgRole(principal, 'Editor');
      return reply(200, policies.get(principal.orgId) ?? { receiver: DEFAULT_RECEIVER, group_by: ['grafana_folder', 'alertname'] });
    },
    'PUT /api/v1/provisioning/policies': ({ body, principal }) => {
      orgRole(principal, 'Editor');
      const names = new Set([DEFAULT_RECEIVER, ...[...contactPoints.values()].filter((c) => c.orgId === principal.orgId).map((c) => c.name)]);
      const missing: string[] = [];
      const walk = (r: { receiver?: string; routes?: unknown[] }) => {
        if (r.receiver && !names.has(r.receiver)) missing.push(r.receiver);
        for (const x of r.routes ?? []) walk(x as { receiver?: string; routes?: unknown[] });
      };
      walk(body as { receiver?: string });
      if (!(body as { receiver?: string }).receiver) return err(400, 'the root route needs a receiver');
      if (missing.length) return err(400, `receiver '${missing[0]}' does not exist`);
      policies.set(principal.orgId, body as Record<string, unknown>);
      return reply(202, { message: 'policies updated' });
    },
  };

  function saveRule(body: unknown, headers: Record<string, string | string[] | undefined>, principal: Principal, uid: string | undefined) {
    const r = body as Record<string, unknown> & { folderUID: string; orgID: number; uid?: string };
    if (!folders.has(`${principal.orgId}/${r.folderUID}`)) return reply(400, { message: `folder ${r.folderUID} does not exist` });
    if (r.orgID !== principal.orgId) return reply(400, { message: 'orgID does not match the organization of the request' });
    const id = uid ?? r.uid ?? crypto.randomBytes(7).toString('hex');
    const rec = { ...r, uid: id, orgID: principal.orgId, updated: new Date().toISOString(), provenance: headers['x-disable-provenance'] ? '' : 'api' };
    rules.set(id, rec);
    return reply(uid ? 200 : 201, rec);
  }

  const def: FakeDefinition<Principal> = {
    name: 'Grafana',
    contract,
    handlers: h,
    errorBody: (_status, message) => ({ message }),
    reset,
    authenticate(_mo, req) {
      const auth = req.headers.authorization ?? '';
      let user: User | undefined;
      if (auth.startsWith('Basic ')) {
        const [login, ...rest] = Buffer.from(auth.slice(6), 'base64').toString('utf8').split(':');
        const u = findUser(login ?? '');
        if (u && u.password === rest.join(':')) user = u;
      }
      if (!user) return err(401, 'invalid username or password');
      const orgHeader = req.headers['x-grafana-org-id'];
      return { user, orgId: orgHeader ? Number(orgHeader) : 1 };
    },
  };
  return { app: createFakeApp(def) };
}

/** Grafana never returns secureJsonData, only which secure fields are set. */
function publicDs({ secureJsonData, ...d }: Record<string, unknown>) {
  return { ...d, secureJsonFields: Object.fromEntries(Object.keys((secureJsonData as object) ?? {}).map((k) => [k, true])) };
}

const tagsOf = (d: Record<string, unknown>): string[] => (Array.isArray(d.tags) ? d.tags.map(String) : []);
