import os from 'node:os';
import { createLogger, loadConfig, printHelpIfAsked, runCommand, runMain, startHealthServer, TenantDirectory } from '@cdm/common';
import { PassLoop } from '@cdm/common/loop';
import { startChunkStore } from './chunk-store.ts';
import { runDeadLetters, runHold, runPublish, USAGE } from './cli.ts';
import { composeOtaBridge } from './compose.ts';
import { otaBridgeConfig, otaBridgeEnv } from './config.ts';

/** Composition root: config → logger → store, clients and mirror (compose.ts) → poll loop, or one command. */
printHelpIfAsked('ota-bridge', `hawkBit rollouts → ThingsBoard and Grafana\n\n${USAGE}`, otaBridgeEnv);

const argv = process.argv.slice(2);
const command = argv[0] ?? 'daemon';

if (command === 'daemon') {
  runMain('ota-bridge', async () => {
    const config = loadConfig(otaBridgeConfig);
    const logger = createLogger('ota-bridge', { level: config.LOG_LEVEL });
    const { store, clients, mirror } = await composeOtaBridge(config, logger);
    const served = { requests: 0, bytes: 0 };
    const chunks = config.CHUNK_STORE_DIR ? [await startChunkStore({ dir: config.CHUNK_STORE_DIR, host: config.CHUNK_STORE_HOST, port: config.CHUNK_STORE_PORT, logger, served })] : [];
    const loop = new PassLoop({
      name: 'ota',
      logger,
      every: config.POLL_SCHEDULE,
      pass: () => mirror.pass(),
      failures: (r) => r.failed,
      runAtStart: true,
      // Replicas (DATABASE_URL): one mirrors hawkBit and raises alarms; another takes over LEASE_SECONDS after it stops.
      lease: store.lease('ota', config.LEASE_SECONDS * 1000),
    });
    const health = await startHealthServer({
      host: config.HEALTH_HOST,
      port: config.HEALTH_PORT,
      logger,
      checks: {
        hawkbit: () => clients.hawkbit.ping(),
        thingsboard: () => clients.thingsboard.ping(),
        influxdb: () => clients.influx.ping(),
        directory: () => clients.directory.ping(),
      },
      gauges: async () => ({
        cdm_ota_dead_letters: await store.deadLetterCount(),
        cdm_ota_cursor_ms: await store.cursor(),
        cdm_chunk_store_requests_total: served.requests,
        cdm_chunk_store_bytes_total: served.bytes,
        ...loop.gauges(),
      }),
    });
    loop.start();
    logger.info({ schedule: config.POLL_SCHEDULE, bootWindowSeconds: config.BOOT_WINDOW_SECONDS, gatePercent: config.GATE_THRESHOLD_PERCENT }, 'ota-bridge started');
    return { logger, servers: [health, ...chunks], stop: async () => void (await loop.stop(), await store.close()) };
  });
} else {
  runCommand(`ota-bridge ${command}`, async () => {
    const config = loadConfig(otaBridgeConfig);
    const logger = createLogger('ota-bridge', { level: process.env.LOG_LEVEL ? config.LOG_LEVEL : 'warn' });
    const { store, clients, mirror } = await composeOtaBridge(config, logger);
    try {
      if (command === 'publish') {
        const tenants = new TenantDirectory(clients.thingsboard);
        return await runPublish(argv.slice(1), { hawkbit: clients.hawkbit, tenants, keyring: config.RAUC_KEYRING, chunkStore: config.CHUNK_STORE_DIR });
      }
      if (command === 'dead-letters') return await runDeadLetters(argv.slice(1), store);
      if (command === 'hold') {
        const res = await runHold(argv.slice(1), store, { by: os.userInfo().username, now: Date.now() });
        logger.warn({ rolloutId: Number(argv[1]), hold: argv[2], by: os.userInfo().username }, 'hold changed by an operator');
        return res;
      }
      if (command === 'poll') {
        const r = await mirror.pass();
        process.stdout.write(`${JSON.stringify(r)}\n`);
        return r.failed ? 1 : 0;
      }
      process.stderr.write(`${USAGE}\n`);
      return 2;
    } finally {
      await store.close();
    }
  });
}
