import { decodeJwt } from 'jose';
import type { AxiosRequestConfig } from 'axios';
import { HttpClient, type PasswordClientOptions } from '../http.ts';
import { UpstreamError } from '../errors.ts';
import { walk } from './paging.ts';
import type {
  Alarm,
  AlarmInfo,
  AttributeKv,
  AttributeScope,
  AuditLog,
  Customer,
  Dashboard,
  DashboardInfo,
  Device,
  DeviceCredentials,
  DeviceProfile,
  EntityData,
  EntityId,
  EntityKey,
  NotificationKinds,
  PageData,
  PersistentRpc,
  PersistentRpcRequest,
  Tenant,
  User,
  WidgetType,
} from './thingsboard-types.ts';

export * from './thingsboard-types.ts';

/**
 * An X.509 credential as ThingsBoard keeps it: the certificate without its PEM armour and line
 * breaks (it stores that, not the PEM it was given), so compare credentials in this form.
 */
export function x509CredentialsValue(pem: string): string {
  return pem
    .replace(/-----(BEGIN|END) CERTIFICATE-----/g, '')
    .replace(/[\r\n]/g, '')
    .trim();
}

export type ThingsBoardOptions = PasswordClientOptions;

interface Tokens {
  token: string;
  refreshToken: string;
  exp: number; // unix seconds
}

export interface PageQuery {
  textSearch?: string;
  sortProperty?: string;
  sortOrder?: 'ASC' | 'DESC';
}

const enc = encodeURIComponent;
/** Refresh a little before expiry so a call never races the token's end. */
const REFRESH_MARGIN_SEC = 60;

/**
 * ThingsBoard REST API with JWT login: the token is refreshed before it expires and, once, after a
 * 401; if the refresh token is rejected too, the client logs in again.
 */
export class ThingsBoardClient {
  private readonly http: HttpClient;
  private tokens?: Tokens;
  private login?: Promise<Tokens>;
  private readonly pageSize: number;
  /** For a client acting as another user: how to get a fresh pair once its refresh token is refused. */
  private reacquire?: () => Promise<{ token: string; refreshToken: string }>;

  constructor(private readonly opts: ThingsBoardOptions) {
    this.http = new HttpClient({
      upstream: 'ThingsBoard',
      baseURL: opts.baseURL.replace(/\/$/, ''),
      timeoutMs: opts.timeoutMs,
      retries: opts.retries,
      observer: opts.observer,
    });
    this.pageSize = opts.pageSize ?? 100;
  }

  /**
   * A client acting as another user, from a token pair (e.g. from {@link userToken}). `reacquire`
   * gets a new pair when ThingsBoard refuses the refresh token (it expires, 7 days by default):
   * without it a tenant idle for a week could no longer be acted in until a restart.
   */
  static fromTokens(
    opts: Omit<ThingsBoardOptions, 'username' | 'password'>,
    pair: { token: string; refreshToken: string },
    reacquire?: () => Promise<{ token: string; refreshToken: string }>,
  ): ThingsBoardClient {
    const c = new ThingsBoardClient({ ...opts, username: '', password: '' });
    c.tokens = { ...pair, exp: decodeJwt(pair.token).exp ?? 0 };
    c.reacquire = reacquire;
    return c;
  }

  // ---- tenants (system administrator)
  saveTenant(t: Tenant): Promise<Tenant> {
    return this.call('POST /api/tenant', { method: 'POST', url: '/api/tenant', data: t });
  }

  getTenant(id: string): Promise<Tenant | undefined> {
    return this.optional('GET /api/tenant/{id}', { url: `/api/tenant/${enc(id)}` });
  }

  /** Idempotent: a tenant already gone (404) is not an error. */
  async deleteTenant(id: string): Promise<void> {
    await this.optional('DELETE /api/tenant/{id}', { method: 'DELETE', url: `/api/tenant/${enc(id)}` });
  }

  tenantPages(q: PageQuery = {}): AsyncGenerator<Tenant[]> {
    return this.pages<Tenant>('GET /api/tenants', '/api/tenants', q);
  }

