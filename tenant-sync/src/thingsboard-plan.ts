import { bridgeAdminEmail, OPERATORS_CUSTOMER } from '@cdm/common';
import type { DesiredTenant, Person } from './model.ts';

/** What ThingsBoard holds for one cdm tenant (read by listings). */
export interface TbTenantState {
  /** ThingsBoard's id of the tenant (cdm's own tenant id is `cdmId`). */
  tbTenantId: string;
  title: string;
  cdmId: string;
  disabled: boolean;
  admins: { userId: string; email: string }[]; // TENANT_ADMIN users
  operatorsCustomerId?: string;
  operators: { userId: string; email: string }[]; // users of the operators customer
  /** The operators' dashboard, if there is one: the cdm version its configuration carries and who it is assigned to. */
  ui?: { dashboardId: string; version?: string; customerIds: string[] };
}

export { OPERATORS_CUSTOMER };
/** Tenant admin the bridges act as inside the tenant (ThingsBoard lets only tenant admins create devices). */
export { bridgeAdminEmail };

export type TbAction =
  | { kind: 'create-tenant'; cdmId: string; title: string }
  | { kind: 'update-tenant'; cdmId: string; tbTenantId: string; title: string; disabled: boolean }
  | { kind: 'create-admin'; cdmId: string; person: Pick<Person, 'email' | 'firstName' | 'lastName'> }
  | { kind: 'create-customer'; cdmId: string; title: string }
  | { kind: 'create-operator'; cdmId: string; person: Pick<Person, 'email' | 'firstName' | 'lastName'> }
  | { kind: 'delete-user'; cdmId: string; userId: string; email: string; why: string }
  | { kind: 'put-operator-ui'; cdmId: string; dashboardId?: string; why: string }
  | { kind: 'delete-tenant'; cdmId: string; tbTenantId: string; title: string };

/**
 * The ThingsBoard changes that bring it in line with Keycloak. Pure: the same inputs always give
 * the same plan, and an in-line ThingsBoard gives an empty one. A tenant whose group is gone is
 * marked disabled and loses its people, but keeps its devices and data.
 */
