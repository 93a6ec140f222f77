import { createLogger, loadConfig, printHelpIfAsked, runCommand, runMain, startHealthServer } from '@cdm/common';
import { runCli } from './cli.ts';
import { composeTenantSync } from './compose.ts';
import { tenantSyncConfig, tenantSyncEnv } from './config.ts';
import { SyncStatus } from './status.ts';
import { Triggers } from './triggers.ts';

const USAGE = `usage: tenant-sync [daemon]           run: a full pass on start and every FULL_SYNC_EVERY, listings on SYNC_SCHEDULE, the tenants a Keycloak change names
       tenant-sync plan [--json]      print what a pass would change, per system, without writing
       tenant-sync apply              run one pass; exit 1 if any tenant failed
       tenant-sync purge <tenant> [--confirm <tenant>]
                                      delete a deleted tenant's devices, telemetry, dashboards (asks first)`;

printHelpIfAsked('tenant-sync', `Keycloak tenants and roles → ThingsBoard, Grafana, InfluxDB, hawkBit\n\n${USAGE}`, tenantSyncEnv);

/** Composition root: config → logger → clients and projections (compose.ts) → daemon or one command. */
const command = process.argv[2] ?? 'daemon';
function build() {
  const config = loadConfig(tenantSyncConfig);
  // Commands print for people; their logs stay quiet unless LOG_LEVEL asks otherwise.
  const logger = createLogger('tenant-sync', { level: command === 'daemon' || process.env.LOG_LEVEL ? config.LOG_LEVEL : 'warn' });
  return { config, logger, ...composeTenantSync(config, logger) };
}

if (command === 'daemon') {
  runMain('tenant-sync', async () => {
    const { config, logger, keycloak, clients, sync, projections } = build();
    const status = new SyncStatus(['keycloak', ...projections.map((p) => p.system)]);
    const triggers = new Triggers({
      keycloak,
      logger,
      schedule: config.SYNC_SCHEDULE,
      fullEveryMs: config.FULL_SYNC_EVERY,
      eventsPollMs: config.EVENTS_POLL_SECONDS * 1000,
      pass: async (tenants) => {
        const r = await sync.apply(tenants);
        status.record(r);
        return r;
      },
      index: () => sync.index(),
      failures: (r) => r.failed.length,
      ownClientUser: await keycloak.whoAmI().catch(() => undefined),
    });
    const health = await startHealthServer({
      host: config.HEALTH_HOST,
      port: config.HEALTH_PORT,
      logger,
      checks: {
        keycloak: () => keycloak.ping(),
        thingsboard: () => clients.thingsboard.ping(),
        grafana: () => clients.grafana.ping(),
        influxdb: () => clients.influx.ping(),
        reconcile: status.check,
      },
      gauges: () => ({ ...status.gauges(), ...triggers.loop.gauges() }),
    });
    await triggers.start();
    logger.info({ parent: config.TENANT_PARENT_GROUP, schedule: config.SYNC_SCHEDULE }, 'tenant-sync started');
    return { logger, servers: [health], stop: async () => triggers.stop() };
  });
} else {
  runCommand(`tenant-sync ${command}`, () => runCli(command, process.argv.slice(3), USAGE, build));
}
