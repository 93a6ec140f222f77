import { createLogger, TenantNotReady, UpstreamError, type InfluxClient, type TenantActors } from '@cdm/common';
import { describe, expect, it } from 'vitest';
import { FleetMonitor } from './monitor.ts';

const params = {
  clusters: { offlineAfterMs: 900_000, windowMs: 600_000, minDevices: 5, minPercent: 3 },
  outliers: { bucketMs: 1_800_000, recentMs: 3_600_000, minHistory: 6, minCohort: 10, minErrors: 5, raiseScore: 5, clearScore: 2.5, maxNew: 20 },
};

/** The pass's own error handling, with upstreams that fail as the real ones do (the decisions: clusters/outliers tests; the whole: monitor.e2e). */
function monitor(health: () => Promise<never>) {
  return new FleetMonitor({
    tenants: { all: async () => ['a', 'b', 'c'].map((cdmId) => ({ cdmId, name: cdmId, disabled: false })) },
    actors: {} as TenantActors,
    reader: { devices: async () => [] },
    health: { get: health, retain: () => undefined },
    influx: {} as InfluxClient,
    influxOrg: 'cdm',
    ...params,
    logger: createLogger('t', { level: 'silent' }),
  });
}

describe('FleetMonitor.pass', () => {
  it('skips a tenant tenant-sync has not finished (no bridge admin, no bucket) without counting a failure', async () => {
    expect(await monitor(() => Promise.reject(new TenantNotReady('no bridge admin yet'))).pass()).toMatchObject({ tenants: 0, failed: 0 });
    expect(await monitor(() => Promise.reject(new UpstreamError('InfluxDB', 'POST /api/v2/query', 404, 'could not find bucket'))).pass()).toMatchObject({ tenants: 0, failed: 0 });
  });

  it('counts any other failure per tenant and goes on with the others', async () => {
    expect(await monitor(() => Promise.reject(new UpstreamError('InfluxDB', 'POST /api/v2/query', 500, 'internal error'))).pass()).toMatchObject({ tenants: 0, failed: 3 });
  });
});
