import type { AxiosRequestConfig } from 'axios';
import { HttpClient, type RequestObserver } from '../http.ts';
import { collect, walk } from './paging.ts';

export type OrgRole = 'Viewer' | 'Editor' | 'Admin';

export interface GrafanaOrg {
  id: number;
  name: string;
}

export interface GrafanaOrgUser {
  orgId: number;
  userId: number;
  login: string;
  email: string;
  role: OrgRole;
}

export interface GrafanaUser {
  id: number;
  login: string;
  email: string;
  name?: string;
}

export interface DataSource {
  id?: number;
  uid?: string;
  orgId?: number;
  name: string;
  type: string;
  url: string;
  access?: 'proxy' | 'direct';
  isDefault?: boolean;
  jsonData?: Record<string, unknown>;
  /** Write-only: Grafana never returns it. */
  secureJsonData?: Record<string, string>;
  version?: number;
}

export interface AlertRule {
  uid?: string;
  orgID: number;
  folderUID: string;
  ruleGroup: string;
  title: string;
  condition: string;
  data: unknown[];
  noDataState: 'Alerting' | 'NoData' | 'OK';
  execErrState: 'Alerting' | 'Error' | 'OK';
  for: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

export interface GrafanaOptions {
  /** Told of every request sent (counting in tests and benchmarks). */
  observer?: RequestObserver;
  baseURL: string;
  /** Server admin (basic auth), or a service-account token. */
  username?: string;
  password?: string;
  token?: string;
  timeoutMs?: number;
  retries?: number;
  pageSize?: number;
}

const enc = encodeURIComponent;

/** Grafana HTTP API; org-scoped calls take the org id and send X-Grafana-Org-Id. */
export class GrafanaClient {
  private readonly http: HttpClient;
  private readonly pageSize: number;

  constructor(opts: GrafanaOptions) {
    this.http = new HttpClient({
      upstream: 'Grafana',
      baseURL: `${opts.baseURL.replace(/\/$/, '')}/api`,
      timeoutMs: opts.timeoutMs,
      retries: opts.retries,
      observer: opts.observer,
      ...(opts.token ? { headers: { Authorization: `Bearer ${opts.token}` } } : { auth: { username: opts.username ?? '', password: opts.password ?? '' } }),
    });
    this.pageSize = opts.pageSize ?? 100;
  }

  // ---- orgs
  async createOrg(name: string): Promise<number> {
    const res = await this.http.requireRequest<{ orgId: number }>('POST /api/orgs', { method: 'POST', url: '/orgs', data: { name } });
    return res.orgId;
  }

  getOrgByName(name: string): Promise<GrafanaOrg | undefined> {
    return this.http.request('GET /api/orgs/name/{name}', { url: `/orgs/name/${enc(name)}` });
  }

  listOrgs(): Promise<GrafanaOrg[]> {
    return collect(
      walk(async (index) => {
        // Grafana numbers pages from 1.
        const items = await this.http.requireRequest<GrafanaOrg[]>('GET /api/orgs', { url: '/orgs', params: { page: index + 1, perpage: this.pageSize } });
        return { items, more: items.length === this.pageSize };
      }),
    );
  }

  async renameOrg(orgId: number, name: string): Promise<void> {
    await this.http.requireRequest('PUT /api/orgs/{id}', { method: 'PUT', url: `/orgs/${orgId}`, data: { name } });
  }

  async deleteOrg(orgId: number): Promise<void> {
    await this.http.request('DELETE /api/orgs/{id}', { method: 'DELETE', url: `/orgs/${orgId}` });
  }

  orgUsers(orgId: number): Promise<GrafanaOrgUser[]> {
    return this.http.requireRequest('GET /api/orgs/{id}/users', { url: `/orgs/${orgId}/users` });
  }

  async addOrgUser(orgId: number, loginOrEmail: string, role: OrgRole): Promise<void> {
    await this.http.requireRequest('POST /api/orgs/{id}/users', { method: 'POST', url: `/orgs/${orgId}/users`, data: { loginOrEmail, role } });
  }

