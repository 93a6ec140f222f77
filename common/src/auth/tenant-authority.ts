import { AuthError } from './keycloak-jwt.ts';
import type { GroupRepresentation, UserRepresentation } from '../clients/keycloak.ts';

/**
 * Per-tenant roles are Keycloak subgroups of the tenant's group: `/tenants/<t>/admins`,
 * `/tenants/<t>/operators`, `/tenants/<t>/oncall`. Membership of one grants that role in that tenant
 * only; membership of the tenant group itself (or of any role subgroup) makes a person a member.
 * Subgroups rather than realm roles because a realm role cannot say *which* tenant; rather than
 * client roles per tenant because groups are what ops already manage per customer.
 */
export const TENANT_ROLE_GROUPS = { admins: 'admin', operators: 'operator', oncall: 'oncall' } as const;
export type TenantRole = (typeof TENANT_ROLE_GROUPS)[keyof typeof TENANT_ROLE_GROUPS];
export const TENANT_ROLES: readonly TenantRole[] = Object.values(TENANT_ROLE_GROUPS);

export interface KeycloakTenant {
  /** The Keycloak group id: cdm's tenant id, immutable. */
  cdmId: string;
  /** The group's name today: for display and for finding a tenant by name, never for authority. */
  name: string;
}

/** A tenant named in a request that names none, or two: the status is the answer's. */
export class TenantNotFound extends Error {
  readonly status: 404 | 409 = 404;
}

export class AmbiguousTenant extends TenantNotFound {
  override readonly status = 409;
  constructor(name: string, tenants: KeycloakTenant[]) {
    super(`two tenants are named "${name}" (${tenants.map((t) => t.cdmId).join(', ')}): name it by its id`);
  }
}

/** What a person may do, per tenant id. */
export type Grants = ReadonlyMap<string, ReadonlySet<TenantRole | 'member'>>;

/** The Keycloak admin reads the authority needs (KeycloakClient has them). */
export interface AuthorityReader {
  getGroupByPath(path: string): Promise<GroupRepresentation | undefined>;
  listSubGroups(parentId: string): Promise<GroupRepresentation[]>;
  getUser(id: string): Promise<UserRepresentation | undefined>;
  userGroups(userId: string): Promise<(GroupRepresentation & { parentId?: string })[]>;
}

export interface TenantAuthorityOptions {
  /** The group whose direct subgroups are tenants. */
  parentPath: string;
  /** How long a person's grants and the tenant list are reused: a removal takes effect within it. */
  ttlMs?: number;
  now?: () => number;
}

/**
 * Decides "may person `sub` act as `role` in tenant `cdmId`?" from Keycloak, the owner, by
 * immutable ids: the user id from a validated token and the group ids of the user's memberships
 * (parentId ties a role subgroup to its tenant). Never from names in the token or from a
 * projection: a renamed group, or a new group given an old name, changes nothing here.
 * A disabled or deleted account has no grants.
 */
export class TenantAuthority {
  private readonly ttl: number;
  private readonly now: () => number;
  private tenantsCache?: { at: number; byId: Map<string, KeycloakTenant> };
  private tenantsLoading?: Promise<Map<string, KeycloakTenant>>;
  private readonly grantsCache = new Map<string, { at: number; grants: Promise<Grants> }>();

  constructor(
    private readonly kc: AuthorityReader,
    private readonly o: TenantAuthorityOptions,
  ) {
    this.ttl = o.ttlMs ?? 15_000;
    this.now = o.now ?? Date.now;
  }

  /** Live tenants (direct subgroups of the parent), by id; `maxAgeMs` asks for a fresher list. */
  async tenants(maxAgeMs = this.ttl): Promise<Map<string, KeycloakTenant>> {
    if (this.tenantsCache && this.now() - this.tenantsCache.at < Math.min(maxAgeMs, this.ttl)) return this.tenantsCache.byId;
    this.tenantsLoading ??= (async () => {
      const parent = await this.kc.getGroupByPath(this.o.parentPath);
      if (!parent?.id) throw new Error(`Keycloak: tenant parent group ${this.o.parentPath} not found — create it or set TENANT_PARENT_GROUP`);
      const byId = new Map((await this.kc.listSubGroups(parent.id)).filter((g) => g.id && g.name).map((g) => [g.id!, { cdmId: g.id!, name: g.name! }]));
      this.tenantsCache = { at: this.now(), byId };
      return byId;
    })().finally(() => (this.tenantsLoading = undefined));
    return this.tenantsLoading;
  }

