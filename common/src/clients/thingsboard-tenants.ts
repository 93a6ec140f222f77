import { cdmTenantInfo } from '../contracts/thingsboard-tenant.ts';
import type { ThingsBoardClient } from './thingsboard.ts';

/** The tenant admin tenant-sync creates in every tenant for the bridges. */
export const bridgeAdminEmail = (cdmId: string) => `cdm-bridge+${cdmId}@cdm.invalid`;

/**
 * The customer tenant-sync keeps in every tenant for its operators (ThingsBoard customer users see
 * only what is assigned to their customer): enroll-bridge assigns each device to it, tenant-sync the
 * operators' dashboard.
 */
export const OPERATORS_CUSTOMER = 'Operators';

export class TenantNotReady extends Error {}

interface Actor {
  client: ThingsBoardClient;
  tenantId: string;
  userId: string;
}

/**
 * ThingsBoard lets only a tenant's own users touch its devices, attributes and alarms, so bridges
 * act as the bridge admin tenant-sync keeps in each tenant. The one way every bridge acts in a
 * tenant: resolved once per tenant (not cached on failure: the next call looks again), shared by
 * concurrent callers, and kept — the client gets a new token pair from the sysadmin when its
 * refresh token expires, so an idle tenant stays usable.
 */
export class TenantActors {
  private readonly actors = new Map<string, Promise<Actor>>();

  constructor(readonly sys: ThingsBoardClient) {}

  /**
   * The client acting in tenant `cdmId`. A caller that already knows the ThingsBoard tenant (and
   * its admin) passes them and saves the lookups; a different admin than the cached one replaces it.
   */
  async actor(cdmId: string, known?: { tenantId: string; adminUserId?: string }): Promise<ThingsBoardClient> {
    const cached = this.actors.get(cdmId);
    if (cached && known?.adminUserId && (await cached.catch(() => undefined))?.userId !== known.adminUserId) this.forget(cdmId);
    return (await this.entry(cdmId, known)).client;
  }

  /** The ThingsBoard tenant id of a cdm tenant (e.g. as the originator of tenant-level alarms). */
  async tenantId(cdmId: string): Promise<string> {
    return (await this.entry(cdmId)).tenantId;
  }

  /** Drops the cached client (its tenant or admin is gone). */
  forget(cdmId: string): void {
    this.actors.delete(cdmId);
  }

  private entry(cdmId: string, known?: { tenantId: string; adminUserId?: string }): Promise<Actor> {
    let p = this.actors.get(cdmId);
    if (!p) {
      p = this.resolve(cdmId, known);
      this.actors.set(cdmId, p);
      p.catch(() => this.actors.get(cdmId) === p && this.actors.delete(cdmId));
    }
    return p;
  }

  private async resolve(cdmId: string, known?: { tenantId: string; adminUserId?: string }): Promise<Actor> {
    if (known?.adminUserId) return { client: await this.sys.actAs(known.adminUserId), tenantId: known.tenantId, userId: known.adminUserId };
    const tenantId = known?.tenantId ?? (await this.findTenant(cdmId));
    for await (const users of this.sys.tenantUserPages(tenantId)) {
      const admin = users.find((u) => u.email.toLowerCase() === bridgeAdminEmail(cdmId));
      if (admin?.id) return { client: await this.sys.actAs(admin.id.id), tenantId, userId: admin.id.id };
    }
    throw new TenantNotReady(`ThingsBoard tenant ${cdmId} has no bridge admin yet — tenant-sync creates it; retry after its next pass`);
  }

  private async findTenant(cdmId: string): Promise<string> {
    for await (const page of this.sys.tenantPages()) {
      const t = page.find((x) => cdmTenantInfo(x).cdmId === cdmId);
      if (!t?.id) continue;
      if (cdmTenantInfo(t).disabled) throw new TenantNotReady(`tenant ${cdmId} is disabled (its Keycloak group was deleted)`);
      return t.id.id;
    }
    throw new TenantNotReady(`no ThingsBoard tenant for ${cdmId} yet — tenant-sync creates it from the Keycloak group; retry after its next pass`);
  }
}