  async setOrgUserRole(orgId: number, userId: number, role: OrgRole): Promise<void> {
    await this.http.requireRequest('PATCH /api/orgs/{id}/users/{userId}', { method: 'PATCH', url: `/orgs/${orgId}/users/${userId}`, data: { role } });
  }

  async removeOrgUser(orgId: number, userId: number): Promise<void> {
    await this.http.request('DELETE /api/orgs/{id}/users/{userId}', { method: 'DELETE', url: `/orgs/${orgId}/users/${userId}` });
  }

  // ---- users (server admin)
  async createUser(u: { login: string; email: string; name?: string; password: string; orgId?: number }): Promise<number> {
    const res = await this.http.requireRequest<{ id: number }>('POST /api/admin/users', { method: 'POST', url: '/admin/users', data: u });
    return res.id;
  }

  /** Every user of the server (server admin), paged: one listing instead of a lookup per person. */
  listUsers(): Promise<GrafanaUser[]> {
    return collect(
      walk(async (index) => {
        const res = await this.http.requireRequest<{ users?: GrafanaUser[] }>('GET /api/users/search', { url: '/users/search', params: { page: index + 1, perpage: this.pageSize } });
        const items = res.users ?? [];
        return { items, more: items.length === this.pageSize };
      }),
    );
  }

  lookupUser(loginOrEmail: string): Promise<GrafanaUser | undefined> {
    return this.http.request('GET /api/users/lookup', { url: '/users/lookup', params: { loginOrEmail } });
  }

  // ---- datasources (org-scoped)
  listDataSources(orgId: number): Promise<DataSource[]> {
    return this.http.requireRequest('GET /api/datasources', { url: '/datasources', ...org(orgId) });
  }

  getDataSourceByName(orgId: number, name: string): Promise<DataSource | undefined> {
    return this.http.request('GET /api/datasources/name/{name}', { url: `/datasources/name/${enc(name)}`, ...org(orgId) });
  }

  getDataSourceByUid(orgId: number, uid: string): Promise<DataSource | undefined> {
    return this.http.request('GET /api/datasources/uid/{uid}', { url: `/datasources/uid/${enc(uid)}`, ...org(orgId) });
  }

  async createDataSource(orgId: number, ds: DataSource): Promise<DataSource> {
    const res = await this.http.requireRequest<{ datasource: DataSource }>('POST /api/datasources', {
      method: 'POST',
      url: '/datasources',
      data: ds,
      ...org(orgId),
    });
    return res.datasource;
  }

  async updateDataSource(orgId: number, uid: string, ds: DataSource): Promise<void> {
    await this.http.requireRequest('PUT /api/datasources/uid/{uid}', { method: 'PUT', url: `/datasources/uid/${enc(uid)}`, data: ds, ...org(orgId) });
  }

  // ---- folders and dashboards (org-scoped)
  getFolder(orgId: number, uid: string): Promise<{ uid: string; title: string } | undefined> {
    return this.http.request('GET /api/folders/{uid}', { url: `/folders/${enc(uid)}`, ...org(orgId) });
  }

  createFolder(orgId: number, uid: string, title: string): Promise<{ uid: string; title: string }> {
    return this.http.requireRequest('POST /api/folders', { method: 'POST', url: '/folders', data: { uid, title }, ...org(orgId) });
  }

  saveDashboard(orgId: number, dashboard: Record<string, unknown>, opts: { folderUid?: string; overwrite?: boolean; message?: string } = {}): Promise<{ uid: string; version: number }> {
    return this.http.requireRequest('POST /api/dashboards/db', {
      method: 'POST',
      url: '/dashboards/db',
      data: { dashboard, folderUid: opts.folderUid, overwrite: opts.overwrite ?? true, message: opts.message },
      ...org(orgId),
    });
  }

