import { z } from 'zod';
import { databaseEnv, hawkbitEnv, healthEnv, keycloakEnv, thingsboardEnv } from '@cdm/common';

const int = (min: number, max: number, dflt: number, doc: string) => z.coerce.number().int().min(min).max(max).default(dflt).describe(doc);

/** Every variable the fleet API reads; `fleet-api --help` prints them. */
export const fleetApiEnv = {
  // Authority (per-tenant roles) and the directory's service token: a client with view-users, query-groups.
  ...keycloakEnv,
  // Acts in each tenant as its bridge admin (shadow = attributes, commands = persistent RPC).
  ...thingsboardEnv,
  // Deployments: rollouts built by the same rules as ota-bridge publish.
  ...hawkbitEnv,
  ...healthEnv(19105),
  OIDC_ISSUER: z.string().url().describe('Keycloak realm URL whose access tokens the API accepts, e.g. https://sso.example.com/realms/cdm'),
  OIDC_AUDIENCE: z.string().default('cdm-fleet').describe('audience required in the tokens'),
  OIDC_CLIENT_ID: z.string().default('cdm-console').describe("public client the device page (/?device=<id>, opened from ThingsBoard's cdm widget) signs in with"),
  OIDC_TOKEN_URL: z.string().url().optional().describe("where the API exchanges the page's authorization code, if not <issuer>/protocol/openid-connect/token (e.g. Keycloak's internal address)"),
  OIDC_JWKS_URL: z.string().url().optional().describe("where the realm's signing keys are, if not <issuer>/protocol/openid-connect/certs"),
  TENANT_PARENT_GROUP: z.string().default('/tenants').describe('Keycloak group whose subgroups are tenants'),
  AUTHORITY_CACHE_SECONDS: int(1, 3600, 15, "how long a person's tenant roles read from Keycloak are reused"),
  DIRECTORY_URL: z.string().url().describe("enroll-bridge's device directory (its health port), e.g. http://127.0.0.1:19102"),
  ENROLL_ADMIN_URL: z.string().url().describe("enroll-bridge's admin API, e.g. https://enroll-bridge:8443/v1/admin: registration asks it for a device's claim with the person's own token"),
  ENROLL_CA_FILE: z.string().optional().describe("PEM of the CA enroll-bridge's API certificate chains to, if not a public one (the step-ca root)"),
  LISTEN_HOST: z.string().default('127.0.0.1').describe('address of the API (put TLS in front)'),
  LISTEN_PORT: z.coerce.number().int().min(0).max(65535).default(8446).describe('port of the API'),
  DATA_DIR: z.string().default('./data/fleet-api').describe('where commands, group operations and the audit trail are kept (SQLite; unused with DATABASE_URL)'),
  ...databaseEnv,
  COMMAND_EXPIRY_SECONDS: int(10, 30 * 86_400, 86_400, 'a command not delivered by then expires (default; a request may ask for less or more up to the maximum)'),
  COMMAND_MAX_EXPIRY_SECONDS: int(10, 30 * 86_400, 7 * 86_400, 'longest expiry a request may ask for'),
  GROUP_CONFIRM_ABOVE: int(1, 1_000_000, 100, 'a group operation selecting more devices needs "confirm": true'),
  GROUP_MAX_DEVICES: int(1, 1_000_000, 100_000, 'most devices one group operation may select'),
  GROUP_MAX_CONCURRENCY: int(1, 10_000, 500, 'highest concurrency a group operation may ask for'),
  LOOP_MILLISECONDS: int(100, 60_000, 1000, 'how often open commands are re-read and groups advanced'),
};

export const fleetApiConfig = z.object(fleetApiEnv);
export type FleetApiConfig = z.infer<typeof fleetApiConfig>;
