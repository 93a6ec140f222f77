import { describe, expect, it } from 'vitest';
import type { KeycloakSnapshot } from './model.ts';
import { eventScope, indexSnapshot } from './scope.ts';

const alice = { id: 'u-alice', username: 'alice', email: 'alice@x.example', enabled: true };
const snapshot: KeycloakSnapshot = {
  tenants: [
    { id: 'acme', name: 'Acme' },
    { id: 'globex', name: 'Globex' },
    { id: 'initech', name: 'Initech' },
  ],
  members: { acme: [alice], globex: [alice], initech: [] },
  roles: {},
  roleGroupIds: { acme: ['acme-operators'], globex: ['globex-admins'], initech: ['initech-oncall'] },
  missingRoleGroups: [],
};
const index = indexSnapshot(snapshot);
const ev = (resourceType: string, resourcePath: string, time = 10) => ({ time, resourceType, resourcePath });

describe('eventScope', () => {
  it('names the tenant of a group event, whether on the tenant group, a role subgroup or a subgroup made under it', () => {
    expect([...eventScope([ev('GROUP', 'groups/initech')], 0, index).tenants]).toEqual(['initech']);
    expect([...eventScope([ev('GROUP', 'groups/initech-oncall')], 0, index).tenants]).toEqual(['initech']);
    expect([...eventScope([ev('GROUP', 'groups/initech/children')], 0, index).tenants]).toEqual(['initech']);
  });

  it("names a membership's tenant and every other tenant of that person (their plain email may move between them)", () => {
    const s = eventScope([ev('GROUP_MEMBERSHIP', 'users/u-alice/groups/initech-oncall')], 0, index);
    expect([...s.tenants].sort()).toEqual(['acme', 'globex', 'initech']);
    expect([...eventScope([ev('GROUP_MEMBERSHIP', 'users/u-bob/groups/acme-operators')], 0, index).tenants]).toEqual(['acme']);
  });

  it('names every tenant of a person whose account changed, and none for someone in no tenant', () => {
    expect([...eventScope([ev('USER', 'users/u-alice')], 0, index).tenants].sort()).toEqual(['acme', 'globex']);
    const s = eventScope([ev('USER', 'users/u-nobody')], 0, index);
    expect(s).toEqual({ relevant: true, tenants: new Set() });
  });

  it('is relevant for role mappings and unknown groups (the whole-system projections), naming no tenant', () => {
    expect(eventScope([ev('CLIENT_ROLE_MAPPING', 'users/u-alice/role-mappings/clients/c1')], 0, index)).toEqual({ relevant: true, tenants: new Set() });
    expect(eventScope([ev('GROUP', 'groups/release-managers')], 0, index)).toEqual({ relevant: true, tenants: new Set() });
  });

  it('ignores events already seen and kinds that change no tenant', () => {
    expect(eventScope([ev('GROUP', 'groups/acme', 5)], 5, index)).toEqual({ relevant: false, tenants: new Set() });
    expect(eventScope([ev('CLIENT', 'clients/c1')], 0, index)).toEqual({ relevant: false, tenants: new Set() });
  });

  it('without an index (no pass yet) says a pass is needed and names nothing', () => {
    expect(eventScope([ev('GROUP', 'groups/acme')], 0, undefined)).toEqual({ relevant: true, tenants: new Set() });
  });
});
