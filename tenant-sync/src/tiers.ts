import { HEALTH_FIELDS, HEALTH_MEASUREMENT, tenantBucket } from '@cdm/common';

/**
 * Retention tiers per tenant: the raw bucket (what devices write, kept INFLUXDB_RETENTION_DAYS)
 * and a rollup bucket of ROLLUP_EVERY aggregates (kept ROLLUP_RETENTION_DAYS), filled by an
 * InfluxDB task; days leaving the hot tier go to the cold archive (cold-export.ts).
 */
export interface TierPolicy {
  /** The rollup period, a Flux duration (e.g. 5m). */
  every: string;
  retentionSeconds: number;
}

/** Not matched by the raw buckets' pattern (`cdm-<id>`): a rollup is never taken for a tenant. */
export const rollupBucket = (cdmId: string) => `${tenantBucket(cdmId)}.rollup`;
export const rollupTaskName = (cdmId: string) => `cdm-${cdmId}-rollup`;

/** How each health field is rolled up: gauges averaged, lows kept low, counts summed, states last. */
export const ROLLUP_FN: Record<keyof typeof HEALTH_FIELDS, 'mean' | 'min' | 'sum' | 'last'> = {
  battery_pct: 'mean',
  signal_dbm: 'mean',
  error_rate: 'mean',
  battery_min_pct: 'min',
  signal_min_dbm: 'min',
  samples: 'sum',
  errors: 'sum',
  uptime_s: 'last',
  sw_version: 'last',
  sw_version_code: 'last',
  update_failures: 'last',
};

/**
 * Pure: the task that fills a tenant's rollup bucket. Each run aggregates the two complete periods
 * before `now` (a late point is folded in once more; a rerun writes the same values), windows
 * labelled by their end as aggregateWindow does. The `_time < stop` filter keeps a point at the
 * boundary out: InfluxDB 1.8's range() includes its stop.
 */
export function rollupFlux(cdmId: string, p: Pick<TierPolicy, 'every'>, org: string): string {
  const byFn = new Map<string, string[]>();
  for (const [field, fn] of Object.entries(ROLLUP_FN)) byFn.set(fn, [...(byFn.get(fn) ?? []), field]);
  const streams = [...byFn].map(
    ([fn, fields]) => `${fn}s = raw |> filter(fn: (r) => ${fields.map((f) => `r._field == "${f}"`).join(' or ')}) |> aggregateWindow(every: ${p.every}, fn: ${fn}, createEmpty: false)`,
  );
  return [
    'import "date"',
    'import "experimental"',
    '',
    `option task = {name: "${rollupTaskName(cdmId)}", every: ${p.every}, offset: 1m}`,
    '',
    `stop = date.truncate(t: now(), unit: ${p.every})`,
    `start = experimental.subDuration(d: ${p.every}, from: experimental.subDuration(d: ${p.every}, from: stop))`,
    `raw = from(bucket: "${tenantBucket(cdmId)}")`,
    '  |> range(start: start, stop: stop)',
    '  |> filter(fn: (r) => r._time < stop)',
    `  |> filter(fn: (r) => r._measurement == "${HEALTH_MEASUREMENT}")`,
    ...streams,
    `union(tables: [${[...byFn.keys()].map((fn) => `${fn}s`).join(', ')}])`,
    `  |> to(bucket: "${rollupBucket(cdmId)}", org: "${org}")`,
    '',
  ].join('\n');
}
