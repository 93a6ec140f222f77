import { z } from 'zod';
import { secret } from './config.ts';

/**
 * Environment variables for each upstream, shared by the bridges so the same name means the same
 * thing everywhere. Each bridge's config.ts picks the fragments it needs. Descriptions are the
 * documentation (`describe`), secrets are marked with `secret()`.
 */
const httpUrl = (doc: string) => z.string().url().describe(doc);

export const keycloakEnv = {
  KEYCLOAK_URL: httpUrl('Keycloak base URL, e.g. http://keycloak:8080'),
  KEYCLOAK_REALM: z.string().default('cdm').describe('realm holding tenants and people'),
  KEYCLOAK_CLIENT_ID: z.string().min(1).describe('confidential client with a service account'),
  KEYCLOAK_CLIENT_SECRET: secret('that client’s secret'),
};

export const thingsboardEnv = {
  THINGSBOARD_URL: httpUrl('ThingsBoard base URL, e.g. http://thingsboard:8080'),
  THINGSBOARD_USERNAME: z.string().min(1).describe('system administrator login (creates tenants)'),
  THINGSBOARD_PASSWORD: secret('its password'),
};

export const hawkbitEnv = {
  HAWKBIT_URL: httpUrl('hawkBit base URL, e.g. http://hawkbit:8080'),
  HAWKBIT_USERNAME: z.string().min(1).describe('management API user'),
  HAWKBIT_PASSWORD: secret('its password'),
};

export const grafanaEnv = {
  GRAFANA_URL: httpUrl('Grafana base URL, e.g. http://grafana:3000'),
  GRAFANA_USERNAME: z.string().min(1).describe('Grafana server admin'),
  GRAFANA_PASSWORD: secret('its password'),
};

export const influxdbEnv = {
  INFLUXDB_URL: httpUrl('InfluxDB 2 base URL, e.g. http://influxdb:8086'),
  INFLUXDB_TOKEN: secret('operator token (manages buckets and tokens)'),
  INFLUXDB_ORG: z.string().default('cdm').describe('organisation holding the tenant buckets'),
};

export const stepcaEnv = {
  STEPCA_URL: httpUrl('step-ca base URL, e.g. https://step-ca:9000'),
  STEPCA_ROOT_FINGERPRINT: z
    .string()
    .regex(/^[0-9a-f]{64}$/, 'a lowercase hex SHA-256 fingerprint')
    .describe('SHA-256 of the root certificate; the root is fetched and checked against it'),
  STEPCA_PROVISIONER: z.string().default('cdm-bridge').describe('JWK provisioner that signs one-time tokens'),
  STEPCA_PROVISIONER_KEY_FILE: z.string().min(1).describe('file with the provisioner’s encrypted JWK (the encryptedKey of ca.json, or ca.json itself)'),
  STEPCA_PROVISIONER_PASSWORD: secret('password that decrypts the provisioner key'),
};

export const wireguardEnv = {
  WG_INTERFACE: z
    .string()
    .regex(/^[a-zA-Z0-9_=+.-]{1,15}$/)
    .default('wg0')
    .describe('server interface'),
  WG_NETNS: z.string().optional().describe('network namespace of the interface (local stack: cdm-wg)'),
  WG_POOL_CIDR: z.string().default('10.77.0.0/16').describe('device address pool'),
  WG_ENDPOINT: z.string().min(1).describe('host:port devices connect to'),
};

/** Where a bridge keeps its state when it runs as more than one replica (db.ts). */
export const databaseEnv = {
  LEASE_SECONDS: z.coerce
    .number()
    .int()
    .min(2)
    .max(3600)
    .default(30)
    .describe('with DATABASE_URL: how long a poller leader’s lease lasts unrenewed; a standby replica takes over this long after the leader stops'),
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'a postgres:// URL')
    .optional()
    .describe(
      'secret: PostgreSQL URL (postgres://user:password@host:5432/db; its own database per service) for state that survives the host and is shared by replicas — pollers then elect a leader; unset: a SQLite file in DATA_DIR, one instance',
    ),
  PGPASSWORD: z.string().optional().describe('secret: the password for DATABASE_URL when the URL carries none (so it needs no URL escaping)'),
};

export const healthEnv = (port: number) => ({
  HEALTH_HOST: z.string().default('127.0.0.1').describe('address of /healthz and /metrics'),
  HEALTH_PORT: z.coerce.number().int().min(0).max(65535).default(port).describe('port of /healthz and /metrics'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace']).default('info').describe('pino level'),
});

/** Lists every variable of a schema shape with its description, for `--help` and the README. */
export function describeEnv(shape: Record<string, z.ZodType>): string {
  return Object.entries(shape)
    .map(([k, v]) => `  ${k.padEnd(30)} ${v.description ?? ''}`)
    .join('\n');
}
