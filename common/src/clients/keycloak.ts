import KcAdminClient from '@keycloak/keycloak-admin-client';
import type GroupRepresentation from '@keycloak/keycloak-admin-client/lib/defs/groupRepresentation.js';
import type UserRepresentation from '@keycloak/keycloak-admin-client/lib/defs/userRepresentation.js';
import type RoleRepresentation from '@keycloak/keycloak-admin-client/lib/defs/roleRepresentation.js';
import type AdminEventRepresentation from '@keycloak/keycloak-admin-client/lib/defs/adminEventRepresentation.js';
import { decodeJwt } from 'jose';
import { UpstreamError, hintFor } from '../errors.ts';
import { isIdempotent } from '../http.ts';
import { collect, pages } from './paging.ts';

export type { GroupRepresentation, UserRepresentation, RoleRepresentation, AdminEventRepresentation };

export interface KeycloakOptions {
  baseURL: string;
  /** Realm that holds tenants and people (the client authenticates there too, unless `authRealm`). */
  realm: string;
  clientId: string;
  clientSecret?: string;
  /** Password grant, for development with admin-cli in the master realm. */
  username?: string;
  password?: string;
  authRealm?: string;
  pageSize?: number;
  timeoutMs?: number;
  retries?: number;
}

const REFRESH_MARGIN_SEC = 30;

/**
 * Keycloak admin API through @keycloak/keycloak-admin-client: authenticates as a service account
 * (client credentials) and re-authenticates before the token expires. Errors become UpstreamError,
 * a 404 becomes undefined, listings go by pages.
 */
export class KeycloakClient {
  readonly kc: KcAdminClient;
  private exp = 0;
  private authing?: Promise<void>;
  private readonly pageSize: number;
  private readonly retries: number;

  constructor(private readonly opts: KeycloakOptions) {
    this.retries = opts.retries ?? 3;
    this.kc = new KcAdminClient({
      baseUrl: opts.baseURL.replace(/\/$/, ''),
      realmName: opts.authRealm ?? opts.realm,
    });
    this.pageSize = opts.pageSize ?? 100;
  }

  get realm(): string {
    return this.opts.realm;
  }

