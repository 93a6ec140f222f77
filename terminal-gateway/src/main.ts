import fs from 'node:fs';
import { createLogger, DeviceDirectoryClient, keycloakFrom, KeycloakTokenVerifier, loadConfig, printHelpIfAsked, runMain, startHealthServer, TenantAuthority } from '@cdm/common';
import { AuditLog } from './audit.ts';
import { terminalGatewayConfig, terminalGatewayEnv } from './config.ts';
import { DirectoryDevices } from './devices.ts';
import { TerminalGateway } from './gateway.ts';
import { createTerminalServer } from './server.ts';

/** Composition root: config → logger → token verifier, Keycloak authority, device lookup, audit → web page + WebSocket. */
printHelpIfAsked('terminal-gateway', 'browser → device shell over WireGuard, authorised by Keycloak, audited', terminalGatewayEnv);

runMain('terminal-gateway', async () => {
  const config = loadConfig(terminalGatewayConfig);
  const logger = createLogger('terminal-gateway', { level: config.LOG_LEVEL });
  const keycloak = keycloakFrom(config);
  const authority = new TenantAuthority(keycloak, { parentPath: config.TENANT_PARENT_GROUP, ttlMs: config.AUTHORITY_CACHE_SECONDS * 1000 });
  const directory = new DeviceDirectoryClient({ baseURL: config.DIRECTORY_URL, token: () => keycloak.accessToken() });
  const devices = new DirectoryDevices(directory);
  if (config.TRANSCRIPT_DIR) fs.mkdirSync(config.TRANSCRIPT_DIR, { recursive: true, mode: 0o700 });
  const gateway = new TerminalGateway({
    verifier: new KeycloakTokenVerifier({ issuer: config.OIDC_ISSUER, audience: config.OIDC_AUDIENCE, jwksUrl: config.OIDC_JWKS_URL }),
    devices,
    authority,
    allowedOrigins: config.ALLOWED_ORIGINS,
    recheckMs: config.RECHECK_SECONDS * 1000,
    audit: new AuditLog(config.AUDIT_LOG),
    logger,
    ssh: { user: config.SSH_USER, port: config.SSH_PORT, privateKey: fs.readFileSync(config.SSH_KEY_FILE), netns: config.WG_NETNS },
    idleTimeoutMs: config.IDLE_TIMEOUT_SECONDS * 1000,
    maxSessionMs: config.MAX_SESSION_SECONDS * 1000,
    maxSessionsPerUser: config.MAX_SESSIONS_PER_USER,
    transcriptDir: config.TRANSCRIPT_DIR,
  });
  const server = createTerminalServer(gateway, { issuer: config.OIDC_ISSUER, clientId: config.OIDC_CLIENT_ID, tokenUrl: config.OIDC_TOKEN_URL });
  await new Promise<void>((resolve, reject) => server.listen(config.LISTEN_PORT, config.LISTEN_HOST, resolve).on('error', reject));
  const health = await startHealthServer({ host: config.HEALTH_HOST, port: config.HEALTH_PORT, logger, checks: { keycloak: () => keycloak.ping(), directory: () => directory.ping() } });
  logger.info({ url: `http://${config.LISTEN_HOST}:${config.LISTEN_PORT}/?device=<id>` }, 'terminal gateway started');
  return { logger, servers: [server, health], stop: async () => void gateway.close() };
});
