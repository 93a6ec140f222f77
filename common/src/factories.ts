import type { z } from 'zod';
import type { RequestObserver } from './http.ts';
import { GrafanaClient } from './clients/grafana.ts';
import { HawkbitClient } from './clients/hawkbit.ts';
import { InfluxClient } from './clients/influxdb.ts';
import { KeycloakClient } from './clients/keycloak.ts';
import { StepCaClient, decryptProvisionerKey, readEncryptedKey } from './clients/stepca.ts';
import { ThingsBoardClient } from './clients/thingsboard.ts';
import { WireGuardClient } from './clients/wireguard.ts';
import type { grafanaEnv, hawkbitEnv, influxdbEnv, keycloakEnv, stepcaEnv, thingsboardEnv, wireguardEnv } from './upstream-config.ts';

/** Builds each upstream client from its validated env fragment; used by the composition roots. */
type Env<S extends z.ZodRawShape> = z.infer<z.ZodObject<S>>;
/** What a composition root may add to every client (tests and benchmarks count requests with it). */
export interface ClientExtras {
  observer?: RequestObserver;
}

export const keycloakFrom = (c: Env<typeof keycloakEnv>) =>
  new KeycloakClient({ baseURL: c.KEYCLOAK_URL, realm: c.KEYCLOAK_REALM, clientId: c.KEYCLOAK_CLIENT_ID, clientSecret: c.KEYCLOAK_CLIENT_SECRET });

export const thingsboardFrom = (c: Env<typeof thingsboardEnv>, x: ClientExtras = {}) =>
  new ThingsBoardClient({ baseURL: c.THINGSBOARD_URL, username: c.THINGSBOARD_USERNAME, password: c.THINGSBOARD_PASSWORD, ...x });

export const hawkbitFrom = (c: Env<typeof hawkbitEnv>, x: ClientExtras = {}) => new HawkbitClient({ baseURL: c.HAWKBIT_URL, username: c.HAWKBIT_USERNAME, password: c.HAWKBIT_PASSWORD, ...x });

export const grafanaFrom = (c: Env<typeof grafanaEnv>, x: ClientExtras = {}) => new GrafanaClient({ baseURL: c.GRAFANA_URL, username: c.GRAFANA_USERNAME, password: c.GRAFANA_PASSWORD, ...x });

export const influxFrom = (c: Env<typeof influxdbEnv>, x: ClientExtras = {}) => new InfluxClient({ baseURL: c.INFLUXDB_URL, token: c.INFLUXDB_TOKEN, ...x });

export const wireguardFrom = (c: Env<typeof wireguardEnv>) => new WireGuardClient({ interface: c.WG_INTERFACE, netns: c.WG_NETNS });

/** Decrypts the provisioner key and pins the root; fails at start-up rather than at first enrollment. */
export async function stepcaFrom(c: Env<typeof stepcaEnv>): Promise<StepCaClient> {
  const jwe = readEncryptedKey(c.STEPCA_PROVISIONER_KEY_FILE, c.STEPCA_PROVISIONER);
  const provisioner = await decryptProvisionerKey(c.STEPCA_PROVISIONER, jwe, c.STEPCA_PROVISIONER_PASSWORD);
  return StepCaClient.connect({ baseURL: c.STEPCA_URL, rootFingerprint: c.STEPCA_ROOT_FINGERPRINT, provisioner });
}
