import { bridgeAdminEmail, tenantBucket, type EntityId, type InfluxClient, type ThingsBoardClient } from '@cdm/common';

/**
 * A tenant as tenant-sync leaves it in ThingsBoard — the tenant carrying its cdm id and the bridge
 * admin the bridges act as — for tests and benchmarks that set a scene without running tenant-sync.
 */
export async function thingsboardTenant(sys: ThingsBoardClient, cdmId: string, title = cdmId) {
  const tenant = await sys.saveTenant({ title, additionalInfo: { cdmId } });
  const tbTenantId = tenant.id!.id;
  const admin = await sys.saveUser({ email: bridgeAdminEmail(cdmId), authority: 'TENANT_ADMIN', tenantId: { id: tbTenantId, entityType: 'TENANT' } });
  return { tenant, tbTenantId, entity: tenant.id! as EntityId, adminUserId: admin.id!.id, as: await sys.actAs(admin.id!.id) };
}

/** The tenant's bucket as tenant-sync makes it (in the organisation the bridges write to). */
export async function tenantBucketFor(influx: InfluxClient, orgName: string, cdmId: string) {
  const org = await influx.findOrg(orgName);
  if (!org) throw new Error(`InfluxDB has no organisation ${orgName}: is the stack up (npm run stack -- up)?`);
  return influx.createBucket({ orgID: org.id, name: tenantBucket(cdmId) });
}
