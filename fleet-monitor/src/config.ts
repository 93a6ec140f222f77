import { z } from 'zod';
import { databaseEnv, durationSchema, healthEnv, influxdbEnv, thingsboardEnv } from '@cdm/common';

const duration = durationSchema;

/** Every variable fleet-monitor reads; `fleet-monitor --help` prints them. */
export const fleetMonitorEnv = {
  ...thingsboardEnv,
  ...influxdbEnv,
  ...healthEnv(19106),
  // Replicas: one runs the passes, elected by a lease in this database (fleet-monitor keeps no other state there).
  ...databaseEnv,
  POLL_SCHEDULE: z.string().default('0 */5 * * * *').describe('node-cron schedule of a monitoring pass (with seconds); health points arrive every few minutes'),
  OFFLINE_AFTER: duration('a device is offline when its last health point is older than this (about three health intervals)', '15m'),
  CLUSTER_WINDOW: duration('devices whose last points lie within this span of each other went offline together', '10m'),
  CLUSTER_MIN_DEVICES: z.coerce.number().int().min(2).default(5).describe('an offline cluster has at least this many devices…'),
  CLUSTER_MIN_PERCENT: z.coerce.number().min(0).max(100).default(3).describe('…and at least this share (%) of the site, region, owner or firmware version they share'),
  LOOKBACK: duration("how much health history is read: each device's own baseline", '24h'),
  QUERY_TIMEOUT: duration('how long an InfluxDB query may take (the first pass reads LOOKBACK of every device)', '2m'),
  BUCKET: duration('health is compared per bucket of this length (InfluxDB aggregates the points)', '30m'),
  LATE_ARRIVALS: duration(
    'how late a health point may reach InfluxDB and still be counted in its bucket by the running monitor (each pass re-reads the buckets this far back; a restart reads everything again)',
    '10m',
  ),
  RECENT: duration("the latest span judged against the device's baseline and its cohort", '1h'),
  MIN_HISTORY_BUCKETS: z.coerce.number().int().min(2).default(6).describe('a device is judged once it has this many baseline buckets'),
  MIN_COHORT: z.coerce.number().int().min(3).default(10).describe('a cohort (same firmware and region) smaller than this is widened to the tenant'),
  MIN_ERRORS: z.coerce.number().int().min(1).default(5).describe('errors a device needs in RECENT before its error rate is judged'),
  RAISE_SCORE: z.coerce.number().positive().default(5).describe('raise "Unusual Values" when a metric is this many robust σ off both its own baseline and its cohort'),
  CLEAR_SCORE: z.coerce.number().positive().default(2.5).describe('clear it once every metric is back under this (hysteresis)'),
  MAX_NEW_ALARMS: z.coerce.number().int().min(1).default(20).describe('at most this many new "Unusual Values" alarms per tenant per pass, the worst first'),
};

export const fleetMonitorConfig = z.object(fleetMonitorEnv).refine((c) => c.CLEAR_SCORE < c.RAISE_SCORE, { message: 'CLEAR_SCORE must be below RAISE_SCORE' });
export type FleetMonitorConfig = z.infer<typeof fleetMonitorConfig>;