  // ---- users
  saveUser(u: User): Promise<User> {
    return this.call('POST /api/user', { method: 'POST', url: '/api/user', params: { sendActivationMail: false }, data: u });
  }

  /** Idempotent: a user already gone (404) is not an error. */
  async deleteUser(id: string): Promise<void> {
    await this.optional('DELETE /api/user/{id}', { method: 'DELETE', url: `/api/user/${enc(id)}` });
  }

  tenantUserPages(tenantId: string, q: PageQuery = {}): AsyncGenerator<User[]> {
    return this.pages<User>('GET /api/tenant/{id}/users', `/api/tenant/${enc(tenantId)}/users`, q);
  }

  customerUserPages(customerId: string, q: PageQuery = {}): AsyncGenerator<User[]> {
    return this.pages<User>('GET /api/customer/{id}/users', `/api/customer/${enc(customerId)}/users`, q);
  }

  async setUserCredentialsEnabled(userId: string, enabled: boolean): Promise<void> {
    await this.call('POST /api/user/{id}/userCredentialsEnabled', {
      method: 'POST',
      url: `/api/user/${enc(userId)}/userCredentialsEnabled`,
      params: { userCredentialsEnabled: enabled },
    });
  }

  /** Token pair of another user (sysadmin → tenant admin), to act inside that tenant. */
  userToken(userId: string): Promise<{ token: string; refreshToken: string }> {
    return this.call('GET /api/user/{id}/token', { url: `/api/user/${enc(userId)}/token` });
  }

  /** A client acting as the given user; ThingsBoard lets only tenant admins create devices. */
  async actAs(userId: string): Promise<ThingsBoardClient> {
    const { baseURL, timeoutMs, retries, pageSize, observer } = this.opts;
    return ThingsBoardClient.fromTokens({ baseURL, timeoutMs, retries, pageSize, observer }, await this.userToken(userId), () => this.userToken(userId));
  }

  // ---- customers (tenant administrator)
  saveCustomer(c: Customer): Promise<Customer> {
    return this.call('POST /api/customer', { method: 'POST', url: '/api/customer', data: c });
  }

  findCustomerByTitle(title: string): Promise<Customer | undefined> {
    return this.optional('GET /api/tenant/customers', { url: '/api/tenant/customers', params: { customerTitle: title } });
  }

  // ---- dashboards and widget types (tenant administrator)
  /** Creates, or replaces the tenant's widget type with the same fqn. */
  saveWidgetType(w: WidgetType): Promise<WidgetType> {
    return this.call('POST /api/widgetType', { method: 'POST', url: '/api/widgetType', params: { updateExistingByFqn: true }, data: w });
  }

  /** A widget type by its full fqn (`tenant.<fqn>` or `system.<fqn>`), as any of the tenant's users sees it. */
  getWidgetType(fullFqn: string): Promise<WidgetType | undefined> {
    return this.optional('GET /api/widgetType', { url: '/api/widgetType', params: { fqn: fullFqn } });
  }

  getDashboard(id: string): Promise<Dashboard | undefined> {
    return this.optional('GET /api/dashboard/{id}', { url: `/api/dashboard/${enc(id)}` });
  }

  saveDashboard(d: Dashboard): Promise<Dashboard> {
    return this.call('POST /api/dashboard', { method: 'POST', url: '/api/dashboard', data: d });
  }

  tenantDashboardPages(q: PageQuery = {}): AsyncGenerator<DashboardInfo[]> {
    return this.pages<DashboardInfo>('GET /api/tenant/dashboards', '/api/tenant/dashboards', q);
  }

  /** Makes `customerIds` exactly the customers the dashboard is assigned to. */
  setDashboardCustomers(dashboardId: string, customerIds: string[]): Promise<Dashboard> {
    return this.call('POST /api/dashboard/{id}/customers', { method: 'POST', url: `/api/dashboard/${enc(dashboardId)}/customers`, data: customerIds });
  }

  // ---- device profiles
  saveDeviceProfile(p: DeviceProfile): Promise<DeviceProfile> {
    return this.call('POST /api/deviceProfile', { method: 'POST', url: '/api/deviceProfile', data: p });
  }

