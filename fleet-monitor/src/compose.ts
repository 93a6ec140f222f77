import { InfluxClient, TenantActors, TenantDirectory, thingsboardFrom, type ClientExtras, type Logger } from '@cdm/common';
import type { FleetMonitorConfig } from './config.ts';
import { FleetReader } from './fleet-reader.ts';
import { HealthCache } from './health-cache.ts';
import { FleetMonitor, type MonitorOptions } from './monitor.ts';

/** Clients and the monitor from a validated config: used by main.ts and by the e2e tests. */
export function composeFleetMonitor(config: FleetMonitorConfig, logger: Logger, o: { now?: () => number; tenants?: MonitorOptions['tenants'] } & ClientExtras = {}) {
  const extras = { observer: o.observer };
  // The first pass reads a day of every device's health: longer than a write's timeout.
  const influx = new InfluxClient({ baseURL: config.INFLUXDB_URL, token: config.INFLUXDB_TOKEN, timeoutMs: config.QUERY_TIMEOUT, ...extras });
  const clients = { thingsboard: thingsboardFrom(config, extras), influx };
  const actors = new TenantActors(clients.thingsboard);
  const reader = new FleetReader({ actors, influx, influxOrg: config.INFLUXDB_ORG });
  const monitor = new FleetMonitor({
    tenants: o.tenants ?? new TenantDirectory(clients.thingsboard),
    actors,
    reader,
    health: new HealthCache({ reader, lookbackMs: config.LOOKBACK, bucketMs: config.BUCKET, lateMs: config.LATE_ARRIVALS }),
    influx: clients.influx,
    influxOrg: config.INFLUXDB_ORG,
    clusters: { offlineAfterMs: config.OFFLINE_AFTER, windowMs: config.CLUSTER_WINDOW, minDevices: config.CLUSTER_MIN_DEVICES, minPercent: config.CLUSTER_MIN_PERCENT },
    outliers: {
      bucketMs: config.BUCKET,
      recentMs: config.RECENT,
      minHistory: config.MIN_HISTORY_BUCKETS,
      minCohort: config.MIN_COHORT,
      minErrors: config.MIN_ERRORS,
      raiseScore: config.RAISE_SCORE,
      clearScore: config.CLEAR_SCORE,
      maxNew: config.MAX_NEW_ALARMS,
    },
    logger,
    ...(o.now ? { now: o.now } : {}),
  });
  return { clients, monitor };
}
