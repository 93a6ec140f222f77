import type { KeycloakClient } from '@cdm/common';
import { createLogger } from '@cdm/common';
import { describe, expect, it } from 'vitest';
import type { DesiredTenant } from './model.ts';
import type { Action, Projection } from './projection.ts';
import { TenantSync } from './reconcile.ts';

/** Keycloak with tenants x and y, each with its role subgroups, no people: enough to drive passes. */
const realm = (roleGroups = ['admins', 'operators', 'oncall']) => {
  const created: string[] = [];
  const kc = {
    realm: 'cdm',
    getGroupByPath: async () => ({ id: 'parent' }),
    listSubGroups: async (id: string) =>
      id === 'parent'
        ? [
            { id: 'x', name: 'x' },
            { id: 'y', name: 'y' },
          ]
        : roleGroups.map((n) => ({ id: `${id}-${n}`, name: n })),
    listMembers: async () => [],
    createGroup: async (name: string, parent: string) => (created.push(`${parent}/${name}`), `${parent}-${name}`),
  };
  return { kc: kc as unknown as KeycloakClient, created };
};
const keycloak = realm().kc;
const logger = createLogger('test', { level: 'silent' });

class Recorder implements Projection<null, Action> {
  applied: string[] = [];
  constructor(
    readonly system: string,
    private readonly actions: Action[],
    private readonly fail: { read?: boolean; tenant?: string } = {},
  ) {}
  async read(): Promise<null> {
    if (this.fail.read) throw new Error(`${this.system} down`);
    return null;
  }
  plan(_d: DesiredTenant[]): Action[] {
    return this.actions;
  }
  async apply(cdmId: string, actions: Action[]): Promise<void> {
    if (cdmId === this.fail.tenant) throw new Error(`tenant ${cdmId} broke`);
    await new Promise((r) => setTimeout(r, 5));
    for (const a of actions) this.applied.push(`${a.cdmId}:${a.kind}`);
  }
  describe(a: Action) {
    return { action: a.kind };
  }
}

describe('TenantSync', () => {
  it('applies removals in every tenant before anything is created (a freed email can be reused in the same pass)', async () => {
    const p = new Recorder('tb', [
      { cdmId: 'x', kind: 'create-operator' },
      { cdmId: 'x', kind: 'delete-user' },
      { cdmId: 'y', kind: 'delete-user' },
      { cdmId: '*', kind: 'grant' },
    ]);
    await new TenantSync({ keycloak, projections: [p], logger, parentGroup: '/tenants' }).apply();
    expect(p.applied).toEqual(['x:delete-user', 'y:delete-user', '*:grant', 'x:create-operator']);
  });

  it("keeps a projection's own order when its names are per tenant (a rule rewritten before the target it dropped is deleted)", async () => {
    const p = new Recorder('escalation', [
      { cdmId: 'x', kind: 'put-rule' },
      { cdmId: 'x', kind: 'delete-target' },
    ]);
    Object.assign(p, { freesNames: () => false });
    await new TenantSync({ keycloak, projections: [p], logger, parentGroup: '/tenants' }).apply();
    expect(p.applied).toEqual(['x:put-rule', 'x:delete-target']);
  });

  it('keeps going when one system cannot be read or one tenant fails, and reports both', async () => {
    const down = new Recorder('grafana', [{ cdmId: 'x', kind: 'create-org' }], { read: true });
    const partly = new Recorder(
      'tb',
      [
        { cdmId: 'x', kind: 'create-tenant' },
        { cdmId: 'y', kind: 'create-tenant' },
      ],
      { tenant: 'x' },
    );
    const r = await new TenantSync({ keycloak, projections: [down, partly], logger, parentGroup: '/tenants' }).apply();
    expect(partly.applied).toEqual(['y:create-tenant']);
    expect(r.failed).toEqual([
      { cdmId: '*', system: 'grafana', error: 'grafana down' },
      { cdmId: 'x', system: 'tb', error: 'tenant x broke' },
    ]);
    expect(r.applied).toBe(1);
  });

  it('never runs two passes at once: a trigger during a pass joins it', async () => {
    const p = new Recorder('tb', [{ cdmId: 'x', kind: 'create-tenant' }]);
    const sync = new TenantSync({ keycloak, projections: [p], logger, parentGroup: '/tenants' });
    const [a, b] = await Promise.all([sync.apply(), sync.apply()]);
    expect(a.runId).toBe(b.runId);
    expect(p.applied).toEqual(['x:create-tenant']);
  });

  it('creates the role subgroups a tenant lacks, empty, and nothing else in Keycloak', async () => {
    const r = realm(['admins']);
    const sync = new TenantSync({ keycloak: r.kc, projections: [], logger, parentGroup: '/tenants' });
    expect((await sync.plan()).roleGroups).toEqual([
      { cdmId: 'x', group: 'operators' },
      { cdmId: 'x', group: 'oncall' },
      { cdmId: 'y', group: 'operators' },
      { cdmId: 'y', group: 'oncall' },
    ]);
    expect((await sync.apply()).failed).toEqual([]);
    expect(r.created.sort()).toEqual(['x/oncall', 'x/operators', 'y/oncall', 'y/operators']);
  });
});
