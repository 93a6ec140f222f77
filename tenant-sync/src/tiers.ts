import { HEALTH_FIELDS, HEALTH_MEASUREMENT, parseDuration, tenantBucket } from '@cdm/common';

/**
 * Retention tiers per tenant: the raw bucket (what devices write, kept INFLUXDB_RETENTION_DAYS)
 * and a rollup bucket of ROLLUP_EVERY aggregates (kept ROLLUP_RETENTION_DAYS), filled by an
 * InfluxDB task; days leaving the hot tier go to the cold archive (cold-export.ts).
 */
export interface TierPolicy {
  /** The rollup period, a Flux duration (e.g. 5m): one aggregate per device, field and period. */
  every: string;
  /**
   * How often the task runs (a whole multiple of `every`; default `every`). Measured on influxd
   * 1.8 (bench:tiers): a run's cost is mostly per series and run, not per point, so an hourly run
   * of 5-minute windows costs a fraction of twelve 5-minute runs; the rollup tier lags by up to
   * one run, which dashboards reading it only for ranges over 2 days do not show.
   */
  runEvery?: string;
  retentionSeconds: number;
}

/** Why a run interval does not fit the rollup period, or undefined when it does. */
export function runEveryProblem(every: string, runEvery: string): string | undefined {
  let p: number, r: number;
  try {
    [p, r] = [parseDuration(every), parseDuration(runEvery)];
  } catch (err) {
    return (err as Error).message;
  }
  if (r % p) return `${runEvery} is not a whole multiple of the rollup period ${every}: a run would cut a period in two`;
  return undefined;
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
 * Pure: the task that fills a tenant's rollup bucket. Each run aggregates the periods of the two
 * complete run intervals before `now` (a late point is folded in once more; a rerun writes the
 * same values), windows labelled by their end as aggregateWindow does. The `_time < stop` filter
 * keeps a point at the boundary out: InfluxDB 1.8's range() includes its stop.
 */
export function rollupFlux(cdmId: string, p: Pick<TierPolicy, 'every' | 'runEvery'>, org: string): string {
  const run = p.runEvery ?? p.every;
  const byFn = new Map<string, string[]>();
  for (const [field, fn] of Object.entries(ROLLUP_FN)) byFn.set(fn, [...(byFn.get(fn) ?? []), field]);
  const streams = [...byFn].map(
    ([fn, fields]) => `${fn}s = raw |> filter(fn: (r) => ${fields.map((f) => `r._field == "${f}"`).join(' or ')}) |> aggregateWindow(every: ${p.every}, fn: ${fn}, createEmpty: false)`,
  );
  return [
    'import "date"',
    'import "experimental"',
    '',
    `option task = {name: "${rollupTaskName(cdmId)}", every: ${run}, offset: 1m}`,
    '',
    `stop = date.truncate(t: now(), unit: ${run})`,
    `start = experimental.subDuration(d: ${run}, from: experimental.subDuration(d: ${run}, from: stop))`,
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