export function planThingsBoard(desired: DesiredTenant[], actual: TbTenantState[], o: { uiVersion: string; everyone?: DesiredTenant[] }): TbAction[] {
  const plan: TbAction[] = [];
  const byCdm = new Map(actual.map((a) => [a.cdmId, a]));
  // Which of a person's tenants gets their plain email depends on all of them, not only those planned.
  const emailIn = tbEmails(o.everyone ?? desired);
  for (const d of desired) {
    const a = byCdm.get(d.cdmId);
    const bridge = { email: bridgeAdminEmail(d.cdmId), firstName: 'cdm', lastName: 'bridge' };
    const admins = d.admins.map((p) => who(p, emailIn(p, d.cdmId)));
    // A tenant admin already sees everything an operator does, and one email is one ThingsBoard user.
    const adminIds = new Set(d.admins.map((p) => p.id));
    const operators = d.operators.filter((p) => !adminIds.has(p.id)).map((p) => who(p, emailIn(p, d.cdmId)));
    if (!a) {
      plan.push({ kind: 'create-tenant', cdmId: d.cdmId, title: d.name });
      plan.push({ kind: 'create-admin', cdmId: d.cdmId, person: bridge });
      for (const p of admins) plan.push({ kind: 'create-admin', cdmId: d.cdmId, person: p });
      plan.push({ kind: 'create-customer', cdmId: d.cdmId, title: OPERATORS_CUSTOMER });
      for (const p of operators) plan.push({ kind: 'create-operator', cdmId: d.cdmId, person: p });
      plan.push({ kind: 'put-operator-ui', cdmId: d.cdmId, why: 'new tenant' });
      continue;
    }
    if (a.title !== d.name || a.disabled) plan.push({ kind: 'update-tenant', cdmId: d.cdmId, tbTenantId: a.tbTenantId, title: d.name, disabled: false });
    const wantAdmins = new Set([bridge.email, ...admins.map((p) => p.email)]);
    const haveAdmins = new Set(a.admins.map((u) => u.email));
    for (const p of [bridge, ...admins]) if (!haveAdmins.has(p.email)) plan.push({ kind: 'create-admin', cdmId: d.cdmId, person: p });
    // Removals before creations would be safer for a person moving between roles, but ThingsBoard
    // checks email uniqueness globally, so the delete must come first when the same email moves.
    for (const u of a.admins) if (!wantAdmins.has(u.email)) plan.push({ kind: 'delete-user', cdmId: d.cdmId, userId: u.userId, email: u.email, why: 'no longer cdm-admin of this tenant' });
    if (!a.operatorsCustomerId) plan.push({ kind: 'create-customer', cdmId: d.cdmId, title: OPERATORS_CUSTOMER });
    const wantOps = new Set(operators.map((p) => p.email));
    const haveOps = new Set(a.operators.map((u) => u.email));
    for (const u of a.operators) if (!wantOps.has(u.email)) plan.push({ kind: 'delete-user', cdmId: d.cdmId, userId: u.userId, email: u.email, why: 'no longer cdm-operator of this tenant' });
    for (const p of operators) if (!haveOps.has(p.email)) plan.push({ kind: 'create-operator', cdmId: d.cdmId, person: p });
    const why = !a.ui
      ? 'no operators dashboard'
      : a.ui.version !== o.uiVersion
        ? 'operators dashboard out of date'
        : !a.operatorsCustomerId || !a.ui.customerIds.includes(a.operatorsCustomerId)
          ? 'operators dashboard not assigned to the operators'
          : undefined;
    if (why) plan.push({ kind: 'put-operator-ui', cdmId: d.cdmId, ...(a.ui ? { dashboardId: a.ui.dashboardId } : {}), why });
  }
  const wanted = new Set(desired.map((d) => d.cdmId));
  for (const a of actual) {
    if (wanted.has(a.cdmId)) continue;
    if (!a.disabled) plan.push({ kind: 'update-tenant', cdmId: a.cdmId, tbTenantId: a.tbTenantId, title: a.title, disabled: true });
    for (const u of [...a.admins, ...a.operators]) {
      if (u.email !== bridgeAdminEmail(a.cdmId)) plan.push({ kind: 'delete-user', cdmId: a.cdmId, userId: u.userId, email: u.email, why: 'tenant group deleted in Keycloak' });
    }
  }
  return plan;
}

/**
 * ThingsBoard keeps a user's email unique across all tenants, so a person in several tenants
 * signs in with their own email in the first of them (by tenant id, stable across renames) and
 * with a plus-address per further tenant: alice+<first 8 of tenant id>@example.com.
 */
export function tbEmails(desired: DesiredTenant[]): (p: Person, cdmId: string) => string {
  const tenantsOf = new Map<string, string[]>();
  for (const d of desired) {
    for (const p of [...d.admins, ...d.operators]) {
      const list = tenantsOf.get(p.id) ?? [];
      if (!list.includes(d.cdmId)) list.push(d.cdmId);
      tenantsOf.set(p.id, list);
    }
  }
  for (const list of tenantsOf.values()) list.sort();
  return (p, cdmId) => {
    if ((tenantsOf.get(p.id) ?? [])[0] === cdmId) return p.email;
    const at = p.email.lastIndexOf('@');
    return `${p.email.slice(0, at)}+${cdmId.replace(/-/g, '').slice(0, 8)}${p.email.slice(at)}`;
  };
}

/** `purge`: the tenant and everything ThingsBoard holds for it. Never part of a normal pass. */
export function purgeThingsBoard(cdmId: string, actual: TbTenantState[]): TbAction[] {
  const a = actual.find((s) => s.cdmId === cdmId);
  return a ? [{ kind: 'delete-tenant', cdmId, tbTenantId: a.tbTenantId, title: a.title }] : [];
}

const who = (p: Person, email: string) => ({ email, firstName: p.firstName, lastName: p.lastName });
