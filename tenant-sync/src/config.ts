import { z } from 'zod';
import { grafanaEnv, hawkbitEnv, healthEnv, influxdbEnv, keycloakEnv, thingsboardEnv } from '@cdm/common';

/** Every variable tenant-sync reads; `tenant-sync --help` prints them. */
export const tenantSyncEnv = {
  ...keycloakEnv,
  ...thingsboardEnv,
  ...grafanaEnv,
  ...influxdbEnv,
  ...hawkbitEnv,
  ...healthEnv(19101),
  TENANT_PARENT_GROUP: z.string().default('/tenants').describe('Keycloak group whose subgroups are tenants'),
  SYNC_SCHEDULE: z.string().default('*/5 * * * *').describe('node-cron schedule of the full reconcile'),
};

export const tenantSyncConfig = z.object(tenantSyncEnv);
export type TenantSyncConfig = z.infer<typeof tenantSyncConfig>;
