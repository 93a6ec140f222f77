import fs from 'node:fs';
import path from 'node:path';
import { PORTS } from './paths.ts';
import type { Endpoint } from './types.ts';

export const BRIDGES = ['tenant-sync', 'enroll-bridge', 'ota-bridge', 'fleet-api', 'fleet-monitor'] as const;

/** Where tenant-sync's escalation rules have ThingsBoard post: `npm start` runs a receiver there. */
export const notifyUrl = () => `http://127.0.0.1:${PORTS.notifyReceiver}/notify`;
export type Bridge = (typeof BRIDGES)[number];

/** Environment for each bridge pointing at the local stack (the same variables ops set in compose). */
export function bridgeEnv(e: Record<string, Endpoint>, stateDir: string): Record<Bridge, Record<string, string>> {
  const x = (name: string) => {
    const ep = e[name];
    if (!ep) throw new Error(`the local stack has no ${name}`);
    return { url: ep.url, c: ep.credentials ?? {}, x: ep.extra ?? {} };
  };
  const kc = x('keycloak');
  const tb = x('thingsboard');
  const hb = x('hawkbit');
  const gf = x('grafana');
  const ix = x('influxdb2');
  const ca = x('stepca');
  const wg = x('wireguard');
  const thingsboard = { THINGSBOARD_URL: tb.url, THINGSBOARD_USERNAME: tb.c.username!, THINGSBOARD_PASSWORD: tb.c.password! };
  const hawkbit = { HAWKBIT_URL: hb.url, HAWKBIT_USERNAME: hb.c.username!, HAWKBIT_PASSWORD: hb.c.password! };
  const influx = { INFLUXDB_URL: ix.url, INFLUXDB_TOKEN: ix.c.token!, INFLUXDB_ORG: ix.x.org ?? 'cdm' };
  const data = (b: Bridge) => path.join(stateDir, 'bridges', b);
  const directoryUrl = `http://127.0.0.1:${PORTS.enrollBridgeHealth}`;
  const bridgeKeycloak = { KEYCLOAK_URL: kc.url, KEYCLOAK_REALM: kc.x.realm!, KEYCLOAK_CLIENT_ID: kc.x.bridgeClientId!, KEYCLOAK_CLIENT_SECRET: kc.x.bridgeClientSecret! };
  return {
    'tenant-sync': {
      KEYCLOAK_URL: kc.url,
      KEYCLOAK_REALM: kc.x.realm!,
      KEYCLOAK_CLIENT_ID: kc.x.tenantSyncClientId!,
      KEYCLOAK_CLIENT_SECRET: kc.x.tenantSyncClientSecret!,
      ...thingsboard,
      GRAFANA_URL: gf.url,
      GRAFANA_USERNAME: gf.c.username!,
      GRAFANA_PASSWORD: gf.c.password!,
      ...influx,
      ...hawkbit,
      TOKEN_STORE_DIR: path.join(stateDir, 'tenant-tokens'),
      ESCALATION_WEBHOOK_URL: notifyUrl(),
      HEALTH_PORT: String(PORTS.tenantSyncHealth),
    },
    'enroll-bridge': {
      ...bridgeKeycloak,
      STEPCA_URL: ca.url,
      STEPCA_ROOT_FINGERPRINT: ca.x.rootFingerprint!,
      STEPCA_PROVISIONER: ca.x.provisioner!,
      STEPCA_PROVISIONER_KEY_FILE: ca.x.caJson!,
      STEPCA_PROVISIONER_PASSWORD: fs.existsSync(ca.x.provisionerPasswordFile ?? '') ? fs.readFileSync(ca.x.provisionerPasswordFile!, 'utf8').trim() : '',
      ...thingsboard,
      ...hawkbit,
      WG_INTERFACE: wg.x.interface!,
      WG_NETNS: wg.x.netns!,
      WG_POOL_CIDR: wg.x.pool!,
      WG_ENDPOINT: wg.x.deviceEndpoint!,
      DATA_DIR: data('enroll-bridge'),
      TENANT_TOKEN_DIR: path.join(stateDir, 'tenant-tokens'),
      // Where device namespaces reach the root namespace, over TLS from the stack's step-ca.
      API_HOST: wg.x.hostFromDevices!,
      API_PORT: String(PORTS.enrollApi),
      API_TLS_CERT_FILE: wg.x.enrollApiCert!,
      API_TLS_KEY_FILE: wg.x.enrollApiKey!,
      ADMIN_OIDC_ISSUER: `${kc.url}/realms/${kc.x.realm!}`,
      HEALTH_PORT: String(PORTS.enrollBridgeHealth),
    },
    'ota-bridge': {
      ...hawkbit,
      ...thingsboard,
      ...influx,
      ...bridgeKeycloak,
      // enroll-bridge's device directory: its health port, behind a cdm-bridge service token.
      DIRECTORY_URL: directoryUrl,
      DATA_DIR: data('ota-bridge'),
      HEALTH_PORT: String(PORTS.otaBridgeHealth),
      CHUNK_STORE_DIR: path.join(data('ota-bridge'), 'chunks'),
      CHUNK_STORE_PORT: String(PORTS.otaChunkStore),
    },
    'fleet-api': {
      ...thingsboard,
      ...hawkbit,
      ...bridgeKeycloak,
      OIDC_ISSUER: `${kc.url}/realms/${kc.x.realm!}`,
      DIRECTORY_URL: directoryUrl,
      // enroll-bridge's admin API on its device-facing TLS port (the stack's step-ca issued its certificate).
      ENROLL_ADMIN_URL: `https://${wg.x.hostFromDevices!}:${PORTS.enrollApi}/v1/admin`,
      ENROLL_CA_FILE: ca.x.rootCert!,
      DATA_DIR: data('fleet-api'),
      LISTEN_PORT: String(PORTS.fleetApi),
      HEALTH_PORT: String(PORTS.fleetApiHealth),
    },
    'fleet-monitor': {
      ...thingsboard,
      ...influx,
      HEALTH_PORT: String(PORTS.fleetMonitorHealth),
    },
  };
}
