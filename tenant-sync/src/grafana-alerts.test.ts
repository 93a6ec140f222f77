import type { Server } from 'node:http';
import path from 'node:path';
import { GrafanaClient } from '@cdm/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGrafanaFake } from '../../stack/src/fakes/grafana/fake.ts';
import { listen } from '../../stack/src/fakes/server.ts';
import { loadAlertRules, type AlertRuleFile } from './alert-rules.ts';
import { tenant } from './fixtures.test-helpers.ts';
import { DATASOURCE_UID } from './grafana-plan.ts';
import { GrafanaSync } from './grafana-sync.ts';

/**
 * The repo's alert rules through GrafanaSync against the Grafana contract fake, which checks each
 * request body against Grafana's OpenAPI spec: created in the tenant's org, left alone while in
 * line, updated in place when the file changes.
 */
let server: Server;
let grafana: GrafanaClient;
let orgId: number;
const acme = tenant('g-acme', 'acme');
const rules = loadAlertRules(path.resolve(import.meta.dirname, '..', '..', 'grafana-dashboards'));
const tokens = {
  activeReadTokens: async () => new Map([['g-acme', ['r1']]]),
  mintReadToken: async () => ({ id: 'r1', token: 't', org: 'cdm', bucket: 'cdm-g-acme' }),
  deleteToken: async () => undefined,
  readTokenIds: async () => [],
};
const sync = (alertRules: AlertRuleFile[]) => new GrafanaSync({ grafana, tokens, adminLogin: 'admin', influxUrl: 'http://influx:8086', influxOrg: 'cdm', dashboards: [], alertRules });
async function pass(s: GrafanaSync) {
  const plan = s.plan([acme], await s.read(), new Set());
  await s.apply('g-acme', plan);
  return plan;
}

beforeAll(async () => {
  ({ server } = await listen(createGrafanaFake().app).then((r) => {
    grafana = new GrafanaClient({ baseURL: r.url, username: 'admin', password: 'admin', retries: 0 });
    return r;
  }));
  // The org as an earlier pass left it: our data source with a live read token.
  orgId = await grafana.createOrg('acme');
  await grafana.createDataSource(orgId, {
    uid: DATASOURCE_UID,
    name: 'InfluxDB (cdm)',
    type: 'influxdb',
    url: 'http://influx:8086',
    access: 'proxy',
    jsonData: { version: 'Flux', organization: 'cdm', defaultBucket: 'cdm-g-acme', cdmTenantId: 'g-acme', cdmTokenId: 'r1' },
  });
});
afterAll(() => server?.close());

describe('GrafanaSync alert rules', () => {
  it('creates every rule of the repo in the tenant org, in folder cdm, then has nothing to do', async () => {
    expect(rules.length).toBeGreaterThanOrEqual(7);
    const plan = await pass(sync(rules));
    expect(plan.filter((a) => a.kind === 'save-alert-rule')).toHaveLength(rules.length);
    const made = await grafana.listAlertRules(orgId);
    expect(made.map((r) => r.uid).sort()).toEqual(rules.map((r) => `${r.uid}-o${orgId}`).sort());
    expect(made.every((r) => r.folderUID === 'cdm' && r.ruleGroup === 'cdm-fleet-health')).toBe(true);
    expect(await pass(sync(rules))).toEqual([]);
  });

  it('updates a rule whose file changed, keeping its uid', async () => {
    const changed = rules.map((r) => (r.uid === 'cdm-signal-weak' ? { ...r, sha: 'changed00000', rule: { ...r.rule, for: '30m' } } : r));
    expect((await pass(sync(changed))).map((a) => a.kind === 'save-alert-rule' && a.existingUid)).toEqual([`cdm-signal-weak-o${orgId}`]);
    const r = await grafana.getAlertRule(orgId, `cdm-signal-weak-o${orgId}`);
    expect(r).toMatchObject({ for: '30m', annotations: { cdm_rule: 'cdm-signal-weak', cdm_sha: 'changed00000' } });
    expect(await grafana.listAlertRules(orgId)).toHaveLength(rules.length);
  });
});
