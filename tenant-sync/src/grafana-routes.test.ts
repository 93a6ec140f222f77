import { describe, expect, it } from 'vitest';
import { person, tenant } from './fixtures.test-helpers.ts';
import { DEFAULT_RECEIVER, desiredRoutes, planRoutes, treeKey, type GrafanaRoutesState } from './grafana-routes.ts';

const o = { webhookUrl: 'http://hooks.example/cdm', escalateAfterS: 900 };
const acme = tenant('g-acme', 'acme', { operators: [person('olga')], oncall: [person('oscar'), person('otto')] });

/** What Grafana holds after a plan (uids = urls), with fields Grafana adds to the tree. */
function after(d: typeof acme): GrafanaRoutesState {
  const w = desiredRoutes(d, o);
  return { points: w.points.map((p) => ({ uid: p.url, ...p })), tree: { ...w.tree, provenance: 'api' } as GrafanaRoutesState['tree'] };
}

describe('Grafana escalation routes', () => {
  it('a new org: one webhook per person under two contact points, then the tree: operators for all, on-call for critical after the delay', () => {
    const plan = planRoutes(acme, undefined, o);
    expect(plan.map((a) => a.kind)).toEqual(['create-contact-point', 'create-contact-point', 'create-contact-point', 'put-policy-tree']);
    expect(plan[1]).toMatchObject({ name: 'cdm oncall', url: 'http://hooks.example/cdm/g-acme/oncall/oscar' });
    expect(plan[3]).toMatchObject({
      tree: {
        receiver: 'cdm operators',
        routes: [
          { receiver: 'cdm operators', object_matchers: [['severity', '=', 'critical']], continue: true },
          { receiver: 'cdm oncall', object_matchers: [['severity', '=', 'critical']], group_wait: '900s' },
        ],
      },
    });
  });

  it('plans nothing when Grafana holds it (its own additions to the tree ignored)', () => {
    expect(planRoutes(acme, after(acme), o)).toEqual([]);
  });

  it('one on-call person leaving removes only their webhook; the last one leaving rewrites the tree first', () => {
    expect(planRoutes({ ...acme, oncall: [person('oscar')] }, after(acme), o).map((a) => a.kind)).toEqual(['delete-contact-point']);
    expect(planRoutes({ ...acme, oncall: [] }, after(acme), o).map((a) => a.kind)).toEqual(['put-policy-tree', 'delete-contact-point', 'delete-contact-point']);
  });

  it('without operators the root stays Grafana’s default contact point; a changed delay rewrites the tree', () => {
    expect(desiredRoutes({ ...acme, operators: [] }, o).tree.receiver).toBe(DEFAULT_RECEIVER);
    expect(planRoutes(acme, after(acme), { ...o, escalateAfterS: 60 }).map((a) => a.kind)).toEqual(['put-policy-tree']);
    expect(treeKey(undefined)).not.toBe(treeKey(desiredRoutes(acme, o).tree));
  });

  it('leaves contact points that are not cdm’s alone', () => {
    const have = after(acme);
    have.points.push({ uid: 'x', name: 'team pager', url: 'http://pager.example' });
    expect(planRoutes(acme, have, o)).toEqual([]);
  });
});