  /** A tenant by id, or by the name of exactly one live tenant; two with that name: name it by id. */
  async findTenant(idOrName: string): Promise<KeycloakTenant | undefined> {
    // A tenant made a moment ago is found at once: a miss reads the list again (at most once a second).
    const found = await this.lookup(idOrName, await this.tenants());
    return found ?? this.lookup(idOrName, await this.tenants(1000));
  }

  private lookup(idOrName: string, all: Map<string, KeycloakTenant>): KeycloakTenant | undefined {
    const byId = all.get(idOrName);
    if (byId) return byId;
    const named = [...all.values()].filter((t) => t.name === idOrName);
    if (named.length > 1) throw new AmbiguousTenant(idOrName, named);
    return named[0];
  }

  /** Everything `sub` may do, per tenant id. */
  grants(sub: string): Promise<Grants> {
    const hit = this.grantsCache.get(sub);
    if (hit && this.now() - hit.at < this.ttl) return hit.grants;
    const grants = this.load(sub);
    this.grantsCache.set(sub, { at: this.now(), grants });
    // A failed lookup is not remembered: the next request asks Keycloak again.
    grants.catch(() => this.grantsCache.delete(sub));
    if (this.grantsCache.size > 10_000) this.grantsCache.delete(this.grantsCache.keys().next().value!);
    return grants;
  }

  /** The roles `sub` holds in tenant `cdmId` (empty: none, or not a member). */
  async rolesIn(sub: string, cdmId: string): Promise<ReadonlySet<TenantRole | 'member'>> {
    return (await this.grants(sub)).get(cdmId) ?? new Set();
  }

  /** True when `sub` holds one of `roles` in tenant `cdmId`. */
  async may(sub: string, roles: readonly TenantRole[], cdmId: string): Promise<boolean> {
    const held = await this.rolesIn(sub, cdmId);
    return roles.some((r) => held.has(r));
  }

  /**
   * The tenant a request names (by id or unique name), if `sub` holds one of `roles` there: throws
   * TenantNotFound (404, or 409 for a name two tenants share) or AuthError (403) otherwise.
   */
  async requireTenant(sub: string, idOrName: string, roles: readonly TenantRole[]): Promise<KeycloakTenant> {
    const t = await this.findTenant(idOrName);
    if (!t) throw new TenantNotFound(`no tenant "${idOrName}"`);
    await this.require(sub, roles, t);
    return t;
  }

  /** Throws 403 unless `sub` holds one of `roles` in tenant `cdmId`. */
  async require(sub: string, roles: readonly TenantRole[], tenant: KeycloakTenant): Promise<void> {
    const held = await this.rolesIn(sub, tenant.cdmId);
    if (!held.size) throw new AuthError(403, `not a member of tenant ${tenant.name}`);
    if (!roles.some((r) => held.has(r))) throw new AuthError(403, `${roles.join(' or ')} role in tenant ${tenant.name} required (Keycloak group ${tenant.name}/${roleGroup(roles[0]!)})`);
  }

  private async load(sub: string): Promise<Grants> {
    // The tenant list at most a second old: a person added to a tenant made a moment ago is not refused.
    const [user, groups, tenants] = await Promise.all([this.kc.getUser(sub), this.kc.userGroups(sub), this.tenants(1000)]);
    const out = new Map<string, Set<TenantRole | 'member'>>();
    if (!user || user.enabled === false) return out;
    const add = (cdmId: string, what: TenantRole | 'member') => {
      const s = out.get(cdmId) ?? new Set<TenantRole | 'member'>(['member']);
      s.add(what);
      out.set(cdmId, s);
    };
    for (const g of groups) {
      if (!g.id || !g.parentId) continue;
      if (tenants.has(g.id)) add(g.id, 'member');
      else if (tenants.has(g.parentId) && g.name && Object.hasOwn(TENANT_ROLE_GROUPS, g.name)) add(g.parentId, TENANT_ROLE_GROUPS[g.name as keyof typeof TENANT_ROLE_GROUPS]);
    }
    return out;
  }
}

export const roleGroup = (role: TenantRole): string => Object.entries(TENANT_ROLE_GROUPS).find(([, r]) => r === role)![0];
