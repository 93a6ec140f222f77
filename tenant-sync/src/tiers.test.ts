import { loadConfig } from '@cdm/common';
import { describe, expect, it } from 'vitest';
import { tenantSyncConfig } from './config.ts';
import { rollupFlux, runEveryProblem } from './tiers.ts';

const env = {
  ...Object.fromEntries(['KEYCLOAK', 'THINGSBOARD', 'GRAFANA', 'INFLUXDB', 'HAWKBIT'].map((s) => [`${s}_URL`, 'http://127.0.0.1:1'])),
  ...Object.fromEntries(
    [
      'KEYCLOAK_CLIENT_ID',
      'KEYCLOAK_CLIENT_SECRET',
      'THINGSBOARD_USERNAME',
      'THINGSBOARD_PASSWORD',
      'GRAFANA_USERNAME',
      'GRAFANA_PASSWORD',
      'INFLUXDB_TOKEN',
      'HAWKBIT_USERNAME',
      'HAWKBIT_PASSWORD',
    ].map((k) => [k, 'x']),
  ),
  TOKEN_STORE_DIR: '/tmp/tokens',
};

describe('the rollup task', () => {
  it('runs every ROLLUP_RUN_EVERY over the two run intervals before it, in windows of the rollup period', () => {
    const flux = rollupFlux('acme', { every: '5m', runEvery: '1h' }, 'cdm');
    expect(flux).toContain('option task = {name: "cdm-acme-rollup", every: 1h, offset: 1m}');
    expect(flux).toContain('stop = date.truncate(t: now(), unit: 1h)');
    expect(flux).toContain('start = experimental.subDuration(d: 1h, from: experimental.subDuration(d: 1h, from: stop))');
    expect(flux.match(/aggregateWindow\(every: 5m,/g)).toHaveLength(4);
    expect(rollupFlux('acme', { every: '5m' }, 'cdm')).toContain('every: 5m, offset: 1m}');
  });

  it('refuses a run interval that would cut a period in two, naming the variable', () => {
    expect(runEveryProblem('5m', '1h')).toBeUndefined();
    expect(runEveryProblem('5m', '5m')).toBeUndefined();
    expect(runEveryProblem('5m', '7m')).toMatch(/not a whole multiple/);
    expect(runEveryProblem('1h', '30m')).toMatch(/not a whole multiple/);
    expect(() => loadConfig(tenantSyncConfig, { ...env, ROLLUP_EVERY: '5m', ROLLUP_RUN_EVERY: '12m' })).toThrow(/ROLLUP_RUN_EVERY: 12m is not a whole multiple of the rollup period 5m/);
    expect(loadConfig(tenantSyncConfig, env)).toMatchObject({ ROLLUP_EVERY: '5m', ROLLUP_RUN_EVERY: '1h' });
  });
});
