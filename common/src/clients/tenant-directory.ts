import { cdmTenantInfo } from '../contracts/thingsboard-tenant.ts';
import type { ThingsBoardClient } from './thingsboard.ts';

export interface TenantRef {
  cdmId: string;
  name: string;
  /** Its Keycloak group is gone (tenant-sync keeps the ThingsBoard tenant, disabled, with its data). */
  disabled: boolean;
}

/**
 * Tenant names ↔ cdm ids, read from the ThingsBoard tenants tenant-sync keeps (title = Keycloak group
 * name, additionalInfo.cdmId = group id). Keycloak owns both; ThingsBoard is the copy this bridge can
 * already read. Cached briefly: admin calls come in bursts, tenants rarely change.
 */
export class TenantDirectory {
  private cache?: { at: number; tenants: TenantRef[] };

  constructor(
    private readonly tb: ThingsBoardClient,
    private readonly ttlMs = 30_000,
  ) {}

  async all(): Promise<TenantRef[]> {
    if (this.cache && Date.now() - this.cache.at < this.ttlMs) return this.cache.tenants;
    const tenants: TenantRef[] = [];
    for await (const page of this.tb.tenantPages()) {
      for (const t of page) {
        const info = cdmTenantInfo(t);
        if (info.cdmId) tenants.push({ cdmId: info.cdmId, name: t.title, disabled: info.disabled });
      }
    }
    this.cache = { at: Date.now(), tenants };
    return tenants;
  }

  /**
   * A tenant given by cdm id, or by the name of a live one (a deleted group's disabled tenant may
   * still carry the name a new group got); undefined when tenant-sync has not made it. A name two
   * live tenants share is refused: give the id.
   */
  async find(idOrName: string): Promise<TenantRef | undefined> {
    const all = await this.all();
    const byId = all.find((t) => t.cdmId === idOrName);
    if (byId) return byId;
    const named = all.filter((t) => t.name === idOrName && !t.disabled);
    if (named.length > 1) throw new Error(`two cdm tenants are named "${idOrName}" (${named.map((t) => t.cdmId).join(', ')}): name it by its id`);
    return named[0];
  }

  async require(idOrName: string): Promise<TenantRef> {
    const t = await this.find(idOrName);
    if (!t) throw new Error(`no cdm tenant "${idOrName}" in ThingsBoard (tenant-sync creates tenants from Keycloak groups)`);
    return t;
  }
}
