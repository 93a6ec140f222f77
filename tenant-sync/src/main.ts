import {
  createLogger,
  grafanaFrom,
  influxFrom,
  keycloakFrom,
  loadConfig,
  printHelpIfAsked,
  runMain,
  startHealthServer,
  thingsboardFrom,
} from '@cdm/common';
import { runCli } from './cli.ts';
import { tenantSyncConfig, tenantSyncEnv } from './config.ts';
import { loadDashboards } from './dashboards.ts';
import { GrafanaSync } from './grafana-sync.ts';
import { HawkbitAccessSync } from './hawkbit-sync.ts';
import { InfluxSync } from './influx-sync.ts';
import { TenantSync } from './reconcile.ts';
import { SyncStatus } from './status.ts';
import { ThingsBoardSync } from './thingsboard-sync.ts';
import { TokenStore } from './token-store.ts';
import { Triggers } from './triggers.ts';

const USAGE = `usage: tenant-sync [daemon]           run: a pass on start, on SYNC_SCHEDULE and after Keycloak changes
       tenant-sync plan [--json]      print what a pass would change, per system, without writing
       tenant-sync apply              run one pass; exit 1 if any tenant failed
       tenant-sync purge <tenant> [--confirm <tenant>]
                                      delete a deleted tenant's devices, telemetry, dashboards (asks first)`;

printHelpIfAsked('tenant-sync', `Keycloak tenants and roles → ThingsBoard, Grafana, InfluxDB, hawkBit\n\n${USAGE}`, tenantSyncEnv);

/** Composition root: config → logger → clients → projections → reconcile → daemon or one command. */
function build() {
  const config = loadConfig(tenantSyncConfig);
  const command = process.argv[2] ?? 'daemon';
  // Commands print for people; their logs stay quiet unless LOG_LEVEL asks otherwise.
  const logger = createLogger('tenant-sync', { level: command === 'daemon' || process.env.LOG_LEVEL ? config.LOG_LEVEL : 'warn' });
  const keycloak = keycloakFrom(config);
  const tb = thingsboardFrom(config);
  const grafanaClient = grafanaFrom(config);
  const influxClient = influxFrom(config);
  const thingsboard = new ThingsBoardSync(tb);
  const influx = new InfluxSync({ influx: influxClient, org: config.INFLUXDB_ORG, store: new TokenStore(config.TOKEN_STORE_DIR), retentionSeconds: config.INFLUXDB_RETENTION_DAYS * 86400 });
  const grafana = new GrafanaSync({
    grafana: grafanaClient,
    tokens: influx,
    adminLogin: config.GRAFANA_USERNAME,
    influxUrl: config.GRAFANA_INFLUXDB_URL ?? config.INFLUXDB_URL,
    influxOrg: config.INFLUXDB_ORG,
    dashboards: loadDashboards(config.DASHBOARDS_DIR),
  });
  const hawkbit = new HawkbitAccessSync({ keycloak, clientId: config.HAWKBIT_KEYCLOAK_CLIENT });
  const sync = new TenantSync({ keycloak, projections: [thingsboard, influx, grafana, hawkbit], logger, parentGroup: config.TENANT_PARENT_GROUP });
  return { config, command, logger, keycloak, tb, grafanaClient, influxClient, thingsboard, influx, grafana, sync };
}

const command = process.argv[2] ?? 'daemon';
if (command === 'daemon') {
  runMain('tenant-sync', async () => {
    const { config, logger, keycloak, tb, grafanaClient, influxClient, sync } = build();
    const status = new SyncStatus();
    const health = await startHealthServer({
      host: config.HEALTH_HOST,
      port: config.HEALTH_PORT,
      logger,
      checks: {
        keycloak: () => keycloak.ping(),
        thingsboard: () => tb.ping(),
        grafana: () => grafanaClient.ping(),
        influxdb: () => influxClient.ping(),
        reconcile: status.check,
      },
      gauges: () => status.gauges(),
    });
    const triggers = new Triggers({
      keycloak,
      logger,
      schedule: config.SYNC_SCHEDULE,
      eventsPollMs: config.EVENTS_POLL_SECONDS * 1000,
      pass: async () => status.record(await sync.apply()),
      ownClientUser: await keycloak.whoAmI().catch(() => undefined),
    });
    await triggers.start();
    logger.info({ parent: config.TENANT_PARENT_GROUP, schedule: config.SYNC_SCHEDULE }, 'tenant-sync started');
    return { logger, servers: [health], stop: async () => triggers.stop() };
  });
} else {
  runCli(command, process.argv.slice(3), USAGE, build).then(
    (code: number) => process.exit(code),
    (err: Error) => {
      process.stderr.write(`tenant-sync ${command}: ${err.message}\n`);
      process.exit(1);
    },
  );
}
