import { createLogger, grafanaFrom, hawkbitFrom, influxFrom, keycloakFrom, loadConfig, printHelpIfAsked, runMain, startHealthServer, thingsboardFrom } from '@cdm/common';
import { tenantSyncConfig, tenantSyncEnv } from './config.ts';

/** Composition root: config → logger → clients → health endpoint (the reconcile loop plugs in here). */
printHelpIfAsked('tenant-sync', 'Keycloak tenants and roles → ThingsBoard, Grafana, InfluxDB, hawkBit', tenantSyncEnv);

runMain('tenant-sync', async () => {
  const config = loadConfig(tenantSyncConfig);
  const logger = createLogger('tenant-sync', { level: config.LOG_LEVEL });
  const keycloak = keycloakFrom(config);
  const thingsboard = thingsboardFrom(config);
  const grafana = grafanaFrom(config);
  const influx = influxFrom(config);
  const hawkbit = hawkbitFrom(config);
  const health = await startHealthServer({
    host: config.HEALTH_HOST,
    port: config.HEALTH_PORT,
    logger,
    checks: {
      keycloak: () => keycloak.ping(),
      thingsboard: () => thingsboard.ping(),
      grafana: () => grafana.ping(),
      influxdb: () => influx.ping(),
      hawkbit: () => hawkbit.ping(),
    },
  });
  logger.info({ parent: config.TENANT_PARENT_GROUP, schedule: config.SYNC_SCHEDULE }, 'tenant-sync started');
  return { logger, servers: [health] };
});
