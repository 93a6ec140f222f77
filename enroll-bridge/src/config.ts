import { z } from 'zod';
import { databaseEnv, hawkbitEnv, healthEnv, keycloakEnv, stepcaEnv, thingsboardEnv, wireguardEnv } from '@cdm/common';

/** Every variable enroll-bridge reads; `enroll-bridge --help` prints them. */
export const enrollBridgeEnv = {
  ...stepcaEnv,
  // The admin API's authority: who is admin of which tenant (a client with view-users, query-groups).
  ...keycloakEnv,
  ...thingsboardEnv,
  ...hawkbitEnv,
  ...wireguardEnv,
  ...healthEnv(19102),
  DATA_DIR: z.string().min(1).describe('durable store of device identity (owner of device id, serial, WireGuard address); with DATABASE_URL only scratch'),
  ...databaseEnv,
  TENANT_TOKEN_DIR: z.string().min(1).describe("tenant-sync's TOKEN_STORE_DIR: device InfluxDB write tokens handed out at enrollment (secret)"),
  API_HOST: z.string().default('0.0.0.0').describe('address of the device enrollment API'),
  API_PORT: z.coerce.number().int().min(0).max(65535).default(8443).describe('port of the device enrollment API'),
  API_TLS_CERT_FILE: z.string().optional().describe('TLS certificate (PEM chain) of the enrollment API; without it the API speaks plain HTTP (only behind a TLS proxy)'),
  API_TLS_KEY_FILE: z.string().optional().describe('its private key (secret)'),
  RATE_LIMIT_PER_ADDRESS: z.coerce.number().int().min(1).default(30).describe('enrollment requests per minute per source address'),
  RATE_LIMIT_PER_CLAIM: z.coerce.number().int().min(1).default(600).describe('enrollment requests per minute per claim'),
  ADMIN_OIDC_ISSUER: z
    .string()
    .url()
    .optional()
    .describe(
      'Keycloak realm URL whose access tokens the admin API (/v1/admin) and the device directory (/v1/directory on the health port, audience cdm-directory) accept, e.g. https://sso.example.com/realms/cdm; unset: neither',
    ),
  ADMIN_OIDC_AUDIENCE: z.string().default('cdm-enroll').describe('audience the admin API requires in those tokens'),
  ADMIN_OIDC_JWKS_URL: z.string().url().optional().describe("where the realm's signing keys are, if not <issuer>/protocol/openid-connect/certs"),
  TENANT_PARENT_GROUP: z.string().default('/tenants').describe('Keycloak group whose subgroups are tenants (as tenant-sync)'),
  TERMINAL_GATEWAY_PUBLIC_KEY_FILE: z
    .string()
    .optional()
    .describe("the terminal gateway's SSH public key (OpenSSH line); devices install it at enrollment, restricted to TERMINAL_GATEWAY_FROM. Unset: no remote terminal"),
  TERMINAL_GATEWAY_FROM: z
    .string()
    .regex(/^[0-9.]+$/)
    .optional()
    .describe("address the gateway's SSH connections come from (default: the hub's address, the first of WG_POOL_CIDR)"),
  TENANT_DEVICE_QUOTA: z.coerce.number().int().min(1).default(10_000).describe('devices a tenant may hold (not decommissioned): a leaked claim cannot take the whole address pool'),
  PEER_SYNC_SCHEDULE: z
    .string()
    .default('*/5 * * * *')
    .describe("node-cron schedule of the hub's peer check: every device's peer as the store says (a hub that restarted empty, another replica's changes); runs on every replica"),
  REPAIR_SCHEDULE: z.string().default('*/10 * * * *').describe('node-cron schedule of the repair pass (finishes half-done enrollments and decommissions)'),
};

export const enrollBridgeConfig = z.object(enrollBridgeEnv).refine((c) => !c.API_TLS_CERT_FILE === !c.API_TLS_KEY_FILE, {
  message: 'API_TLS_CERT_FILE and API_TLS_KEY_FILE go together',
  path: ['API_TLS_KEY_FILE'],
});
export type EnrollBridgeConfig = z.infer<typeof enrollBridgeConfig>;
