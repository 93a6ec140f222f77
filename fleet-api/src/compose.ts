import http from 'node:http';
import path from 'node:path';
import express from 'express';
import {
  DeviceDirectoryClient,
  hawkbitFrom,
  keycloakFrom,
  KeycloakTokenVerifier,
  pageHeaders,
  signInRoutes,
  TenantActors,
  TenantAuthority,
  thingsboardFrom,
  type ClientExtras,
  type Logger,
} from '@cdm/common';
import { fleetRouter } from './api.ts';
import { CommandRunner } from './commands.ts';
import type { FleetApiConfig } from './config.ts';
import { Deployments } from './deployments.ts';
import { EnrollAdminClient } from './enroll-admin.ts';
import { FleetDevices } from './devices.ts';
import { CommandLoop } from './groups.ts';
import { FleetStore } from './store.ts';
import { ThingsBoardDevices } from './thingsboard-devices.ts';

/** Store, clients, command loop and HTTP app from a validated config: used by main.ts and the e2e tests. */
export async function composeFleetApi(config: FleetApiConfig, logger: Logger, o: { now?: () => number } & ClientExtras = {}) {
  const store = await FleetStore.open({ url: config.DATABASE_URL, dataDir: config.DATA_DIR, log: (m) => logger.warn(m) });
  const keycloak = keycloakFrom(config);
  const thingsboard = thingsboardFrom(config, { observer: o.observer });
  const directory = new DeviceDirectoryClient({ baseURL: config.DIRECTORY_URL, token: () => keycloak.accessToken(), observer: o.observer });
  const authority = new TenantAuthority(keycloak, { parentPath: config.TENANT_PARENT_GROUP, ttlMs: config.AUTHORITY_CACHE_SECONDS * 1000 });
  const gateway = new ThingsBoardDevices(new TenantActors(thingsboard));
  const hawkbit = hawkbitFrom(config, { observer: o.observer });
  const runner = new CommandRunner({ store, gateway, logger, now: o.now });
  const loop = new CommandLoop({ store, runner, logger, now: o.now });
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', false);
  // The device page for operators (ThingsBoard's cdm widget opens it) and its Keycloak sign-in.
  app.use(pageHeaders);
  app.use(signInRoutes({ issuer: config.OIDC_ISSUER, clientId: config.OIDC_CLIENT_ID, tokenUrl: config.OIDC_TOKEN_URL }));
  app.use(
    '/v1',
    fleetRouter({
      deployments: new Deployments(hawkbit),
      enrollAdmin: new EnrollAdminClient({ baseURL: config.ENROLL_ADMIN_URL, caFile: config.ENROLL_CA_FILE, observer: o.observer }),
      verifier: new KeycloakTokenVerifier({ issuer: config.OIDC_ISSUER, audience: config.OIDC_AUDIENCE, jwksUrl: config.OIDC_JWKS_URL }),
      authority,
      directory,
      devices: new FleetDevices(gateway, directory),
      gateway,
      store,
      runner,
      logger,
      limits: {
        confirmAbove: config.GROUP_CONFIRM_ABOVE,
        maxGroup: config.GROUP_MAX_DEVICES,
        defaultExpirySeconds: config.COMMAND_EXPIRY_SECONDS,
        maxExpirySeconds: config.COMMAND_MAX_EXPIRY_SECONDS,
        maxConcurrency: config.GROUP_MAX_CONCURRENCY,
      },
      now: o.now,
    }),
  );
  app.use(express.static(path.join(import.meta.dirname, 'page')));
  app.use((_req, res) => void res.status(404).json({ error: 'the fleet API is under /v1 (document: /v1/openapi.json); the device page is /?device=<id>' }));
  const server = http.createServer(app);
  return { store, clients: { keycloak, thingsboard, hawkbit, directory }, loop, server };
}
