import { describe, expect, it } from 'vitest';
import { person, tenant } from './fixtures.test-helpers.ts';
import { planGrafana, purgeGrafana, type GrafanaPlanContext, type GrafanaState } from './grafana-plan.ts';

const ctx: GrafanaPlanContext = {
  adminLogin: 'admin',
  influxUrl: 'http://influx:8086',
  influxOrg: 'cdm',
  dashboards: [{ uid: 'fleet', title: 'Fleet', sha: 'aaa', json: {} }],
};
const adam = person('adam');
const alice = person('alice');
const oscar = person('oscar');
const acme = tenant('g-acme', 'acme', { admins: [adam], operators: [alice, adam], oncall: [oscar, alice] });
const inLine = (): GrafanaState => ({
  tenants: [
    {
      cdmId: 'g-acme',
      orgId: 7,
      name: 'acme',
      datasource: { url: ctx.influxUrl, organization: 'cdm', defaultBucket: 'cdm-g-acme', tokenId: 'r1' },
      users: [
        { userId: 1, login: 'admin', email: 'admin@localhost', role: 'Admin' },
        { userId: 2, login: 'adam', email: adam.email, role: 'Admin' },
        { userId: 3, login: 'alice', email: alice.email, role: 'Editor' },
        { userId: 4, login: 'oscar', email: oscar.email, role: 'Viewer' },
      ],
      dashboards: { fleet: 'aaa' },
    },
  ],
  unclaimed: [],
  readTokens: new Map([['g-acme', ['r1']]]),
});

describe('planGrafana', () => {
  it('is empty when Grafana is in line (the strongest role wins; the server admin is never touched)', () => {
    expect(planGrafana([acme], inLine(), ctx)).toEqual([]);
  });

  it('builds a new tenant: org, data source with a fresh read token, people, dashboards', () => {
    const plan = planGrafana([acme], { tenants: [], unclaimed: [], readTokens: new Map() }, ctx);
    expect(plan.map((a) => a.kind)).toEqual(['create-org', 'set-datasource', 'add-user', 'add-user', 'add-user', 'save-dashboard']);
    expect(plan.filter((a) => a.kind === 'add-user').map((a) => a.kind === 'add-user' && `${a.person.login}:${a.role}`)).toEqual(['oscar:Viewer', 'alice:Editor', 'adam:Admin']);
  });

  it('adopts an org of the same name that has no cdm data source instead of failing on a duplicate', () => {
    const plan = planGrafana([acme], { tenants: [], unclaimed: [{ orgId: 9, name: 'acme' }], readTokens: new Map() }, ctx);
    expect(plan[0]).toEqual({ kind: 'adopt-org', cdmId: 'g-acme', orgId: 9, name: 'acme' });
  });

  it('corrects hand edits: org renamed, role changed, stranger added, data source edited or token deleted', () => {
    const s = inLine();
    const t = s.tenants[0]!;
    t.name = 'acme (old)';
    t.users[2]!.role = 'Admin';
    t.users.push({ userId: 5, login: 'eve', email: 'eve@example.com', role: 'Editor' });
    t.datasource.url = 'http://elsewhere:8086';
    expect(planGrafana([acme], s, ctx)).toEqual([
      { kind: 'rename-org', cdmId: 'g-acme', orgId: 7, name: 'acme' },
      { kind: 'set-datasource', cdmId: 'g-acme', mintToken: false, why: 'edited by hand' },
      { kind: 'set-role', cdmId: 'g-acme', userId: 3, email: alice.email, role: 'Editor' },
      { kind: 'remove-user', cdmId: 'g-acme', userId: 5, email: 'eve@example.com', why: 'no cdm role in this tenant' },
    ]);
    s.readTokens = new Map();
    expect(planGrafana([acme], s, ctx)[1]).toMatchObject({ kind: 'set-datasource', mintToken: true });
  });

  it('re-imports a dashboard whose file changed', () => {
    expect(planGrafana([acme], inLine(), { ...ctx, dashboards: [{ uid: 'fleet', title: 'Fleet', sha: 'bbb', json: {} }] })).toEqual([
      { kind: 'save-dashboard', cdmId: 'g-acme', uid: 'fleet', title: 'Fleet' },
    ]);
  });

  it('creates the alert rules in a new org and updates those whose file changed, keeping their Grafana uid', () => {
    const rules = [
      { uid: 'battery', title: 'Battery', ruleGroup: 'g', sha: 's1', rule: {} as never },
      { uid: 'signal', title: 'Signal', ruleGroup: 'g', sha: 's2', rule: {} as never },
    ];
    const withRules = { ...ctx, alertRules: rules };
    const fresh = planGrafana([acme], { tenants: [], unclaimed: [], readTokens: new Map() }, withRules);
    expect(fresh.filter((a) => a.kind === 'save-alert-rule')).toEqual([
      { kind: 'save-alert-rule', cdmId: 'g-acme', rule: 'battery', title: 'Battery' },
      { kind: 'save-alert-rule', cdmId: 'g-acme', rule: 'signal', title: 'Signal' },
    ]);
    const s = inLine();
    s.tenants[0]!.alertRules = { battery: { uid: 'battery-o7', sha: 's1' }, signal: { uid: 'signal-o7', sha: 'old' } };
    expect(planGrafana([acme], s, withRules)).toEqual([{ kind: 'save-alert-rule', cdmId: 'g-acme', rule: 'signal', title: 'Signal', existingUid: 'signal-o7' }]);
    s.tenants[0]!.alertRules = {};
    expect(planGrafana([acme], s, withRules).map((a) => a.kind === 'save-alert-rule' && 'existingUid' in a)).toEqual([false, false]);
  });

  it('removes the people of a deleted tenant but keeps its org and dashboards', () => {
    const plan = planGrafana([], inLine(), ctx);
    expect(plan.map((a) => a.kind)).toEqual(['remove-user', 'remove-user', 'remove-user']);
    expect(planGrafana([], inLine(), ctx, new Set(['g-acme']))).toEqual([]);
    expect(purgeGrafana('g-acme', inLine())).toEqual([{ kind: 'delete-org', cdmId: 'g-acme', orgId: 7, name: 'acme' }]);
  });
});
