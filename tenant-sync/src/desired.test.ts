import { describe, expect, it } from 'vitest';
import { desiredTenants, validTenantName } from './desired.ts';
import type { KeycloakSnapshot, Person } from './model.ts';

const p = (id: string, extra: Partial<Person> = {}): Person => ({ id, username: id, email: `${id}@example.com`, enabled: true, ...extra });

const snapshot: KeycloakSnapshot = {
  tenants: [
    { id: 'g-beta', name: 'beta' },
    { id: 'g-acme', name: 'acme' },
  ],
  members: {
    'g-acme': [p('alice'), p('adam'), p('oscar'), p('nobody'), p('ghost', { enabled: false }), p('noemail', { email: '' })],
    'g-beta': [p('alice')],
  },
  roles: {
    'g-acme': { admin: new Set(['adam']), operator: new Set(['alice', 'ghost', 'noemail', 'outsider']), oncall: new Set(['oscar', 'alice']) },
    // alice is admin in beta only: that gives her nothing more in acme
    'g-beta': { admin: new Set(['alice']), operator: new Set(['alice']), oncall: new Set() },
  },
  roleGroupIds: {},
  missingRoleGroups: [],
};

describe('desiredTenants', () => {
  it('gives each member the roles it has in that tenant, and nothing else', () => {
    const [acme, beta] = desiredTenants(snapshot);
    expect(acme!.name).toBe('acme');
    expect(acme!.admins.map((x) => x.id)).toEqual(['adam']);
    expect(acme!.operators.map((x) => x.id)).toEqual(['alice']);
    expect(acme!.oncall.map((x) => x.id)).toEqual(['alice', 'oscar']);
    // attack: alice is admin of beta; she stays operator and on-call in acme, not admin
    expect(beta!.admins.map((x) => x.id)).toEqual(['alice']);
    expect(acme!.admins.map((x) => x.id)).not.toContain('alice');
    expect(beta!.operators.map((x) => x.id)).toEqual(['alice']);
    // "outsider" is listed in a role but is no member of the tenant: nothing.
    expect(JSON.stringify(desiredTenants(snapshot))).not.toContain('outsider');
  });

  it('leaves out disabled accounts and accounts without email', () => {
    const ids = desiredTenants(snapshot).flatMap((t) => [...t.admins, ...t.operators, ...t.oncall].map((x) => x.id));
    expect(ids).not.toContain('ghost');
    expect(ids).not.toContain('noemail');
  });

  it('is deterministic whatever order Keycloak lists things in', () => {
    const shuffled = { ...snapshot, tenants: [...snapshot.tenants].reverse(), members: { ...snapshot.members, 'g-acme': [...snapshot.members['g-acme']!].reverse() } };
    expect(desiredTenants(shuffled)).toEqual(desiredTenants(snapshot));
  });
});

describe('validTenantName', () => {
  it('accepts plain names and explains what is wrong with others', () => {
    expect(validTenantName('acme')).toBeUndefined();
    expect(validTenantName('Acme Corp.')).toBeUndefined();
    expect(validTenantName('')).toMatch(/1–63 characters/);
    expect(validTenantName('a/b')).toMatch(/letters, digits/);
    expect(validTenantName('x'.repeat(64))).toMatch(/1–63/);
  });
});
