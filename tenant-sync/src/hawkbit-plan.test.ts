import { describe, expect, it } from 'vitest';
import { person, tenant } from './fixtures.test-helpers.ts';
import { HAWKBIT_ADMIN, HAWKBIT_OPERATOR, planHawkbit, type HawkbitState } from './hawkbit-plan.ts';

const alice = person('alice');
const adam = person('adam');
const holders = (m: Record<string, readonly string[]>): HawkbitState => ({
  holders: new Map(Object.entries(m).map(([id, roles]) => [id, { username: id, roles: new Set(roles) }])),
});

describe('planHawkbit', () => {
  it('grants operators read + rollout handling and admins more, once, as a union over tenants', () => {
    const plan = planHawkbit([tenant('a', 'a', { operators: [alice] }), tenant('b', 'b', { operators: [alice], admins: [adam] })], holders({}));
    expect(plan).toEqual([
      { kind: 'grant', cdmId: '*', userId: 'adam', username: 'adam', roles: [...HAWKBIT_ADMIN].sort() },
      { kind: 'grant', cdmId: '*', userId: 'alice', username: 'alice', roles: [...HAWKBIT_OPERATOR].sort() },
    ]);
  });

  it('is empty when in line and revokes what a role no longer gives', () => {
    expect(planHawkbit([tenant('a', 'a', { operators: [alice] })], holders({ alice: HAWKBIT_OPERATOR }))).toEqual([]);
    expect(planHawkbit([tenant('a', 'a', { operators: [alice] })], holders({ alice: HAWKBIT_ADMIN }))).toEqual([
      { kind: 'revoke', cdmId: '*', userId: 'alice', username: 'alice', roles: ['APPROVE_ROLLOUT', 'CREATE_ROLLOUT', 'UPDATE_DISTRIBUTION_SET', 'UPDATE_ROLLOUT', 'UPDATE_TARGET'], why: 'fewer cdm roles' },
    ]);
    expect(planHawkbit([], holders({ alice: ['READ_TARGET'] }))).toEqual([
      { kind: 'revoke', cdmId: '*', userId: 'alice', username: 'alice', roles: ['READ_TARGET'], why: 'no cdm-operator or cdm-admin role in any tenant' },
    ]);
  });
});
