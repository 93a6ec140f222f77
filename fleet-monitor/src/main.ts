import { createLogger, loadConfig, printHelpIfAsked, runCommand, runMain, startHealthServer } from '@cdm/common';
import { serviceLeases } from '@cdm/common/lease';
import { PassLoop } from '@cdm/common/loop';
import { composeFleetMonitor } from './compose.ts';
import { fleetMonitorConfig, fleetMonitorEnv } from './config.ts';

const USAGE = `usage: fleet-monitor [daemon]   offline clusters and unusual values → ThingsBoard alarms, on POLL_SCHEDULE, /healthz
       fleet-monitor pass       one pass now; prints what it raised and cleared`;

/** Composition root: config → logger → clients and monitor (compose.ts) → pass loop, or one pass. */
printHelpIfAsked('fleet-monitor', `offline clusters and unusual device health → ThingsBoard alarms\n\n${USAGE}`, fleetMonitorEnv);

const command = process.argv[2] ?? 'daemon';

if (command === 'daemon') {
  runMain('fleet-monitor', async () => {
    const config = loadConfig(fleetMonitorConfig);
    const logger = createLogger('fleet-monitor', { level: config.LOG_LEVEL });
    const { clients, monitor } = composeFleetMonitor(config, logger);
    const leases = await serviceLeases({ url: config.DATABASE_URL, service: 'fleet-monitor', ttlSeconds: config.LEASE_SECONDS });
    const loop = new PassLoop({
      name: 'monitor',
      logger,
      every: config.POLL_SCHEDULE,
      pass: () => monitor.pass(),
      failures: (r) => r.failed,
      notable: (r) => r.clustersRaised + r.clustersCleared + r.anomaliesRaised + r.anomaliesCleared > 0,
      runAtStart: true,
      // Replicas: one raises and clears alarms; the others stand by.
      lease: leases.lease('monitor'),
    });
    const health = await startHealthServer({
      host: config.HEALTH_HOST,
      port: config.HEALTH_PORT,
      logger,
      checks: { thingsboard: () => clients.thingsboard.ping(), influxdb: () => clients.influx.ping() },
      gauges: () => loop.gauges(),
    });
    loop.start();
    logger.info({ schedule: config.POLL_SCHEDULE }, 'fleet-monitor started');
    return { logger, servers: [health], stop: async () => void (await loop.stop(), await leases.close()) };
  });
} else {
  runCommand(`fleet-monitor ${command}`, async () => {
    const config = loadConfig(fleetMonitorConfig);
    const logger = createLogger('fleet-monitor', { level: process.env.LOG_LEVEL ? config.LOG_LEVEL : 'warn' });
    if (command !== 'pass') {
      process.stderr.write(`${USAGE}\n`);
      return 2;
    }
    const r = await composeFleetMonitor(config, logger).monitor.pass();
    process.stdout.write(`${JSON.stringify(r)}\n`);
    return r.failed ? 1 : 0;
  });
}
