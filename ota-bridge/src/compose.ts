import { DeviceDirectoryClient, hawkbitFrom, influxFrom, keycloakFrom, TenantActors, thingsboardFrom, type ClientExtras, type Logger } from '@cdm/common';
import type { OtaBridgeConfig } from './config.ts';
import { loadFleetThresholds } from './fleet-thresholds.ts';
import { HoldGate } from './hold-loop.ts';
import { OtaMirror } from './mirror.ts';
import { OtaStore } from './store.ts';
import { ThingsBoardOta } from './tb-ota.ts';

/** Store, clients and mirror from a validated config: used by main.ts and by the e2e tests. */
export async function composeOtaBridge(config: OtaBridgeConfig, logger: Logger, o: { now?: () => number } & ClientExtras = {}) {
  const store = await OtaStore.open({ url: config.DATABASE_URL, dataDir: config.DATA_DIR, log: (m) => logger.warn(m) });
  const extras = { observer: o.observer };
  const keycloak = keycloakFrom(config);
  const directory = new DeviceDirectoryClient({ baseURL: config.DIRECTORY_URL, token: () => keycloak.accessToken(), observer: o.observer });
  const clients = { hawkbit: hawkbitFrom(config, extras), thingsboard: thingsboardFrom(config, extras), influx: influxFrom(config, extras), directory };
  const tb = new ThingsBoardOta(new TenantActors(clients.thingsboard));
  const now = o.now ?? Date.now;
  const holdGate = new HoldGate({
    store,
    hawkbit: clients.hawkbit,
    tb,
    influx: clients.influx,
    influxOrg: config.INFLUXDB_ORG,
    unhealthyPct: config.GATE_THRESHOLD_PERCENT,
    excessPct: config.HOLD_EXCESS_PERCENT,
    thresholds: loadFleetThresholds(config.DASHBOARDS_DIR),
    now,
  });
  const mirror = new OtaMirror({
    store,
    hawkbit: clients.hawkbit,
    directory,
    tb,
    holdGate,
    influx: clients.influx,
    influxOrg: config.INFLUXDB_ORG,
    logger,
    bootWindowMs: config.BOOT_WINDOW_SECONDS * 1000,
    gateThresholdPct: config.GATE_THRESHOLD_PERCENT,
    sweepIntervalMs: config.SWEEP_SECONDS * 1000,
    now: o.now,
  });
  return { store, clients, mirror };
}