  async findDeviceProfile(name: string): Promise<DeviceProfile | undefined> {
    for await (const page of this.pages<DeviceProfile>('GET /api/deviceProfiles', '/api/deviceProfiles', { textSearch: name })) {
      const hit = page.find((p) => p.name === name);
      if (hit) return hit;
    }
    return undefined;
  }

  // ---- devices
  saveDevice(d: Device): Promise<Device> {
    return this.call('POST /api/device', { method: 'POST', url: '/api/device', data: d });
  }

  saveDeviceWithCredentials(device: Device, credentials: DeviceCredentials): Promise<Device> {
    return this.call('POST /api/device-with-credentials', {
      method: 'POST',
      url: '/api/device-with-credentials',
      data: { device, credentials },
    });
  }

  getDevice(id: string): Promise<Device | undefined> {
    return this.optional('GET /api/device/{id}', { url: `/api/device/${enc(id)}` });
  }

  /** Makes the customer's users see the device (a device has at most one customer). */
  assignDeviceToCustomer(customerId: string, deviceId: string): Promise<Device> {
    return this.call('POST /api/customer/{customerId}/device/{deviceId}', { method: 'POST', url: `/api/customer/${enc(customerId)}/device/${enc(deviceId)}` });
  }

  findDeviceByName(name: string): Promise<Device | undefined> {
    return this.optional('GET /api/tenant/device', { url: '/api/tenant/device', params: { deviceName: name } });
  }

  devicePages(q: PageQuery & { type?: string } = {}): AsyncGenerator<Device[]> {
    return this.pages<Device>('GET /api/tenant/devices', '/api/tenant/devices', q);
  }

  async deleteDevice(id: string): Promise<void> {
    await this.call('DELETE /api/device/{id}', { method: 'DELETE', url: `/api/device/${enc(id)}` });
  }

  getDeviceCredentials(deviceId: string): Promise<DeviceCredentials | undefined> {
    return this.optional('GET /api/device/{id}/credentials', { url: `/api/device/${enc(deviceId)}/credentials` });
  }

  updateDeviceCredentials(c: DeviceCredentials): Promise<DeviceCredentials> {
    return this.call('POST /api/device/credentials', { method: 'POST', url: '/api/device/credentials', data: c });
  }

  // ---- attributes and telemetry
  async saveAttributes(entity: EntityId, scope: Exclude<AttributeScope, 'CLIENT_SCOPE'>, values: Record<string, unknown>): Promise<void> {
    // The spec declares this body as text/plain holding the JSON document.
    await this.call('POST /api/plugins/telemetry/{type}/{id}/attributes/{scope}', {
      method: 'POST',
      url: `/api/plugins/telemetry/${entity.entityType}/${enc(entity.id)}/attributes/${scope}`,
      data: JSON.stringify(values),
      headers: { 'Content-Type': 'text/plain' },
    });
  }

  async getAttributes(entity: EntityId, scope: AttributeScope, keys?: string[]): Promise<AttributeKv[]> {
    return (
      (await this.optional<AttributeKv[]>('GET /api/plugins/telemetry/{type}/{id}/values/attributes/{scope}', {
        url: `/api/plugins/telemetry/${entity.entityType}/${enc(entity.id)}/values/attributes/${scope}`,
        params: keys ? { keys: keys.join(',') } : {},
      })) ?? []
    );
  }

  /** Saves time-series values as ThingsBoard stores device telemetry (tests stand in for a device this way). */
  async saveTelemetry(entity: EntityId, values: Record<string, unknown>): Promise<void> {
    await this.call('POST /api/plugins/telemetry/{entityType}/{entityId}/timeseries/{scope}', {
      method: 'POST',
      url: `/api/plugins/telemetry/${entity.entityType}/${enc(entity.id)}/timeseries/ANY`,
      // As for attributes, the spec declares the JSON document as text/plain.
      data: JSON.stringify(values),
      headers: { 'Content-Type': 'text/plain' },
    });
  }

