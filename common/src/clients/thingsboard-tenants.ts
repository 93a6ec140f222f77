import type { ThingsBoardClient } from './thingsboard.ts';

/** The tenant admin tenant-sync creates in every tenant for the bridges. */
export const bridgeAdminEmail = (cdmId: string) => `cdm-bridge+${cdmId}@cdm.invalid`;

export class TenantNotReady extends Error {}

/**
 * ThingsBoard lets only a tenant's own users touch its devices, attributes and alarms, so bridges
 * act as the bridge admin tenant-sync keeps in each tenant. Resolved once per tenant (not cached on
 * failure: the next call looks again) and shared by concurrent callers.
 */
export class TenantActors {
  private readonly actors = new Map<string, Promise<{ client: ThingsBoardClient; tenantId: string }>>();

  constructor(readonly sys: ThingsBoardClient) {}

  async actor(cdmId: string): Promise<ThingsBoardClient> {
    return (await this.entry(cdmId)).client;
  }

  /** The ThingsBoard tenant id of a cdm tenant (e.g. as the originator of tenant-level alarms). */
  async tenantId(cdmId: string): Promise<string> {
    return (await this.entry(cdmId)).tenantId;
  }

  private entry(cdmId: string) {
    let p = this.actors.get(cdmId);
    if (!p) {
      p = this.resolve(cdmId);
      this.actors.set(cdmId, p);
      p.catch(() => this.actors.delete(cdmId));
    }
    return p;
  }

  private async resolve(cdmId: string): Promise<{ client: ThingsBoardClient; tenantId: string }> {
    for await (const page of this.sys.tenantPages()) {
      const t = page.find((x) => (x.additionalInfo as { cdmId?: string } | undefined)?.cdmId === cdmId);
      if (!t?.id) continue;
      if ((t.additionalInfo as { cdmDisabled?: boolean }).cdmDisabled) throw new TenantNotReady(`tenant ${cdmId} is disabled (its Keycloak group was deleted)`);
      for await (const users of this.sys.tenantUserPages(t.id.id)) {
        const admin = users.find((u) => u.email.toLowerCase() === bridgeAdminEmail(cdmId));
        if (admin?.id) return { client: await this.sys.actAs(admin.id.id), tenantId: t.id.id };
      }
      throw new TenantNotReady(`ThingsBoard tenant ${cdmId} has no bridge admin yet — tenant-sync creates it; retry after its next pass`);
    }
    throw new TenantNotReady(`no ThingsBoard tenant for ${cdmId} yet — tenant-sync creates it from the Keycloak group; retry after its next pass`);
  }
}
