import { cdmTenantInfo, type Tenant, type ThingsBoardClient } from '@cdm/common';
import { collect } from './projection.ts';

/** A ThingsBoard tenant tenant-sync keeps: it carries a cdm id. */
export interface CdmTbTenant {
  cdmId: string;
  tbTenantId: string;
  title: string;
  disabled: boolean;
}

/**
 * The ThingsBoard tenants that carry a cdm id (disabled ones too), listed by pages; given tenants,
 * only theirs — the one listing the ThingsBoard projections share, whole or for a partial pass.
 */
export async function cdmTbTenants(sys: ThingsBoardClient, only?: ReadonlySet<string>): Promise<CdmTbTenant[]> {
  return (await collect(sys.tenantPages())).flatMap((t: Tenant) => {
    const { cdmId, disabled } = cdmTenantInfo(t);
    return cdmId && t.id && (!only || only.has(cdmId)) ? [{ cdmId, tbTenantId: t.id.id, title: t.title, disabled }] : [];
  });
}