  async getLatestTelemetry(entity: EntityId, keys: string[]): Promise<Record<string, { ts: number; value: unknown }[]>> {
    return (
      (await this.optional<Record<string, { ts: number; value: unknown }[]>>('GET /api/plugins/telemetry/{type}/{id}/values/timeseries', {
        url: `/api/plugins/telemetry/${entity.entityType}/${enc(entity.id)}/values/timeseries`,
        params: { keys: keys.join(',') },
      })) ?? {}
    );
  }

  // ---- alarms
  saveAlarm(a: Alarm): Promise<Alarm> {
    return this.call('POST /api/alarm', { method: 'POST', url: '/api/alarm', data: a });
  }

  alarmPages(entity: EntityId, filter: { searchStatus?: 'ANY' | 'ACTIVE' | 'CLEARED' | 'ACK' | 'UNACK'; textSearch?: string } = {}): AsyncGenerator<Alarm[]> {
    return this.pages<Alarm>('GET /api/alarm/{type}/{id}', `/api/alarm/${entity.entityType}/${enc(entity.id)}`, filter);
  }

  /**
   * The tenant's alarms of every originator (tenant admins), e.g. the active ones of some types:
   * one paged listing instead of one per device. Each carries its originator's name.
   */
  tenantAlarmPages(q: { statusList?: string; typeList?: string; severityList?: string } = {}): AsyncGenerator<AlarmInfo[]> {
    return this.pages<AlarmInfo>('GET /api/v2/alarms', '/api/v2/alarms', q);
  }

  async ackAlarm(id: string): Promise<void> {
    await this.call('POST /api/alarm/{id}/ack', { method: 'POST', url: `/api/alarm/${enc(id)}/ack` });
  }

  async clearAlarm(id: string): Promise<void> {
    await this.call('POST /api/alarm/{id}/clear', { method: 'POST', url: `/api/alarm/${enc(id)}/clear` });
  }

  // ---- notification center (tenant admins): targets, templates and rules, e.g. alarm escalation
  notificationPages<K extends keyof NotificationKinds>(kind: K): AsyncGenerator<NotificationKinds[K][]> {
    return this.pages<NotificationKinds[K]>(`GET /api/notification/${kind}s`, `/api/notification/${kind}s`, {});
  }

  saveNotification<K extends keyof NotificationKinds>(kind: K, x: NotificationKinds[K]): Promise<NotificationKinds[K]> {
    return this.call(`POST /api/notification/${kind}`, { method: 'POST', url: `/api/notification/${kind}`, data: x });
  }

  /** Idempotent. */
  async deleteNotification(kind: keyof NotificationKinds, id: string): Promise<void> {
    await this.optional(`DELETE /api/notification/${kind}/{id}`, { method: 'DELETE', url: `/api/notification/${kind}/${enc(id)}` });
  }

  // ---- RPC (tenant admins)
  /**
   * Sends a persistent two-way RPC: ThingsBoard keeps it (QUEUED while the device is offline,
   * delivered when it subscribes again) until answered or `expirationTime`, and answers at once
   * with its id, which is `requestUUID`.
   */
  async sendPersistentRpc(deviceId: string, r: PersistentRpcRequest): Promise<string> {
    const res = await this.call<{ rpcId?: string }>('POST /api/rpc/twoway/{deviceId}', {
      method: 'POST',
      url: `/api/rpc/twoway/${enc(deviceId)}`,
      data: { ...r, persistent: true },
    });
    if (!res?.rpcId) throw this.http.error('POST /api/rpc/twoway/{deviceId}', 200, 'no rpcId in the answer to a persistent RPC');
    return res.rpcId;
  }

  getPersistentRpc(rpcId: string): Promise<PersistentRpc | undefined> {
    return this.optional('GET /api/rpc/persistent/{rpcId}', { url: `/api/rpc/persistent/${enc(rpcId)}` });
  }

  /** Idempotent: withdraws a queued RPC (the device will not get it). */
  async deletePersistentRpc(rpcId: string): Promise<void> {
    await this.optional('DELETE /api/rpc/persistent/{rpcId}', { method: 'DELETE', url: `/api/rpc/persistent/${enc(rpcId)}` });
  }

