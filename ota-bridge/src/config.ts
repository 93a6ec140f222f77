import path from 'node:path';
import { z } from 'zod';
import { databaseEnv, hawkbitEnv, healthEnv, influxdbEnv, keycloakEnv, thingsboardEnv } from '@cdm/common';

const repoDashboards = path.resolve(import.meta.dirname, '..', '..', 'grafana-dashboards');

/** Every variable ota-bridge reads; `ota-bridge --help` prints them. */
export const otaBridgeEnv = {
  ...hawkbitEnv,
  ...thingsboardEnv,
  ...influxdbEnv,
  ...healthEnv(19103),
  // A service account whose tokens carry the device directory's audience (realm client cdm-bridge).
  ...keycloakEnv,
  DIRECTORY_URL: z.string().url().describe("enroll-bridge's device directory (its health port), e.g. http://127.0.0.1:19102: each device's tenant and ThingsBoard device, asked of their owner"),
  POLL_SCHEDULE: z.string().default('*/30 * * * * *').describe('node-cron schedule of the hawkBit poll (with seconds)'),
  DATA_DIR: z.string().min(1).describe('durable state: poll cursor, the actions watched and their last state, boot checks (SQLite; unused with DATABASE_URL)'),
  ...databaseEnv,
  SWEEP_SECONDS: z.coerce.number().int().min(1).default(60).describe("list hawkBit's open actions at least this often, for download/install progress (endings are found every pass)"),
  BOOT_WINDOW_SECONDS: z.coerce.number().int().min(10).default(900).describe('after hawkBit reports success, how long the device has to report the new sw_version itself before "OTA Boot Mismatch"'),
  GATE_THRESHOLD_PERCENT: z.coerce
    .number()
    .min(0)
    .max(100)
    .default(10)
    .describe('pause a running rollout, or keep a held one from its next stage, when more than this share of the devices in its started groups has an OTA Failure or Boot Mismatch alarm'),
  HOLD_EXCESS_PERCENT: z.coerce
    .number()
    .min(0)
    .max(100)
    .default(10)
    .describe(
      "hold gate: after a stage's hold, keep the next stage back when its updated devices are offline, or over a fleet alert threshold (battery, signal, error rate: the rules in DASHBOARDS_DIR/alerts), more than the tenant's other devices by this many percentage points",
    ),
  DASHBOARDS_DIR: z.string().default(repoDashboards).describe("the fleet dashboards (grafana-dashboards): the hold gate reads the alert rules' thresholds from alerts/*.json"),
  RAUC_KEYRING: z
    .string()
    .optional()
    .describe('CA bundle (PEM) that signs RAUC bundles, as on the devices: publish needs it and refuses a bundle whose signature does not verify against it (nothing else is trusted)'),
  CHUNK_STORE_DIR: z
    .string()
    .optional()
    .describe(
      "delta updates: the casync chunk store. publish copies a delta bundle's chunks here; the daemon serves it to devices on CHUNK_STORE_PORT (the devices' RAUC system.conf: [casync] storepath=<that URL>/)",
    ),
  CHUNK_STORE_HOST: z.string().default('127.0.0.1').describe('address the chunk store listens on (devices must reach it: 0.0.0.0, or behind your TLS proxy)'),
  CHUNK_STORE_PORT: z.coerce.number().int().min(0).max(65535).default(19113).describe('port of the chunk store (served only when CHUNK_STORE_DIR is set)'),
};

export const otaBridgeConfig = z.object(otaBridgeEnv);
export type OtaBridgeConfig = z.infer<typeof otaBridgeConfig>;
