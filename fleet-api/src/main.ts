import { createLogger, loadConfig, printHelpIfAsked, runMain, startHealthServer } from '@cdm/common';
import { PassLoop } from '@cdm/common/loop';
import { composeFleetApi } from './compose.ts';
import { fleetApiConfig, fleetApiEnv } from './config.ts';

/** Composition root: config → logger → store, clients, command loop and HTTP app (compose.ts) → serve. */
printHelpIfAsked('fleet-api', 'devices, shadow, commands and group operations over HTTP (OpenAPI at /v1/openapi.json)', fleetApiEnv);

runMain('fleet-api', async () => {
  const config = loadConfig(fleetApiConfig);
  const logger = createLogger('fleet-api', { level: config.LOG_LEVEL });
  const { store, clients, loop, server } = await composeFleetApi(config, logger);
  await new Promise<void>((resolve, reject) => server.listen(config.LISTEN_PORT, config.LISTEN_HOST, resolve).on('error', reject));
  // Sends, re-reads and advances commands and group operations.
  const commands = new PassLoop({
    name: 'fleet_commands',
    logger,
    every: config.LOOP_MILLISECONDS,
    pass: () => loop.pass(),
    // Replicas (DATABASE_URL) all serve the API; the lease holder sends and follows the commands.
    lease: store.lease('commands', config.LEASE_SECONDS * 1000),
  });
  commands.start();
  const health = await startHealthServer({
    host: config.HEALTH_HOST,
    port: config.HEALTH_PORT,
    logger,
    checks: { keycloak: () => clients.keycloak.ping(), thingsboard: () => clients.thingsboard.ping(), hawkbit: () => clients.hawkbit.ping(), directory: () => clients.directory.ping() },
    gauges: async () => ({ cdm_fleet_running_groups: (await store.runningGroups()).length, ...commands.gauges() }),
  });
  logger.info({ url: `http://${config.LISTEN_HOST}:${config.LISTEN_PORT}/v1/openapi.json` }, 'fleet API started');
  return { logger, servers: [server, health], stop: async () => void (await commands.stop(), await store.close()) };
});
