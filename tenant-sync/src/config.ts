import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { databaseEnv, durationSchema, grafanaEnv, hawkbitEnv, healthEnv, influxdbEnv, keycloakEnv, thingsboardEnv } from '@cdm/common';
import { pollingIntervalProblem } from './polling-plan.ts';
import { runEveryProblem } from './tiers.ts';

const repoDashboards = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'grafana-dashboards');

/** Every variable tenant-sync reads; `tenant-sync --help` prints them. */
export const tenantSyncEnv = {
  ...keycloakEnv,
  ...thingsboardEnv,
  ...grafanaEnv,
  ...influxdbEnv,
  ...hawkbitEnv,
  ...healthEnv(19101),
  // Replicas: the passes run on one, elected by a lease in this database (tenant-sync keeps no other state there).
  ...databaseEnv,
  TENANT_PARENT_GROUP: z.string().default('/tenants').describe('Keycloak group whose subgroups are tenants'),
  SYNC_SCHEDULE: z
    .string()
    .default('*/5 * * * *')
    .describe(
      "node-cron schedule of the regular pass: Keycloak's tenant listing, new and gone tenants, hawkBit rights and polling, each system's listings (calls grow with pages, not tenants); a full pass when FULL_SYNC_EVERY has passed",
    ),
  FULL_SYNC_EVERY: durationSchema('how often a scheduled pass reads every tenant in every system, correcting hand edits downstream (Keycloak changes are applied within EVENTS_POLL_SECONDS)', '1h'),
  EVENTS_POLL_SECONDS: z.coerce.number().int().min(1).max(3600).default(15).describe('how often Keycloak admin events are checked; a change starts a pass over the tenants they name'),
  TOKEN_STORE_DIR: z.string().min(1).describe('directory of device InfluxDB write tokens, one file per tenant (secret; enroll-bridge mounts it too)'),
  DASHBOARDS_DIR: z.string().default(repoDashboards).describe('Grafana dashboards (*.json) imported into every tenant org, and alert rules (alerts/*.json) created in each'),
  FLEET_UI_URL: z
    .string()
    .url()
    .default('http://127.0.0.1:8446')
    .describe("public URL of the fleet API's device page, which the operators' ThingsBoard dashboard (cdm devices) opens for a device's operations"),
  GRAFANA_INFLUXDB_URL: z.string().url().optional().describe('InfluxDB URL as Grafana reaches it (default INFLUXDB_URL)'),
  COLD_ARCHIVE_DIR: z
    .string()
    .optional()
    .describe("cold tier: where the daemon exports each complete day of every tenant bucket (gzip'd line protocol and a manifest, see `tenant-sync export`); unset: no export"),
  COLD_EXPORT_SCHEDULE: z.string().default('0 30 0 * * *').describe('node-cron schedule (with seconds) of the cold export pass; it also runs at start'),
  ROLLUP_EVERY: z
    .string()
    .regex(/^\d+[mh]$/, 'a whole number of minutes or hours, e.g. 5m')
    .default('5m')
    .describe("retention tiers: each tenant's rollup bucket cdm-<id>.rollup holds device_health aggregated per this period (mean, min, sum or last per field), filled by an InfluxDB task"),
  ROLLUP_RUN_EVERY: z
    .string()
    .regex(/^\d+[mh]$/, 'a whole number of minutes or hours, e.g. 1h')
    .default('1h')
    .describe(
      'how often the rollup task runs, a whole multiple of ROLLUP_EVERY: each run aggregates the periods of the two run intervals before it. Longer runs cost less per device (bench:tiers, docs/capacity.md); the rollup tier lags by up to one run',
    ),
  ROLLUP_RETENTION_DAYS: z.coerce.number().int().min(0).default(365).describe('retention of the rollup buckets in days (0: forever)'),
  INFLUXDB_RETENTION_DAYS: z.coerce.number().int().min(0).default(0).describe('retention of new tenant buckets in days (0: forever)'),
  HAWKBIT_RELEASE_GROUP: z
    .string()
    .default('/platform/release-managers')
    .describe("Keycloak group of the manufacturer's release managers: the only people given hawkBit rights (hawkBit cannot scope them to a customer)"),
  HAWKBIT_KEYCLOAK_CLIENT: z.string().default('hawkbit').describe("Keycloak client whose roles are hawkBit's permissions"),
  ESCALATION_WEBHOOK_URL: z
    .preprocess((v) => (v === '' ? undefined : v), z.string().url().optional())
    .describe(
      'where ThingsBoard posts alarm notifications (Microsoft Teams message cards), one URL per person: <url>/<tenant id>/<operator|oncall>/<Keycloak user id>; a paging gateway routes them. Unset: no escalation rules are kept',
    ),
  DEVICE_POLL_INTERVAL: hms("how often devices poll hawkBit when nothing is under way (hawkBit's pollingTime); a tenant overrides it with its Keycloak group attribute pollingInterval", '06:00:00'),
  DEVICE_POLL_WHILE_UPDATING: hms('how often a device with an update waiting (a running stage) polls hawkBit', '00:05:00'),
  DEVICE_POLL_JITTER_PERCENT: z.coerce
    .number()
    .int()
    .min(0)
    .max(50)
    .default(10)
    .describe("each poll's interval varies by up to ± this share, so a fleet's polls and downloads spread out instead of starting together"),
  ESCALATE_AFTER: durationSchema("a critical alarm still unacknowledged this long after it was raised goes to the tenant's on-call too (operators get it at once)", '15m'),
};

/** An HH:MM:SS interval as hawkBit takes it (30 s to 23:59:59). */
function hms(doc: string, dflt: string) {
  return z
    .string()
    .default(dflt)
    .superRefine((v, ctx) => {
      const problem = pollingIntervalProblem(v);
      if (problem) ctx.addIssue({ code: 'custom', message: problem });
    })
    .describe(doc);
}

export const tenantSyncConfig = z.object(tenantSyncEnv).superRefine((c, ctx) => {
  const problem = runEveryProblem(c.ROLLUP_EVERY, c.ROLLUP_RUN_EVERY);
  if (problem) ctx.addIssue({ code: 'custom', path: ['ROLLUP_RUN_EVERY'], message: problem });
});
export type TenantSyncConfig = z.infer<typeof tenantSyncConfig>;
