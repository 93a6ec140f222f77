import type { ThingsBoardClient } from './thingsboard.ts';

export interface TenantRef {
  cdmId: string;
  name: string;
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
        const cdmId = (t.additionalInfo as { cdmId?: unknown } | undefined)?.cdmId;
        if (typeof cdmId === 'string' && cdmId) tenants.push({ cdmId, name: t.title });
      }
    }
    this.cache = { at: Date.now(), tenants };
    return tenants;
  }

  /** A tenant given by cdm id or by name; undefined when tenant-sync has not made it. */
  async find(idOrName: string): Promise<TenantRef | undefined> {
    const all = await this.all();
    return all.find((t) => t.cdmId === idOrName) ?? all.find((t) => t.name === idOrName);
  }

  async require(idOrName: string): Promise<TenantRef> {
    const t = await this.find(idOrName);
    if (!t) throw new Error(`no cdm tenant "${idOrName}" in ThingsBoard (tenant-sync creates tenants from Keycloak groups)`);
    return t;
  }
}
