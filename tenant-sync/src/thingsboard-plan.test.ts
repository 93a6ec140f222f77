import { describe, expect, it } from 'vitest';
import type { DesiredTenant, Person } from './model.ts';
import { bridgeAdminEmail, planThingsBoard, type TbTenantState } from './thingsboard-plan.ts';

const p = (id: string): Person => ({ id, username: id, email: `${id}@example.com`, enabled: true });
const acme: DesiredTenant = { cdmId: 'g1', name: 'acme', admins: [p('adam')], operators: [p('alice')], oncall: [p('oscar')] };
const inLine: TbTenantState = {
  tenantId: 't1',
  title: 'acme',
  cdmId: 'g1',
  disabled: false,
  admins: [{ userId: 'u0', email: bridgeAdminEmail('g1') }, { userId: 'u1', email: 'adam@example.com' }],
  operatorsCustomerId: 'c1',
  operators: [{ userId: 'u2', email: 'alice@example.com' }],
};

describe('planThingsBoard', () => {
  it('creates a new tenant with the bridge admin, admins, the operators customer and its users', () => {
    expect(planThingsBoard([acme], []).map((a) => a.kind)).toEqual(['create-tenant', 'create-admin', 'create-admin', 'create-customer', 'create-operator']);
  });

  it('plans nothing when ThingsBoard is in line (a second pass writes nothing)', () => {
    expect(planThingsBoard([acme], [inLine])).toEqual([]);
  });

  it('removes a person who left the group or lost the role, and adds a new one', () => {
    const next = { ...acme, operators: [p('bob')] };
    const plan = planThingsBoard([next], [inLine]);
    expect(plan).toContainEqual({ kind: 'create-operator', cdmId: 'g1', person: { email: 'bob@example.com', firstName: undefined, lastName: undefined } });
    expect(plan).toContainEqual({ kind: 'delete-user', cdmId: 'g1', userId: 'u2', email: 'alice@example.com', why: 'no longer cdm-operator of this tenant' });
  });

  it('corrects a title edited by hand and re-enables a tenant whose group came back', () => {
    expect(planThingsBoard([acme], [{ ...inLine, title: 'ACME (edited)', disabled: true }])).toEqual([
      { kind: 'update-tenant', cdmId: 'g1', tenantId: 't1', title: 'acme', disabled: false },
    ]);
  });

  it('disables a tenant whose group was deleted and removes its people, but never deletes the tenant', () => {
    const plan = planThingsBoard([], [inLine]);
    expect(plan).toEqual([
      { kind: 'update-tenant', cdmId: 'g1', tenantId: 't1', title: 'acme', disabled: true },
      { kind: 'delete-user', cdmId: 'g1', userId: 'u1', email: 'adam@example.com', why: 'tenant group deleted in Keycloak' },
      { kind: 'delete-user', cdmId: 'g1', userId: 'u2', email: 'alice@example.com', why: 'tenant group deleted in Keycloak' },
    ]);
    expect(plan.some((a) => a.kind.startsWith('delete-tenant'))).toBe(false);
  });

  it('recreates the bridge admin and the operators customer when someone deleted them by hand', () => {
    const kinds = planThingsBoard([acme], [{ ...inLine, admins: inLine.admins.slice(1), operatorsCustomerId: undefined, operators: [] }]).map((a) => a.kind);
    expect(kinds).toEqual(['create-admin', 'create-customer', 'create-operator']);
  });

  it('gives a person in two tenants their own email in the first and a plus-address in the other (ThingsBoard emails are unique)', () => {
    const ocho = { id: 'ocho', username: 'ocho', email: 'ocho@example.com', enabled: true };
    const t1 = { cdmId: '11111111-aaaa', name: 'one', admins: [], operators: [ocho], oncall: [] };
    const t2 = { cdmId: '22222222-bbbb', name: 'two', admins: [ocho], operators: [ocho], oncall: [] };
    const plan = planThingsBoard([t2, t1], []);
    const people = plan.flatMap((a) => (a.kind === 'create-admin' || a.kind === 'create-operator') && !a.person.email.startsWith('cdm-bridge') ? [`${a.cdmId}:${a.kind}:${a.person.email}`] : []);
    // In "two" ocho is admin and operator: one user, the tenant admin.
    expect(people).toEqual(['22222222-bbbb:create-admin:ocho+22222222@example.com', '11111111-aaaa:create-operator:ocho@example.com']);
  });
});