  // ---- entity data query: devices with their attributes, one page per call
  deviceDataPages(latestValues: EntityKey[], entityFields: EntityKey[] = [{ type: 'ENTITY_FIELD', key: 'name' }]): AsyncGenerator<EntityData[]> {
    return walk(async (page) => {
      const res = await this.call<PageData<EntityData>>('POST /api/entitiesQuery/find', {
        method: 'POST',
        url: '/api/entitiesQuery/find',
        data: {
          entityFilter: { type: 'entityType', entityType: 'DEVICE' },
          pageLink: { page, pageSize: this.pageSize, sortOrder: { key: { type: 'ENTITY_FIELD', key: 'createdTime' }, direction: 'ASC' } },
          entityFields,
          latestValues,
        },
      });
      return { items: res.data, more: res.hasNext };
    });
  }

  /** The tenant's audit log (tenant admins): who changed which entity, e.g. `actionTypes: 'ADDED,DELETED'`. */
  auditLogPages(q: { startTime?: number; actionTypes?: string } = {}): AsyncGenerator<AuditLog[]> {
    return this.pages<AuditLog>('GET /api/audit/logs', '/api/audit/logs', q);
  }

  /** For /healthz: an authenticated cheap call. */
  async ping(): Promise<void> {
    await this.call('GET /api/auth/user', { url: '/api/auth/user' });
  }

  // ---- plumbing
  private pages<T>(call: string, url: string, q: object): AsyncGenerator<T[]> {
    return walk(async (page) => {
      const res = await this.call<PageData<T>>(call, {
        url,
        params: { pageSize: this.pageSize, page, ...Object.fromEntries(Object.entries(q).filter(([, v]) => v !== undefined)) },
      });
      return { items: res.data, more: res.hasNext };
    });
  }

  private async optional<T>(call: string, config: AxiosRequestConfig): Promise<T | undefined> {
    return this.authed(call, config, true) as Promise<T | undefined>;
  }

  private async call<T>(call: string, config: AxiosRequestConfig): Promise<T> {
    return this.authed(call, config, false) as Promise<T>;
  }

  private async authed(call: string, config: AxiosRequestConfig, allow404: boolean): Promise<unknown> {
    const send = async () => {
      const { token } = await this.token();
      return this.http.send(call, { ...config, headers: { ...config.headers, 'X-Authorization': `Bearer ${token}` } });
    };
    let res;
    try {
      res = await send();
    } catch (err) {
      if (!(err instanceof UpstreamError) || err.status !== 401) throw err;
      // Revoked or expired early: refresh (or log in) once and try again.
      this.tokens = { ...this.tokens!, exp: 0 };
      res = await send();
    }
    if (res.status === 404) {
      if (allow404) return undefined;
      throw this.http.error(call, 404, 'not found');
    }
    return res.data;
  }

  private async token(): Promise<Tokens> {
    const now = Date.now() / 1000;
    if (this.tokens && this.tokens.exp - REFRESH_MARGIN_SEC > now) return this.tokens;
    this.login ??= this.renew().finally(() => {
      this.login = undefined;
    });
    this.tokens = await this.login;
    return this.tokens;
  }

  private async renew(): Promise<Tokens> {
    if (this.tokens?.refreshToken) {
      try {
        const pair = await this.http.requireRequest<{ token: string; refreshToken: string }>('POST /api/auth/token', {
          method: 'POST',
          url: '/api/auth/token',
          data: { refreshToken: this.tokens.refreshToken },
        });
        return { ...pair, exp: decodeJwt(pair.token).exp ?? 0 };
      } catch (err) {
        if (!(err instanceof UpstreamError) || err.status !== 401 || !(this.opts.username || this.reacquire)) throw err;
      }
    }
    if (this.reacquire) {
      const pair = await this.reacquire();
      return { ...pair, exp: decodeJwt(pair.token).exp ?? 0 };
    }
    if (!this.opts.username) throw this.http.error('POST /api/auth/token', 401, 'token expired and no credentials to log in again');
    const pair = await this.http.requireRequest<{ token: string; refreshToken: string }>('POST /api/auth/login', {
      method: 'POST',
      url: '/api/auth/login',
      data: { username: this.opts.username, password: this.opts.password },
    });
    return { ...pair, exp: decodeJwt(pair.token).exp ?? 0 };
  }
}