  search(orgId: number, params: { query?: string; type?: 'dash-db' | 'dash-folder'; tag?: string; limit?: number } = {}): Promise<{ uid: string; title: string; type: string; tags?: string[] }[]> {
    return this.http.requireRequest('GET /api/search', { url: '/search', params, ...org(orgId) });
  }

  // ---- alert rules (provisioning API, org-scoped). Provenance disabled so operators can edit them.
  listAlertRules(orgId: number): Promise<AlertRule[]> {
    return this.http.requireRequest('GET /api/v1/provisioning/alert-rules', { url: '/v1/provisioning/alert-rules', ...org(orgId) });
  }

  getAlertRule(orgId: number, uid: string): Promise<AlertRule | undefined> {
    return this.http.request('GET /api/v1/provisioning/alert-rules/{uid}', { url: `/v1/provisioning/alert-rules/${enc(uid)}`, ...org(orgId) });
  }

  createAlertRule(orgId: number, rule: AlertRule): Promise<AlertRule> {
    return this.http.requireRequest('POST /api/v1/provisioning/alert-rules', {
      method: 'POST',
      url: '/v1/provisioning/alert-rules',
      data: rule,
      ...org(orgId, { 'X-Disable-Provenance': 'true' }),
    });
  }

  updateAlertRule(orgId: number, uid: string, rule: AlertRule): Promise<AlertRule> {
    return this.http.requireRequest('PUT /api/v1/provisioning/alert-rules/{uid}', {
      method: 'PUT',
      url: `/v1/provisioning/alert-rules/${enc(uid)}`,
      data: rule,
      ...org(orgId, { 'X-Disable-Provenance': 'true' }),
    });
  }

  // ---- contact points and the notification policy tree (provisioning API, org-scoped; provenance disabled: operators may edit them)
  listContactPoints(orgId: number): Promise<ContactPoint[]> {
    return this.http.requireRequest('GET /api/v1/provisioning/contact-points', { url: '/v1/provisioning/contact-points', ...org(orgId) });
  }

  createContactPoint(orgId: number, c: ContactPoint): Promise<ContactPoint> {
    return this.http.requireRequest('POST /api/v1/provisioning/contact-points', {
      method: 'POST',
      url: '/v1/provisioning/contact-points',
      data: c,
      ...org(orgId, { 'X-Disable-Provenance': 'true' }),
    });
  }

  async deleteContactPoint(orgId: number, uid: string): Promise<void> {
    await this.http.request('DELETE /api/v1/provisioning/contact-points/{UID}', { method: 'DELETE', url: `/v1/provisioning/contact-points/${enc(uid)}`, ...org(orgId) });
  }

  getPolicyTree(orgId: number): Promise<PolicyRoute> {
    return this.http.requireRequest('GET /api/v1/provisioning/policies', { url: '/v1/provisioning/policies', ...org(orgId) });
  }

  async putPolicyTree(orgId: number, tree: PolicyRoute): Promise<void> {
    await this.http.requireRequest('PUT /api/v1/provisioning/policies', { method: 'PUT', url: '/v1/provisioning/policies', data: tree, ...org(orgId, { 'X-Disable-Provenance': 'true' }) });
  }

  /** For /healthz: the signed-in user (proves URL and credentials). */
  async ping(): Promise<void> {
    await this.http.requireRequest('GET /api/user', { url: '/user' });
  }
}

/** One integration of a contact point (Grafana groups integrations by name into one receiver). */
export interface ContactPoint {
  uid?: string;
  name: string;
  type: 'webhook';
  settings: { url: string; httpMethod?: 'POST' };
  disableResolveMessage?: boolean;
}

/** A node of the notification policy tree. */
export interface PolicyRoute {
  receiver?: string;
  group_by?: string[];
  object_matchers?: [string, string, string][];
  continue?: boolean;
  group_wait?: string;
  repeat_interval?: string;
  routes?: PolicyRoute[];
}

function org(orgId: number, extra: Record<string, string> = {}): Pick<AxiosRequestConfig, 'headers'> {
  return { headers: { 'X-Grafana-Org-Id': String(orgId), ...extra } };
}
