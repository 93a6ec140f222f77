import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { StackContext } from './types.ts';

export const repoDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

export function defaultContext(log: (m: string) => void = (m) => process.stderr.write(`${m}\n`)): StackContext {
  return {
    cacheDir: process.env.CDM_CACHE_DIR ?? path.join(os.homedir(), '.cache', 'cdm-stack'),
    stateDir: process.env.CDM_STATE_DIR ?? path.join(os.homedir(), '.local', 'state', 'cdm-stack'),
    repoDir,
    log,
  };
}

/** Loopback ports of the local stack; one place so nothing collides. */
export const PORTS = {
  keycloak: 18080,
  hawkbit: 18081,
  stepca: 18443,
  influxdb: 18086, // real influxd 1.8 (v2 write/query)
  influxdbFake: 18087, // InfluxDB 2 management fake, proxies write/query to 18086
  mosquitto: 18883,
  mosquittoTls: 18884,
  thingsboard: 18090,
  thingsboardMqtt: 18893, // ThingsBoard's own MQTT transport, plain (access tokens; development only)
  thingsboardMqtts: 18894, // ThingsBoard MQTT over TLS: devices authenticate with their X.509 certificate
  postgres: 18432, // private cluster for ThingsBoard
  grafanaFake: 18030,
  wireguard: 51820,
  // What `npm start` runs: the bridges' /healthz + /metrics, enroll-bridge's device-facing API, the fleet API.
  tenantSyncHealth: 19101,
  enrollBridgeHealth: 19102, // also the device directory other services ask
  otaBridgeHealth: 19103,
  otaChunkStore: 19113, // delta updates: the casync chunk store devices read
  fleetApiHealth: 19105,
  fleetMonitorHealth: 19106,
  // The local stack's notification endpoint (tenant-sync's ESCALATION_WEBHOOK_URL), run by `npm start`.
  notifyReceiver: 19107,
  enrollApi: 19443,
  fleetApi: 8446,
} as const;

export const stackJsonPath = (ctx: StackContext) => path.join(ctx.stateDir, 'stack.json');
