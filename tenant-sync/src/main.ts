import { createLogger, loadConfig, printHelpIfAsked, runCommand, runMain, startHealthServer } from '@cdm/common';
import { serviceLeases } from '@cdm/common/lease';
import { PassLoop } from '@cdm/common/loop';
import { runCli } from './cli.ts';
import { ColdExport } from './cold-export.ts';
import { composeTenantSync } from './compose.ts';
import { tenantSyncConfig, tenantSyncEnv } from './config.ts';
import { SyncStatus } from './status.ts';
import { Triggers } from './triggers.ts';

const USAGE = `usage: tenant-sync [daemon]           run: a full pass on start and every FULL_SYNC_EVERY, listings on SYNC_SCHEDULE, the tenants a Keycloak change names
       tenant-sync plan [--json]      print what a pass would change, per system, without writing
       tenant-sync apply              run one pass; exit 1 if any tenant failed
       tenant-sync purge <tenant> [--confirm <tenant>]
                                      delete a deleted tenant's devices, telemetry, dashboards (asks first)
       tenant-sync export --tenant <id> --day YYYY-MM-DD --out DIR
                                      cold tier: that UTC day of the tenant's bucket to DIR/<bucket>/<day>.lp.gz
                                      (gzip'd line protocol) with a manifest (lines, sha256)
       tenant-sync restore <DIR/bucket/day.lp.gz> [--bucket NAME]
                                      write an exported day back (checked against its manifest)`;

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
    const leases = await serviceLeases({ url: config.DATABASE_URL, service: 'tenant-sync', ttlSeconds: config.LEASE_SECONDS });
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
      lease: leases.lease('pass'),
    });
    const cold = config.COLD_ARCHIVE_DIR
      ? new ColdExport({ influx: clients.influx, org: config.INFLUXDB_ORG, dir: config.COLD_ARCHIVE_DIR, lookbackDays: config.INFLUXDB_RETENTION_DAYS || 7, logger })
      : undefined;
    const coldLoop =
      cold &&
      new PassLoop({
        name: 'cold_export',
        logger,
        every: config.COLD_EXPORT_SCHEDULE,
        pass: () => cold.pass(),
        failures: (r) => r.failed.length,
        runAtStart: true,
        lease: leases.lease('cold_export'),
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
      gauges: () => ({ ...status.gauges(), ...triggers.loop.gauges(), ...coldLoop?.gauges() }),
    });
    await triggers.start();
    coldLoop?.start();
    logger.info({ parent: config.TENANT_PARENT_GROUP, schedule: config.SYNC_SCHEDULE, coldArchive: config.COLD_ARCHIVE_DIR }, 'tenant-sync started');
    return { logger, servers: [health], stop: async () => void (await Promise.all([triggers.stop(), coldLoop?.stop()]), await leases.close()) };
  });
} else {
  runCommand(`tenant-sync ${command}`, () => runCli(command, process.argv.slice(3), USAGE, build));
}
