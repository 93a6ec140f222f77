import { describe, expect, it } from 'vitest';
import type { DesiredTenant, Person } from './model.ts';
import { bridgeAdminEmail, planThingsBoard, type TbTenantState } from './thingsboard-plan.ts';

const p = (id: string): Person => ({ id, username: id, email: `${id}@example.com`, enabled: true });
const acme: DesiredTenant = { cdmId: 'g1', name: 'acme', admins: [p('adam')], operators: [p('alice')], oncall: [p('oscar')] };
const inLine: TbTenantState = {
  tbTenantId: 't1',
  title: 'acme',
  cdmId: 'g1',
  disabled: false,
  admins: [
    { userId: 'u0', email: bridgeAdminEmail('g1') },
    { userId: 'u1', email: 'adam@example.com' },
  ],
  operatorsCustomerId: 'c1',
  operators: [{ userId: 'u2', email: 'alice@example.com' }],
  ui: { dashboardId: 'd1', version: 'v1', customerIds: ['c1'] },
};
/** The current operators' dashboard is version v1. */
const tbPlan = (desired: DesiredTenant[], actual: TbTenantState[]) => planThingsBoard(desired, actual, { uiVersion: 'v1' });

describe('planThingsBoard', () => {
  it('creates a new tenant with the bridge admin, admins, the operators customer and its users', () => {
    expect(tbPlan([acme], []).map((a) => a.kind)).toEqual(['create-tenant', 'create-admin', 'create-admin', 'create-customer', 'create-operator', 'put-operator-ui']);
  });

  it("keeps the operators' dashboard current and assigned to the operators customer", () => {
    const put = (a: TbTenantState) => tbPlan([acme], [a]).filter((x) => x.kind === 'put-operator-ui');
    expect(put({ ...inLine, ui: undefined })).toEqual([{ kind: 'put-operator-ui', cdmId: 'g1', why: 'no operators dashboard' }]);
    expect(put({ ...inLine, ui: { ...inLine.ui!, version: 'v0' } })).toEqual([{ kind: 'put-operator-ui', cdmId: 'g1', dashboardId: 'd1', why: 'operators dashboard out of date' }]);
    // hand-edited: ThingsBoard's copy lost cdm's version marker
    expect(put({ ...inLine, ui: { ...inLine.ui!, version: undefined } })).toHaveLength(1);
    expect(put({ ...inLine, ui: { ...inLine.ui!, customerIds: [] } })).toEqual([{ kind: 'put-operator-ui', cdmId: 'g1', dashboardId: 'd1', why: 'operators dashboard not assigned to the operators' }]);
    // a tenant whose group is gone keeps what it has, dashboard included
    expect(tbPlan([], [{ ...inLine, ui: undefined }]).filter((x) => x.kind === 'put-operator-ui')).toEqual([]);
  });

  it('plans nothing when ThingsBoard is in line (a second pass writes nothing)', () => {
    expect(tbPlan([acme], [inLine])).toEqual([]);
  });

  it('removes a person who left the group or lost the role, and adds a new one', () => {
    const next = { ...acme, operators: [p('bob')] };
    const plan = tbPlan([next], [inLine]);
    expect(plan).toContainEqual({ kind: 'create-operator', cdmId: 'g1', person: { email: 'bob@example.com', firstName: undefined, lastName: undefined } });
    expect(plan).toContainEqual({ kind: 'delete-user', cdmId: 'g1', userId: 'u2', email: 'alice@example.com', why: 'no longer cdm-operator of this tenant' });
  });

  it('corrects a title edited by hand and re-enables a tenant whose group came back', () => {
    expect(tbPlan([acme], [{ ...inLine, title: 'ACME (edited)', disabled: true }])).toEqual([{ kind: 'update-tenant', cdmId: 'g1', tbTenantId: 't1', title: 'acme', disabled: false }]);
  });

  it('disables a tenant whose group was deleted and removes its people, but never deletes the tenant', () => {
    const plan = tbPlan([], [inLine]);
    expect(plan).toEqual([
      { kind: 'update-tenant', cdmId: 'g1', tbTenantId: 't1', title: 'acme', disabled: true },
      { kind: 'delete-user', cdmId: 'g1', userId: 'u1', email: 'adam@example.com', why: 'tenant group deleted in Keycloak' },
      { kind: 'delete-user', cdmId: 'g1', userId: 'u2', email: 'alice@example.com', why: 'tenant group deleted in Keycloak' },
    ]);
    expect(plan.some((a) => a.kind.startsWith('delete-tenant'))).toBe(false);
  });

  it('recreates the bridge admin and the operators customer when someone deleted them by hand (and assigns the dashboard to the new customer)', () => {
    const kinds = tbPlan([acme], [{ ...inLine, admins: inLine.admins.slice(1), operatorsCustomerId: undefined, operators: [] }]).map((a) => a.kind);
    expect(kinds).toEqual(['create-admin', 'create-customer', 'create-operator', 'put-operator-ui']);
  });

  it('gives a person in two tenants their own email in the first and a plus-address in the other (ThingsBoard emails are unique)', () => {
    const ocho = { id: 'ocho', username: 'ocho', email: 'ocho@example.com', enabled: true };
    const t1 = { cdmId: '11111111-aaaa', name: 'one', admins: [], operators: [ocho], oncall: [] };
    const t2 = { cdmId: '22222222-bbbb', name: 'two', admins: [ocho], operators: [ocho], oncall: [] };
    const plan = tbPlan([t2, t1], []);
    const people = plan.flatMap((a) => ((a.kind === 'create-admin' || a.kind === 'create-operator') && !a.person.email.startsWith('cdm-bridge') ? [`${a.cdmId}:${a.kind}:${a.person.email}`] : []));
    // In "two" ocho is admin and operator: one user, the tenant admin.
    expect(people).toEqual(['22222222-bbbb:create-admin:ocho+22222222@example.com', '11111111-aaaa:create-operator:ocho@example.com']);
  });
});
