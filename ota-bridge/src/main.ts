import fs from 'node:fs';
import { createLogger, hawkbitFrom, influxFrom, loadConfig, printHelpIfAsked, runMain, startHealthServer, thingsboardFrom } from '@cdm/common';
import { otaBridgeConfig, otaBridgeEnv } from './config.ts';

/** Composition root: config → logger → clients → health endpoint (the poll loop plugs in here). */
printHelpIfAsked('ota-bridge', 'hawkBit rollouts → ThingsBoard and Grafana', otaBridgeEnv);

runMain('ota-bridge', async () => {
  const config = loadConfig(otaBridgeConfig);
  const logger = createLogger('ota-bridge', { level: config.LOG_LEVEL });
  fs.mkdirSync(config.DATA_DIR, { recursive: true, mode: 0o700 });
  const hawkbit = hawkbitFrom(config);
  const thingsboard = thingsboardFrom(config);
  const influx = influxFrom(config);
  const health = await startHealthServer({
    host: config.HEALTH_HOST,
    port: config.HEALTH_PORT,
    logger,
    checks: {
      hawkbit: () => hawkbit.ping(),
      thingsboard: () => thingsboard.ping(),
      influxdb: () => influx.ping(),
    },
  });
  logger.info({ schedule: config.POLL_SCHEDULE }, 'ota-bridge started');
  return { logger, servers: [health] };
});
