import { describe, expect, it } from 'vitest';
import { renderMetrics, runChecks } from './health.ts';

describe('runChecks', () => {
  it('reports ok when every check passes and degraded with the reason otherwise', async () => {
    const ok = await runChecks({ a: async () => {} });
    expect(ok).toEqual({ status: 'ok', checks: { a: { ok: true } } });
    const bad = await runChecks({
      a: async () => {},
      b: async () => {
        throw new Error('hawkBit: GET /rest/v1/system/configs failed (HTTP 401)');
      },
    });
    expect(bad.status).toBe('degraded');
    expect(bad.checks.b).toEqual({ ok: false, error: 'hawkBit: GET /rest/v1/system/configs failed (HTTP 401)' });
  });

  it('renders Prometheus text with one gauge per upstream', async () => {
    const report = await runChecks({ keycloak: async () => {}, hawkbit: async () => Promise.reject(new Error('x')) });
    const text = renderMetrics(report, { cdm_reconcile_failures: 2 });
    expect(text).toContain('cdm_upstream_up{upstream="keycloak"} 1');
    expect(text).toContain('cdm_upstream_up{upstream="hawkbit"} 0');
    expect(text).toContain('cdm_reconcile_failures 2');
  });
});
