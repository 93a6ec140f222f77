import { describe, expect, it } from 'vitest';
import { SyncStatus } from './status.ts';

describe('SyncStatus', () => {
  it("reports each system's failures of the last pass, for the systems it was given, and fails /healthz naming them", async () => {
    const s = new SyncStatus(['keycloak', 'thingsboard', 'grafana']);
    expect(Object.keys(s.gauges())).toEqual(['cdm_tenant_sync_applied_changes_total']);
    s.record({ runId: 'r1', tenants: 2, applied: 3, ms: 1500, failed: [{ system: 'grafana', cdmId: 'g1', error: 'HTTP 500' }] } as never);
    expect(s.gauges()).toMatchObject({
      'cdm_tenant_sync_last_pass_failures{system="grafana"}': 1,
      'cdm_tenant_sync_last_pass_failures{system="thingsboard"}': 0,
      cdm_tenant_sync_applied_changes_total: 3,
    });
    expect(Object.keys(s.gauges()).filter((k) => k.includes('system=')).length).toBe(3);
    await expect(s.check()).rejects.toThrow('grafana tenant g1: HTTP 500');
  });
});
