import type { DesiredTenant, Person } from './model.ts';

/** What ThingsBoard holds for one cdm tenant (read by listings). */
export interface TbTenantState {
  tenantId: string;
  title: string;
  cdmId: string;
  disabled: boolean;
  admins: { userId: string; email: string }[]; // TENANT_ADMIN users
  operatorsCustomerId?: string;
  operators: { userId: string; email: string }[]; // users of the operators customer
}

export const OPERATORS_CUSTOMER = 'Operators';
/** Tenant admin the bridges act as inside the tenant (ThingsBoard lets only tenant admins create devices). */
export const bridgeAdminEmail = (cdmId: string) => `cdm-bridge+${cdmId}@cdm.invalid`;

export type TbAction =
  | { kind: 'create-tenant'; cdmId: string; title: string }
  | { kind: 'update-tenant'; cdmId: string; tenantId: string; title: string; disabled: boolean }
  | { kind: 'create-admin'; cdmId: string; person: Pick<Person, 'email' | 'firstName' | 'lastName'> }
  | { kind: 'create-customer'; cdmId: string; title: string }
  | { kind: 'create-operator'; cdmId: string; person: Pick<Person, 'email' | 'firstName' | 'lastName'> }
  | { kind: 'delete-user'; cdmId: string; userId: string; email: string; why: string }
  | { kind: 'delete-tenant'; cdmId: string; tenantId: string; title: string };

/**
 * The ThingsBoard changes that bring it in line with Keycloak. Pure: the same inputs always give
 * the same plan, and an in-line ThingsBoard gives an empty one. A tenant whose group is gone is
 * marked disabled and loses its people, but keeps its devices and data.
 */
export function planThingsBoard(desired: DesiredTenant[], actual: TbTenantState[]): TbAction[] {
  const plan: TbAction[] = [];
  const byCdm = new Map(actual.map((a) => [a.cdmId, a]));
  for (const d of desired) {
    const a = byCdm.get(d.cdmId);
    if (!a) {
      plan.push({ kind: 'create-tenant', cdmId: d.cdmId, title: d.name });
      plan.push({ kind: 'create-admin', cdmId: d.cdmId, person: { email: bridgeAdminEmail(d.cdmId), firstName: 'cdm', lastName: 'bridge' } });
      for (const p of d.admins) plan.push({ kind: 'create-admin', cdmId: d.cdmId, person: who(p) });
      plan.push({ kind: 'create-customer', cdmId: d.cdmId, title: OPERATORS_CUSTOMER });
      for (const p of d.operators) plan.push({ kind: 'create-operator', cdmId: d.cdmId, person: who(p) });
      continue;
    }
    if (a.title !== d.name || a.disabled) plan.push({ kind: 'update-tenant', cdmId: d.cdmId, tenantId: a.tenantId, title: d.name, disabled: false });
    const wantAdmins = new Set([bridgeAdminEmail(d.cdmId), ...d.admins.map((p) => p.email)]);
    const haveAdmins = new Set(a.admins.map((u) => u.email));
    if (!haveAdmins.has(bridgeAdminEmail(d.cdmId))) plan.push({ kind: 'create-admin', cdmId: d.cdmId, person: { email: bridgeAdminEmail(d.cdmId), firstName: 'cdm', lastName: 'bridge' } });
    for (const p of d.admins) if (!haveAdmins.has(p.email)) plan.push({ kind: 'create-admin', cdmId: d.cdmId, person: who(p) });
    for (const u of a.admins) if (!wantAdmins.has(u.email)) plan.push({ kind: 'delete-user', cdmId: d.cdmId, userId: u.userId, email: u.email, why: 'no longer cdm-admin of this tenant' });
    if (!a.operatorsCustomerId) plan.push({ kind: 'create-customer', cdmId: d.cdmId, title: OPERATORS_CUSTOMER });
    const wantOps = new Set(d.operators.map((p) => p.email));
    const haveOps = new Set(a.operators.map((u) => u.email));
    for (const p of d.operators) if (!haveOps.has(p.email)) plan.push({ kind: 'create-operator', cdmId: d.cdmId, person: who(p) });
    for (const u of a.operators) if (!wantOps.has(u.email)) plan.push({ kind: 'delete-user', cdmId: d.cdmId, userId: u.userId, email: u.email, why: 'no longer cdm-operator of this tenant' });
  }
  const wanted = new Set(desired.map((d) => d.cdmId));
  for (const a of actual) {
    if (wanted.has(a.cdmId)) continue;
    if (!a.disabled) plan.push({ kind: 'update-tenant', cdmId: a.cdmId, tenantId: a.tenantId, title: a.title, disabled: true });
    for (const u of [...a.admins, ...a.operators]) {
      if (u.email !== bridgeAdminEmail(a.cdmId)) plan.push({ kind: 'delete-user', cdmId: a.cdmId, userId: u.userId, email: u.email, why: 'tenant group deleted in Keycloak' });
    }
  }
  return plan;
}

const who = (p: Person) => ({ email: p.email, firstName: p.firstName, lastName: p.lastName });

/** `purge`: the tenant and everything ThingsBoard holds for it. Never part of a normal pass. */
export function purgeThingsBoard(cdmId: string, actual: TbTenantState[]): TbAction[] {
  const a = actual.find((s) => s.cdmId === cdmId);
  return a ? [{ kind: 'delete-tenant', cdmId, tenantId: a.tenantId, title: a.title }] : [];
}
