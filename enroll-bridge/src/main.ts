import fs from 'node:fs';
import { createLogger, hawkbitFrom, loadConfig, printHelpIfAsked, runMain, startHealthServer, stepcaFrom, thingsboardFrom, wireguardFrom } from '@cdm/common';
import { enrollBridgeConfig, enrollBridgeEnv } from './config.ts';

/** Composition root: config → logger → clients → health endpoint (the enrollment API plugs in here). */
printHelpIfAsked('enroll-bridge', 'device enrollment, renewal, decommission', enrollBridgeEnv);

runMain('enroll-bridge', async () => {
  const config = loadConfig(enrollBridgeConfig);
  const logger = createLogger('enroll-bridge', { level: config.LOG_LEVEL });
  fs.mkdirSync(config.DATA_DIR, { recursive: true, mode: 0o700 });
  const stepca = await stepcaFrom(config);
  const thingsboard = thingsboardFrom(config);
  const hawkbit = hawkbitFrom(config);
  const wireguard = wireguardFrom(config);
  const health = await startHealthServer({
    host: config.HEALTH_HOST,
    port: config.HEALTH_PORT,
    logger,
    checks: {
      stepca: () => stepca.health(),
      thingsboard: () => thingsboard.ping(),
      hawkbit: () => hawkbit.ping(),
      wireguard: async () => {
        await wireguard.dump();
      },
    },
  });
  logger.info({ pool: config.WG_POOL_CIDR, dataDir: config.DATA_DIR }, 'enroll-bridge started');
  return { logger, servers: [health] };
});
