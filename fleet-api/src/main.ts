import { createLogger, loadConfig, printHelpIfAsked, runMain, startHealthServer } from '@cdm/common';
import { composeFleetApi } from './compose.ts';
import { fleetApiConfig, fleetApiEnv } from './config.ts';

/** Composition root: config → logger → store, clients, command loop and HTTP app (compose.ts) → serve. */
printHelpIfAsked('fleet-api', 'devices, shadow, commands and group operations over HTTP (OpenAPI at /v1/openapi.json)', fleetApiEnv);

runMain('fleet-api', async () => {
  const config = loadConfig(fleetApiConfig);
  const logger = createLogger('fleet-api', { level: config.LOG_LEVEL });
  const { store, clients, loop, server } = composeFleetApi(config, logger);
  await new Promise<void>((resolve, reject) => server.listen(config.LISTEN_PORT, config.LISTEN_HOST, resolve).on('error', reject));
  let last: { at: number; sent: number } | undefined;
  let running = false;
  // One pass at a time; a failed pass is logged and the next tick retries.
  const timer = setInterval(() => {
    if (running) return;
    running = true;
    loop
      .pass()
      .then((r) => void (last = { at: Date.now(), sent: r.sent }))
      .catch((err: Error) => logger.error({ err: err.message }, 'command loop pass failed; next tick retries'))
      .finally(() => (running = false));
  }, config.LOOP_MILLISECONDS);
  const health = await startHealthServer({
    host: config.HEALTH_HOST,
    port: config.HEALTH_PORT,
    logger,
    checks: { keycloak: () => clients.keycloak.ping(), thingsboard: () => clients.thingsboard.ping(), hawkbit: () => clients.hawkbit.ping(), directory: () => clients.directory.ping() },
    gauges: () => ({ cdm_fleet_running_groups: store.runningGroups().length, cdm_fleet_loop_age_seconds: last ? Math.round((Date.now() - last.at) / 1000) : -1 }),
  });
  logger.info({ url: `http://${config.LISTEN_HOST}:${config.LISTEN_PORT}/v1/openapi.json` }, 'fleet API started');
  return { logger, servers: [server, health], stop: async () => void (clearInterval(timer), store.close()) };
});
