import { describe, expect, it } from 'vitest';
import type { AuthorityReader } from './tenant-authority.ts';
import { AmbiguousTenant, TenantAuthority } from './tenant-authority.ts';

type G = { id: string; name: string; parentId?: string };

/** Keycloak's group tree and memberships, as its admin API answers them. */
function realm() {
  const groups: G[] = [{ id: 'root', name: 'tenants' }];
  const members = new Map<string, Set<string>>();
  const users = new Map<string, { enabled: boolean }>();
  const calls: string[] = [];
  const group = (id: string, name: string, parentId?: string) => (groups.push({ id, name, parentId }), id);
  const reader: AuthorityReader = {
    getGroupByPath: async (p) => (calls.push('path'), p === '/tenants' ? { id: 'root', name: 'tenants' } : undefined),
    listSubGroups: async (pid) => (calls.push('children'), groups.filter((g) => g.parentId === pid)),
    getUser: async (id) => (calls.push('user'), users.has(id) ? { id, ...users.get(id) } : undefined),
    userGroups: async (id) => (calls.push('groups'), groups.filter((g) => members.get(id)?.has(g.id))),
  };
  const join = (user: string, groupId: string) => {
    if (!users.has(user)) users.set(user, { enabled: true });
    members.set(user, (members.get(user) ?? new Set()).add(groupId));
  };
  return { groups, users, calls, group, reader, join };
}

describe('TenantAuthority', () => {
  it('grants a role only in the tenant whose role subgroup the person is in', async () => {
    const r = realm();
    const a = r.group('A', 'acme', 'root');
    const b = r.group('B', 'globex', 'root');
    r.join('u', r.group('A-adm', 'admins', a));
    r.join('u', r.group('A-onc', 'oncall', a));
    r.join('u', b); // plain member of B
    r.group('B-adm', 'admins', b);
    const auth = new TenantAuthority(r.reader, { parentPath: '/tenants' });
    expect(await auth.may('u', ['admin'], 'A')).toBe(true);
    expect(await auth.may('u', ['oncall', 'operator'], 'A')).toBe(true);
    // attack: admin and on-call in A, plain member of B → nothing beyond membership in B
    expect(await auth.may('u', ['admin'], 'B')).toBe(false);
    expect(await auth.may('u', ['oncall', 'operator'], 'B')).toBe(false);
    expect([...(await auth.rolesIn('u', 'B'))]).toEqual(['member']);
    await expect(auth.require('u', ['admin'], { cdmId: 'B', name: 'globex' })).rejects.toMatchObject({ status: 403, message: expect.stringMatching(/admin role in tenant globex required/) });
    await expect(auth.require('u', ['admin'], { cdmId: 'C', name: 'initech' })).rejects.toMatchObject({ status: 403, message: 'not a member of tenant initech' });
  });

  it('attack: a group renamed, and a new group given the old name, moves no authority', async () => {
    const r = realm();
    const a = r.group('A', 'acme', 'root');
    r.join('u', r.group('A-onc', 'oncall', a));
    const auth = new TenantAuthority(r.reader, { parentPath: '/tenants', ttlMs: 0 });
    expect(await auth.may('u', ['oncall'], 'A')).toBe(true);
    r.groups.find((g) => g.id === 'A')!.name = 'acme-old';
    const evil = r.group('E', 'acme', 'root');
    r.group('E-onc', 'oncall', evil);
    expect(await auth.may('u', ['oncall'], 'E')).toBe(false);
    expect(await auth.may('u', ['oncall'], 'A')).toBe(true);
    expect(await auth.findTenant('acme')).toEqual({ cdmId: 'E', name: 'acme' });
  });

  it('a role subgroup outside the tenant tree, or with another name, grants nothing', async () => {
    const r = realm();
    const other = r.group('O', 'partners');
    r.join('u', r.group('O-adm', 'admins', other));
    const a = r.group('A', 'acme', 'root');
    r.join('u', r.group('A-x', 'admins-old', a));
    r.join('u', r.group('A-site', 'site-1', a));
    const auth = new TenantAuthority(r.reader, { parentPath: '/tenants' });
    expect([...(await auth.grants('u')).keys()]).toEqual([]);
  });

  it('a disabled or deleted account has no grants', async () => {
    const r = realm();
    const a = r.group('A', 'acme', 'root');
    r.join('u', r.group('A-adm', 'admins', a));
    r.users.set('u', { enabled: false });
    const auth = new TenantAuthority(r.reader, { parentPath: '/tenants' });
    expect(await auth.may('u', ['admin'], 'A')).toBe(false);
    expect(await auth.may('nobody', ['admin'], 'A')).toBe(false);
  });

  it('reuses grants within the TTL, asks Keycloak again after it; a removal takes effect then', async () => {
    const r = realm();
    let now = 0;
    const a = r.group('A', 'acme', 'root');
    const onc = r.group('A-onc', 'oncall', a);
    r.join('u', onc);
    const auth = new TenantAuthority(r.reader, { parentPath: '/tenants', ttlMs: 1000, now: () => now });
    expect(await auth.may('u', ['oncall'], 'A')).toBe(true);
    const calls = r.calls.length;
    expect(await auth.may('u', ['oncall'], 'A')).toBe(true);
    expect(r.calls.length).toBe(calls);
    r.users.set('u', { enabled: false });
    now = 1001;
    expect(await auth.may('u', ['oncall'], 'A')).toBe(false);
  });

  it('finds tenants by id or by a unique live name; a shared name is refused', async () => {
    const r = realm();
    r.group('A', 'acme', 'root');
    r.group('A2', 'acme', 'root');
    r.group('G', 'globex', 'root');
    const auth = new TenantAuthority(r.reader, { parentPath: '/tenants' });
    expect(await auth.findTenant('G')).toEqual({ cdmId: 'G', name: 'globex' });
    expect(await auth.findTenant('globex')).toEqual({ cdmId: 'G', name: 'globex' });
    expect(await auth.findTenant('A2')).toEqual({ cdmId: 'A2', name: 'acme' });
    await expect(auth.findTenant('acme')).rejects.toBeInstanceOf(AmbiguousTenant);
    expect(await auth.findTenant('nope')).toBeUndefined();
  });

  it('a failed Keycloak lookup is not cached', async () => {
    const r = realm();
    const a = r.group('A', 'acme', 'root');
    r.join('u', r.group('A-adm', 'admins', a));
    let down = true;
    const reader = { ...r.reader, userGroups: async (id: string) => (down ? Promise.reject(new Error('Keycloak down')) : r.reader.userGroups(id)) };
    const auth = new TenantAuthority(reader, { parentPath: '/tenants' });
    await expect(auth.may('u', ['admin'], 'A')).rejects.toThrow('Keycloak down');
    down = false;
    expect(await auth.may('u', ['admin'], 'A')).toBe(true);
  });
});
