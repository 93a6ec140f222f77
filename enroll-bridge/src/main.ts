import fs from 'node:fs';
import { createLogger, DIRECTORY_AUDIENCE, KeycloakTokenVerifier, loadConfig, printHelpIfAsked, runCommand, runMain, startHealthServer } from '@cdm/common';
import { PassLoop } from '@cdm/common/loop';
import { directoryRouter } from './directory-api.ts';
import { createApi, createApiServer } from './api.ts';
import { syncPeers } from './peer-sync.ts';
import { runCli, USAGE } from './cli.ts';
import { composeEnrollBridge, enableTargetTokens } from './compose.ts';
import { enrollBridgeConfig, enrollBridgeEnv } from './config.ts';

/** Composition root: config → logger → store and clients (compose.ts) → API + repair, or one command. */
printHelpIfAsked('enroll-bridge', `device enrollment, renewal, decommission\n\n${USAGE}`, enrollBridgeEnv);

const argv = process.argv.slice(2);
const command = argv[0] ?? 'daemon';

if (command === 'daemon') {
  runMain('enroll-bridge', async () => {
    const config = loadConfig(enrollBridgeConfig);
    const logger = createLogger('enroll-bridge', { level: config.LOG_LEVEL });
    const { store, clients, thingsboard, enroller, admin } = await composeEnrollBridge(config, logger);
    const issuer = config.ADMIN_OIDC_ISSUER;
    const directoryVerifier = issuer ? new KeycloakTokenVerifier({ issuer, audience: DIRECTORY_AUDIENCE, jwksUrl: config.ADMIN_OIDC_JWKS_URL }) : undefined;
    await enableTargetTokens(clients.hawkbit).catch((err: Error) => logger.warn({ err: err.message }, 'hawkBit: could not enable target-token authentication; devices cannot poll until it is on'));
    // Finishes or undoes enrollments a crash left half-way.
    const repair = new PassLoop({
      name: 'enroll_repair',
      logger,
      every: config.REPAIR_SCHEDULE,
      pass: () => enroller.repair(),
      // With replicas (DATABASE_URL) one runs the pass; another takes over LEASE_SECONDS after it stops.
      lease: store.lease('enroll_repair', config.LEASE_SECONDS * 1000),
      failures: (r) => r.failed.length,
      notable: (r) => r.completed.length + r.failed.length > 0,
    });
    // The hub's peers follow the store: on every replica, for its own hub (no lease).
    const peers = new PassLoop({
      name: 'wg_peers',
      logger,
      every: config.PEER_SYNC_SCHEDULE,
      pass: () => syncPeers({ store, wireguard: clients.wireguard, logger }),
      failures: (r) => r.failed,
      notable: (r) => r.set + r.removed + r.failed > 0,
      runAtStart: true,
    });
    const health = await startHealthServer({
      host: config.HEALTH_HOST,
      port: config.HEALTH_PORT,
      logger,
      checks: {
        stepca: () => clients.stepca.health(),
        thingsboard: () => thingsboard.ping(),
        hawkbit: () => clients.hawkbit.ping(),
        wireguard: async () => {
          await clients.wireguard.dump();
        },
      },
      gauges: async () => ({ cdm_enroll_addresses_in_use: await store.addressesInUse(), ...repair.gauges(), ...peers.gauges() }),
      // The device directory other services ask (terminal gateway, ota-bridge): internal port only.
      routes: directoryVerifier ? directoryRouter({ verifier: directoryVerifier, store, logger }) : undefined,
    });
    const verifier = config.ADMIN_OIDC_ISSUER ? new KeycloakTokenVerifier({ issuer: config.ADMIN_OIDC_ISSUER, audience: config.ADMIN_OIDC_AUDIENCE, jwksUrl: config.ADMIN_OIDC_JWKS_URL }) : undefined;
    const app = createApi({
      enroller,
      logger,
      rootPem: clients.stepca.rootPem,
      perAddressPerMinute: config.RATE_LIMIT_PER_ADDRESS,
      perClaimPerMinute: config.RATE_LIMIT_PER_CLAIM,
      admin: admin(verifier),
    });
    const api = createApiServer(
      app,
      config.API_TLS_CERT_FILE ? { cert: fs.readFileSync(config.API_TLS_CERT_FILE), key: fs.readFileSync(config.API_TLS_KEY_FILE!), rootPem: clients.stepca.rootPem } : undefined,
    );
    await new Promise<void>((resolve, reject) => api.listen(config.API_PORT, config.API_HOST, resolve).on('error', reject));
    repair.start();
    peers.start();
    if (!verifier) logger.info('admin API and device directory off (no ADMIN_OIDC_ISSUER): use the enroll-bridge CLI');
    logger.info({ pool: config.WG_POOL_CIDR, api: `${config.API_TLS_CERT_FILE ? 'https' : 'http'}://${config.API_HOST}:${config.API_PORT}` }, 'enroll-bridge started');
    if (!config.API_TLS_CERT_FILE) logger.warn('enrollment API without TLS: run it behind a TLS proxy');
    return { logger, servers: [health, api], stop: async () => void (await Promise.all([repair.stop(), peers.stop()]), await store.close()) };
  });
} else {
  runCommand(`enroll-bridge ${command}`, async () => {
    const config = loadConfig(enrollBridgeConfig);
    const logger = createLogger('enroll-bridge', { level: process.env.LOG_LEVEL ? config.LOG_LEVEL : 'warn' });
    const { store, enroller, tenants } = await composeEnrollBridge(config, logger);
    try {
      return await runCli(argv, { store, enroller, tenants });
    } finally {
      await store.close();
    }
  });
}
