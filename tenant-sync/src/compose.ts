import { grafanaFrom, hawkbitFrom, influxFrom, keycloakFrom, thingsboardFrom, type ClientExtras, type Logger } from '@cdm/common';
import type { TenantSyncConfig } from './config.ts';
import { loadAlertRules } from './alert-rules.ts';
import { loadDashboards } from './dashboards.ts';
import { EscalationSync } from './escalation-sync.ts';
import { GrafanaSync } from './grafana-sync.ts';
import { HawkbitAccessSync } from './hawkbit-sync.ts';
import { InfluxSync } from './influx-sync.ts';
import { HawkbitPollingSync } from './polling-sync.ts';
import { TenantSync } from './reconcile.ts';
import { ThingsBoardSync } from './thingsboard-sync.ts';
import { TokenStore } from './token-store.ts';

/**
 * Clients and projections from a validated config; main.ts (the composition root) and the e2e
 * tests build tenant-sync through this, so tests run exactly the wiring ops run.
 */
export function composeTenantSync(config: TenantSyncConfig, logger: Logger, extras: ClientExtras = {}) {
  const keycloak = keycloakFrom(config);
  const clients = { thingsboard: thingsboardFrom(config, extras), grafana: grafanaFrom(config, extras), influx: influxFrom(config, extras) };
  const thingsboard = new ThingsBoardSync(clients.thingsboard, { fleetUrl: config.FLEET_UI_URL });
  const store = new TokenStore(config.TOKEN_STORE_DIR);
  const influx = new InfluxSync({
    influx: clients.influx,
    org: config.INFLUXDB_ORG,
    store,
    retentionSeconds: config.INFLUXDB_RETENTION_DAYS * 86400,
    rollup: { every: config.ROLLUP_EVERY, runEvery: config.ROLLUP_RUN_EVERY, retentionSeconds: config.ROLLUP_RETENTION_DAYS * 86400 },
  });
  const grafana = new GrafanaSync({
    grafana: clients.grafana,
    tokens: influx,
    adminLogin: config.GRAFANA_USERNAME,
    influxUrl: config.GRAFANA_INFLUXDB_URL ?? config.INFLUXDB_URL,
    influxOrg: config.INFLUXDB_ORG,
    dashboards: loadDashboards(config.DASHBOARDS_DIR),
    alertRules: loadAlertRules(config.DASHBOARDS_DIR),
    ...(config.ESCALATION_WEBHOOK_URL ? { routes: { webhookUrl: config.ESCALATION_WEBHOOK_URL, escalateAfterS: Math.round(config.ESCALATE_AFTER / 1000) } } : {}),
  });
  const hawkbit = new HawkbitAccessSync({ keycloak, clientId: config.HAWKBIT_KEYCLOAK_CLIENT, releaseGroup: config.HAWKBIT_RELEASE_GROUP });
  const polling = new HawkbitPollingSync({
    hawkbit: hawkbitFrom(config, extras),
    policy: { interval: config.DEVICE_POLL_INTERVAL, whileUpdating: config.DEVICE_POLL_WHILE_UPDATING, jitterPercent: config.DEVICE_POLL_JITTER_PERCENT },
  });
  const escalation = config.ESCALATION_WEBHOOK_URL
    ? new EscalationSync(clients.thingsboard, { webhookUrl: config.ESCALATION_WEBHOOK_URL, escalateAfterS: Math.round(config.ESCALATE_AFTER / 1000) })
    : undefined;
  // InfluxDB before Grafana: a tenant's data source needs its bucket. Escalation after ThingsBoard: it acts in the tenant's ThingsBoard.
  const projections = [thingsboard, ...(escalation ? [escalation] : []), influx, grafana, hawkbit, polling];
  const sync = new TenantSync({ keycloak, projections, logger, parentGroup: config.TENANT_PARENT_GROUP });
  return { keycloak, clients, store, thingsboard, escalation, influx, grafana, hawkbit, polling, projections, sync };
}