  // ---- groups (tenants)
  getGroupByPath(path: string): Promise<GroupRepresentation | undefined> {
    return this.call('GET /group-by-path/{path}', () => this.kc.realms.getGroupByPath({ realm: this.realm, path: path.replace(/^\//, '') }));
  }

  subGroupPages(parentId: string): AsyncGenerator<GroupRepresentation[]> {
    return pages(
      async (first, max) => ({
        items: (await this.call('GET /groups/{id}/children', () => this.kc.groups.listSubGroups({ realm: this.realm, parentId, first, max, briefRepresentation: false }))) ?? [],
      }),
      this.pageSize,
    );
  }

  listSubGroups(parentId: string): Promise<GroupRepresentation[]> {
    return collect(this.subGroupPages(parentId));
  }

  memberPages(groupId: string): AsyncGenerator<UserRepresentation[]> {
    return pages(
      async (first, max) => ({
        items: (await this.call('GET /groups/{id}/members', () => this.kc.groups.listMembers({ realm: this.realm, id: groupId, first, max, briefRepresentation: true }))) ?? [],
      }),
      this.pageSize,
    );
  }

  listMembers(groupId: string): Promise<UserRepresentation[]> {
    return collect(this.memberPages(groupId));
  }

  /** One listing per role instead of one role lookup per user. */
  usersWithRole(role: string): Promise<UserRepresentation[]> {
    return collect(
      pages(
        async (first, max) => ({
          items: (await this.call('GET /roles/{role}/users', () => this.kc.roles.findUsersWithRole({ realm: this.realm, name: role, first, max, briefRepresentation: true }))) ?? [],
        }),
        this.pageSize,
      ),
    );
  }

  async createGroup(name: string, parentId?: string): Promise<string> {
    const res = await this.call(parentId ? 'POST /groups/{id}/children' : 'POST /groups', () =>
      parentId ? this.kc.groups.createChildGroup({ realm: this.realm, id: parentId }, { name }) : this.kc.groups.create({ realm: this.realm, name }),
    );
    if (!res?.id) throw new UpstreamError('Keycloak', 'POST /groups', undefined, 'no id returned');
    return res.id;
  }

  async renameGroup(id: string, name: string): Promise<void> {
    await this.call('PUT /groups/{id}', () => this.kc.groups.update({ realm: this.realm, id }, { name }));
  }

  async deleteGroup(id: string): Promise<void> {
    await this.call('DELETE /groups/{id}', () => this.kc.groups.del({ realm: this.realm, id }));
  }

  // ---- users
  getUser(id: string): Promise<UserRepresentation | undefined> {
    return this.call('GET /users/{id}', () => this.kc.users.findOne({ realm: this.realm, id }));
  }

  /** The groups a user is a direct member of, with their parent's id (Keycloak 23+ returns parentId). */
  userGroups(userId: string): Promise<(GroupRepresentation & { parentId?: string })[]> {
    return collect(
      pages(
        async (first, max) => ({
          items: (await this.call('GET /users/{id}/groups', () => this.kc.users.listGroups({ realm: this.realm, id: userId, first, max, briefRepresentation: true }))) ?? [],
        }),
        this.pageSize,
      ),
    );
  }

  async createUser(u: { username: string; email?: string; firstName?: string; lastName?: string; password?: string }): Promise<string> {
    const { password, ...rest } = u;
    const res = await this.call('POST /users', () =>
      this.kc.users.create({
        realm: this.realm,
        ...rest,
        enabled: true,
        emailVerified: true,
        ...(password ? { credentials: [{ type: 'password', value: password, temporary: false }] } : {}),
      }),
    );
    if (!res?.id) throw new UpstreamError('Keycloak', 'POST /users', undefined, 'no id returned');
    return res.id;
  }

  async deleteUser(id: string): Promise<void> {
    await this.call('DELETE /users/{id}', () => this.kc.users.del({ realm: this.realm, id }));
  }

  async addUserToGroup(userId: string, groupId: string): Promise<void> {
    await this.call('PUT /users/{id}/groups/{groupId}', () => this.kc.users.addToGroup({ realm: this.realm, id: userId, groupId }));
  }

  async removeUserFromGroup(userId: string, groupId: string): Promise<void> {
    await this.call('DELETE /users/{id}/groups/{groupId}', () => this.kc.users.delFromGroup({ realm: this.realm, id: userId, groupId }));
  }

  async assignRealmRole(userId: string, roleName: string): Promise<void> {
    const role = await this.call('GET /roles/{name}', () => this.kc.roles.findOneByName({ realm: this.realm, name: roleName }));
    if (!role?.id) throw new UpstreamError('Keycloak', 'GET /roles/{name}', 404, `realm role ${roleName} not found`, 'import the cdm realm (stack/keycloak/cdm-realm.json)');
    await this.call('POST /users/{id}/role-mappings/realm', () => this.kc.users.addRealmRoleMappings({ realm: this.realm, id: userId, roles: [{ id: role.id!, name: roleName }] }));
  }

  // ---- client roles (hawkBit reads its permissions from a client's roles in the token)
  async findClient(clientId: string): Promise<{ id: string; clientId: string } | undefined> {
    const res = await this.call('GET /clients', () => this.kc.clients.find({ realm: this.realm, clientId, first: 0, max: 2 }));
    const c = (res ?? []).find((x) => x.clientId === clientId);
    return c?.id ? { id: c.id, clientId } : undefined;
  }

  async clientRoles(clientUuid: string): Promise<RoleRepresentation[]> {
    return (await this.call('GET /clients/{id}/roles', () => this.kc.clients.listRoles({ realm: this.realm, id: clientUuid }))) ?? [];
  }

  /** One paged listing per role, as for realm roles. */
  usersWithClientRole(clientUuid: string, roleName: string): Promise<UserRepresentation[]> {
    return collect(
      pages(
        async (first, max) => ({
          items:
            (await this.call('GET /clients/{id}/roles/{role}/users', () =>
              this.kc.clients.findUsersWithRole({ realm: this.realm, id: clientUuid, roleName, first, max, briefRepresentation: true }),
            )) ?? [],
        }),
        this.pageSize,
      ),
    );
  }

  async addClientRoles(userId: string, clientUuid: string, roles: { id: string; name: string }[]): Promise<void> {
    await this.call('POST /users/{id}/role-mappings/clients/{client}', () => this.kc.users.addClientRoleMappings({ realm: this.realm, id: userId, clientUniqueId: clientUuid, roles }));
  }

  async removeClientRoles(userId: string, clientUuid: string, roles: { id: string; name: string }[]): Promise<void> {
    await this.call('DELETE /users/{id}/role-mappings/clients/{client}', () => this.kc.users.delClientRoleMappings({ realm: this.realm, id: userId, clientUniqueId: clientUuid, roles }));
  }

  // ---- admin events (change detection)
  /** The newest admin events first (Keycloak's order); callers keep the newest time they saw. */
  recentAdminEvents(max = 100): Promise<AdminEventRepresentation[]> {
    return this.call('GET /admin-events', () => this.kc.realms.findAdminEvents({ realm: this.realm, first: 0, max })).then((e) => e ?? []);
  }

  /** The user id this client acts as (a service account's user), to tell our own admin events apart. */
  async whoAmI(): Promise<string> {
    await this.ensureAuth();
    return decodeJwt(this.kc.accessToken ?? '').sub ?? '';
  }

  /** This client's own access token (service account), for calling other cdm services. */
  async accessToken(): Promise<string> {
    await this.ensureAuth();
    return this.kc.accessToken ?? '';
  }

  async ping(): Promise<void> {
    await this.call('GET /realms/{realm}', () => this.kc.realms.findOne({ realm: this.realm }));
  }

  private async ensureAuth(): Promise<void> {
    if (this.exp - REFRESH_MARGIN_SEC > Date.now() / 1000) return;
    this.authing ??= (async () => {
      const { clientId, clientSecret, username, password } = this.opts;
      // The token request reads the same requestOptions as admin calls: without a fresh deadline here it
      // would reuse the last call's signal, which has long fired when the token expires (CI saw instant aborts).
      this.freshDeadline();
      try {
        await this.kc.auth(username ? { grantType: 'password', clientId, username, password } : { grantType: 'client_credentials', clientId, clientSecret });
      } catch (err) {
        throw toUpstream('POST /protocol/openid-connect/token', err);
      }
      this.exp = decodeJwt(this.kc.accessToken ?? '').exp ?? 0;
    })().finally(() => {
      this.authing = undefined;
    });
    await this.authing;
  }

  /** The admin client reads requestOptions per request, so each request gets its own deadline. */
  private freshDeadline(): void {
    this.kc.setConfig({ requestOptions: { signal: AbortSignal.timeout(this.opts.timeoutMs ?? 10_000) } });
  }

  /**
   * The clients' one policy (http.ts isIdempotent): idempotent calls are retried on network errors
   * and 5xx with backoff, a POST is not (it may have applied). A 404 is an answer for a read (absent)
   * and a delete (already gone); for a write it is an error — the thing written to does not exist.
   */
  private async call<T>(call: string, fn: () => Promise<T>): Promise<T | undefined> {
    const method = call.split(' ')[0]!;
    const attempts = isIdempotent(method) ? 1 + this.retries : 1;
    for (let i = 1; ; i++) {
      await this.ensureAuth();
      this.freshDeadline();
      try {
        return await fn();
      } catch (err) {
        const e = toUpstream(call, err);
        if (e.status === 404 && ['GET', 'DELETE'].includes(method)) return undefined;
        if (e.status === 401) this.exp = 0; // token revoked early: authenticate again next call
        if (!e.retryable || i >= attempts) throw e;
        await new Promise((r) => setTimeout(r, 200 * 2 ** (i - 1)));
      }
    }
  }
}

function toUpstream(call: string, err: unknown): UpstreamError {
  const e = err as { response?: { status?: number }; responseData?: unknown; message?: string };
  const status = e.response?.status;
  const data = e.responseData as Record<string, unknown> | undefined;
  const detail =
    (typeof data?.errorMessage === 'string' && data.errorMessage) ||
    (typeof data?.error_description === 'string' && data.error_description) ||
    (typeof data?.error === 'string' && data.error) ||
    e.message ||
    'request failed';
  return new UpstreamError('Keycloak', call, status, detail, hintFor('Keycloak', status), { cause: err });
}
