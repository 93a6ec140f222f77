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
    'cdm-admin': new Set(['adam']),
    'cdm-operator': new Set(['alice', 'ghost', 'noemail', 'outsider']),
    'cdm-oncall': new Set(['oscar', 'alice']),
  },
};

describe('desiredTenants', () => {
  it('gives each member the roles it has, in each tenant group it belongs to, and nothing else', () => {
    const [acme, beta] = desiredTenants(snapshot);
    expect(acme!.name).toBe('acme');
    expect(acme!.admins.map((x) => x.id)).toEqual(['adam']);
    expect(acme!.operators.map((x) => x.id)).toEqual(['alice']);
    expect(acme!.oncall.map((x) => x.id)).toEqual(['alice', 'oscar']);
    // alice is in both groups: access to both; "outsider" has the role but no group: nothing.
    expect(beta!.operators.map((x) => x.id)).toEqual(['alice']);
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
