import type { KeycloakClient } from '@cdm/common';
import { createLogger } from '@cdm/common';
import { describe, expect, it } from 'vitest';
import type { DesiredTenant } from './model.ts';
import type { Action, Projection } from './projection.ts';
import { TenantSync } from './reconcile.ts';

/** A realm whose tenants and members the test changes between passes; counts member listings per group. */
function realm() {
  const tenants = new Map<string, string[]>([
    ['acme', ['u-alice']],
    ['globex', ['u-bob']],
  ]);
  const listed: string[] = [];
  const user = (id: string) => ({ id, username: id, email: `${id}@example.com` });
  const kc = {
    realm: 'cdm',
    getGroupByPath: async () => ({ id: 'parent' }),
    listSubGroups: async (id: string) => (id === 'parent' ? [...tenants.keys()].map((t) => ({ id: t, name: t })) : ['admins', 'operators', 'oncall'].map((n) => ({ id: `${id}-${n}`, name: n }))),
    listMembers: async (id: string) => {
      listed.push(id);
      const t = id.replace(/-(admins|operators|oncall)$/, '');
      return id.endsWith('-operators') ? (tenants.get(t) ?? []).map(user) : [];
    },
    createGroup: async () => 'x',
  };
  return { kc: kc as unknown as KeycloakClient, tenants, listed };
}

/** Records what each pass read and planned; per tenant or whole-system. */
class Spy implements Projection<string[], Action> {
  reads: (string[] | 'all')[] = [];
  planned: { desired: string[]; everyone: string[]; operators: Record<string, string[]> }[] = [];
  failTenant?: string;
  failRead = false;
  constructor(
    readonly system: string,
    readonly perTenant: boolean,
  ) {}
  async read(only?: ReadonlySet<string>): Promise<string[]> {
    if (this.failRead) throw new Error('down');
    this.reads.push(only ? [...only].sort() : 'all');
    return [];
  }
  plan(desired: DesiredTenant[], _a: string[], _s: ReadonlySet<string>, everyone = desired): Action[] {
    const names = (ts: DesiredTenant[]) => ts.map((t) => t.cdmId);
    this.planned.push({ desired: names(desired), everyone: names(everyone), operators: Object.fromEntries(everyone.map((t) => [t.cdmId, t.operators.map((p) => p.id)])) });
    return desired.map((t) => ({ cdmId: t.cdmId, kind: 'touch' }));
  }
  async apply(cdmId: string): Promise<void> {
    if (cdmId === this.failTenant) throw new Error(`${cdmId} broke`);
  }
  describe(a: Action) {
    return { action: a.kind };
  }
}

const logger = createLogger('test', { level: 'silent' });
const setup = () => {
  const r = realm();
  const tb = new Spy('thingsboard', true);
  const hawkbit = new Spy('hawkbit', false);
  const sync = new TenantSync({ keycloak: r.kc, projections: [tb, hawkbit], logger, parentGroup: '/tenants' });
  return { ...r, tb, hawkbit, sync };
};

describe('a pass over the tenants a Keycloak change named', () => {
  it('reads only those tenants in Keycloak and in per-tenant systems, keeps the others from the last pass, and plans whole-system ones in full', async () => {
    const s = setup();
    await s.sync.apply();
    s.listed.length = 0;
    s.tenants.set('globex', ['u-bob', 'u-carol']);
    const r = await s.sync.apply(new Set(['globex']));
    expect(r.touched).toEqual(['globex']);
    expect(new Set(s.listed.map((g) => g.split('-')[0]))).toEqual(new Set(['globex']));
    expect(s.tb.reads.at(-1)).toEqual(['globex']);
    expect(s.tb.planned.at(-1)).toMatchObject({ desired: ['globex'], everyone: ['acme', 'globex'], operators: { acme: ['u-alice'], globex: ['u-bob', 'u-carol'] } });
    expect(s.hawkbit.reads.at(-1)).toBe('all');
    expect(s.hawkbit.planned.at(-1)!.desired).toEqual(['acme', 'globex']);
  });

  it('also covers a tenant new or gone in the parent listing though no event named it', async () => {
    const s = setup();
    await s.sync.apply();
    s.tenants.delete('acme');
    s.tenants.set('initech', []);
    await s.sync.apply(new Set());
    expect(s.tb.reads.at(-1)).toEqual(['acme', 'initech']);
    expect(s.tb.planned.at(-1)!.desired).toEqual(['initech']); // acme is read, not desired: its projection is retired
  });

  it('is full when no full pass came before it', async () => {
    const s = setup();
    await s.sync.apply(new Set(['acme']));
    expect(s.tb.reads).toEqual(['all']);
  });

  it('reads a tenant that failed again in the next pass, and makes the next pass full after a system could not be read', async () => {
    const s = setup();
    await s.sync.apply();
    s.tb.failTenant = 'globex';
    expect((await s.sync.apply(new Set(['globex']))).failed).toHaveLength(1);
    s.tb.failTenant = undefined;
    await s.sync.apply(new Set());
    expect(s.tb.reads.at(-1)).toEqual(['globex']);
    await s.sync.apply(new Set());
    expect(s.tb.reads.at(-1)).toEqual([]);
    s.hawkbit.failRead = true;
    await s.sync.apply(new Set());
    s.hawkbit.failRead = false;
    await s.sync.apply(new Set());
    expect(s.tb.reads.at(-1)).toBe('all');
  });
});
