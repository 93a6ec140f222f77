import { describe, expect, it } from 'vitest';
import { person, tenant } from './fixtures.test-helpers.ts';
import { HAWKBIT_ADMIN, planHawkbit, type HawkbitState } from './hawkbit-plan.ts';

const alice = person('alice');
const adam = person('adam');
const state = (m: Record<string, readonly string[]>, releaseManagers: string[] = []): HawkbitState => ({
  holders: new Map(Object.entries(m).map(([id, roles]) => [id, { username: id, roles: new Set(roles) }])),
  releaseManagers: new Map(releaseManagers.map((id) => [id, id])),
});

describe('planHawkbit', () => {
  it('grants hawkBit rights to release managers only, once', () => {
    expect(planHawkbit([], state({}, ['rel']))).toEqual([{ kind: 'grant', cdmId: '*', userId: 'rel', username: 'rel', roles: [...HAWKBIT_ADMIN].sort() }]);
    expect(planHawkbit([], state({ rel: HAWKBIT_ADMIN }, ['rel']))).toEqual([]);
  });

  it('attack: a tenant admin or operator gets no hawkBit right (hawkBit would show and pause every customer’s rollouts)', () => {
    const desired = [tenant('a', 'a', { operators: [alice] }), tenant('b', 'b', { admins: [adam] })];
    expect(planHawkbit(desired, state({}))).toEqual([]);
    expect(planHawkbit(desired, state({ alice: ['READ_TARGET', 'HANDLE_ROLLOUT'], adam: HAWKBIT_ADMIN }))).toEqual([
      { kind: 'revoke', cdmId: '*', userId: 'adam', username: 'adam', roles: [...HAWKBIT_ADMIN].sort(), why: 'not a release manager' },
      { kind: 'revoke', cdmId: '*', userId: 'alice', username: 'alice', roles: ['HANDLE_ROLLOUT', 'READ_TARGET'], why: 'not a release manager' },
    ]);
  });

  it('leaves roles it does not manage alone', () => {
    expect(planHawkbit([], state({ ops: ['SYSTEM_ADMIN'] }))).toEqual([]);
  });
});
