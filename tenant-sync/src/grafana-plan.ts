import type { OrgRole } from '@cdm/common';
import type { AlertRuleFile } from './alert-rules.ts';
import type { DashboardFile } from './dashboards.ts';
import { bucketName } from './influx-plan.ts';
import { planRoutes, type GrafanaRoutesState, type RouteAction, type RoutesContext } from './grafana-routes.ts';
import type { DesiredTenant, Person } from './model.ts';

export const DATASOURCE_UID = 'cdm-influxdb';
export const DATASOURCE_NAME = 'InfluxDB (cdm)';

export interface GrafanaTenantState {
  cdmId: string;
  orgId: number;
  name: string;
  datasource: { url: string; organization?: string; defaultBucket?: string; tokenId?: string };
  users: { userId: number; login: string; email: string; role: OrgRole }[];
  /** Imported dashboards: uid → the file sha they were imported from (undefined: not ours or edited tag). */
  dashboards: Record<string, string | undefined>;
  /** Our alert rules: file rule uid → Grafana uid and the sha it was made from. */
  alertRules?: Record<string, { uid: string; sha?: string }>;
  /** Contact points and the policy tree, read when escalation is configured. */
  routes?: GrafanaRoutesState;
}

export interface GrafanaState {
  tenants: GrafanaTenantState[];
  /** Orgs without our data source: adopted when the name matches a tenant without an org. */
  unclaimed: { orgId: number; name: string }[];
  /** cdm id → active InfluxDB read-token ids (the data source must use one of them). */
  readTokens: Map<string, string[]>;
}

export interface GrafanaPlanContext {
  /** Grafana's own login: never removed from an org or given a role. */
  adminLogin: string;
  /** InfluxDB URL as Grafana reaches it. */
  influxUrl: string;
  influxOrg: string;
  dashboards: DashboardFile[];
  /** grafana-dashboards/alerts: created in every tenant org (folder cdm), updated when the file changes. */
  alertRules?: AlertRuleFile[];
  /** Escalation (ESCALATION_WEBHOOK_URL): each org's contact points and policy tree from the tenant's roles. */
  routes?: RoutesContext;
}

export type GrafanaPerson = { login: string; email: string; name: string };

export type GrafanaAction =
  | { kind: 'create-org'; cdmId: string; name: string }
  | { kind: 'adopt-org'; cdmId: string; orgId: number; name: string }
  | { kind: 'rename-org'; cdmId: string; orgId: number; name: string }
  | { kind: 'set-datasource'; cdmId: string; mintToken: boolean; why: string }
  | { kind: 'add-user'; cdmId: string; person: GrafanaPerson; role: OrgRole }
  | { kind: 'set-role'; cdmId: string; userId: number; email: string; role: OrgRole }
  | { kind: 'remove-user'; cdmId: string; userId: number; email: string; why: string }
  | { kind: 'save-dashboard'; cdmId: string; uid: string; title: string }
  | { kind: 'save-alert-rule'; cdmId: string; rule: string; title: string; existingUid?: string }
  | { kind: 'delete-org'; cdmId: string; orgId: number; name: string }
  | RouteAction;

/** cdm-admin → Admin, cdm-operator → Editor, cdm-oncall only → Viewer (dashboards while on call). */
export function desiredRoles(d: DesiredTenant): Map<string, { person: Person; role: OrgRole }> {
  const m = new Map<string, { person: Person; role: OrgRole }>();
  for (const p of d.oncall) m.set(p.email, { person: p, role: 'Viewer' });
  for (const p of d.operators) m.set(p.email, { person: p, role: 'Editor' });
  for (const p of d.admins) m.set(p.email, { person: p, role: 'Admin' });
  return m;
}

/**
 * Grafana changes per tenant: an org named after the tenant, marked as ours by its InfluxDB data
 * source (which reads only the tenant's bucket), people with their roles, and the cdm dashboards.
 * A deleted tenant keeps its org and dashboards; its people are removed.
 */
export function planGrafana(desired: DesiredTenant[], actual: GrafanaState, ctx: GrafanaPlanContext, skipped: ReadonlySet<string> = new Set()): GrafanaAction[] {
  const plan: GrafanaAction[] = [];
  const byCdm = new Map(actual.tenants.map((t) => [t.cdmId, t]));
  const unclaimed = new Map(actual.unclaimed.map((o) => [o.name, o.orgId]));
  for (const d of desired) {
    const a = byCdm.get(d.cdmId);
    const roles = desiredRoles(d);
    if (!a) {
      const orgId = unclaimed.get(d.name);
      plan.push(orgId === undefined ? { kind: 'create-org', cdmId: d.cdmId, name: d.name } : { kind: 'adopt-org', cdmId: d.cdmId, orgId, name: d.name });
      plan.push({ kind: 'set-datasource', cdmId: d.cdmId, mintToken: true, why: 'new org' });
      for (const [, r] of roles) plan.push({ kind: 'add-user', cdmId: d.cdmId, person: grafanaPerson(r.person), role: r.role });
      for (const f of ctx.dashboards) plan.push({ kind: 'save-dashboard', cdmId: d.cdmId, uid: f.uid, title: f.title });
      for (const r of ctx.alertRules ?? []) plan.push({ kind: 'save-alert-rule', cdmId: d.cdmId, rule: r.uid, title: r.title });
      if (ctx.routes) plan.push(...planRoutes(d, undefined, ctx.routes));
      continue;
    }
    if (a.name !== d.name) plan.push({ kind: 'rename-org', cdmId: d.cdmId, orgId: a.orgId, name: d.name });
    const tokenOk = !!a.datasource.tokenId && (actual.readTokens.get(d.cdmId) ?? []).includes(a.datasource.tokenId);
    const dsOk = a.datasource.url === ctx.influxUrl && a.datasource.organization === ctx.influxOrg && a.datasource.defaultBucket === bucketName(d.cdmId);
    if (!tokenOk) plan.push({ kind: 'set-datasource', cdmId: d.cdmId, mintToken: true, why: 'its InfluxDB read token is missing or switched off' });
    else if (!dsOk) plan.push({ kind: 'set-datasource', cdmId: d.cdmId, mintToken: false, why: 'edited by hand' });
    const have = new Map(a.users.filter((u) => u.login !== ctx.adminLogin).map((u) => [u.email, u]));
    for (const [email, r] of roles) {
      const u = have.get(email);
      if (!u) plan.push({ kind: 'add-user', cdmId: d.cdmId, person: grafanaPerson(r.person), role: r.role });
      else if (u.role !== r.role) plan.push({ kind: 'set-role', cdmId: d.cdmId, userId: u.userId, email, role: r.role });
    }
    for (const [email, u] of have) if (!roles.has(email)) plan.push({ kind: 'remove-user', cdmId: d.cdmId, userId: u.userId, email, why: 'no cdm role in this tenant' });
    for (const f of ctx.dashboards) {
      if (a.dashboards[f.uid] !== f.sha) plan.push({ kind: 'save-dashboard', cdmId: d.cdmId, uid: f.uid, title: f.title });
    }
    for (const r of ctx.alertRules ?? []) {
      // An operator's edit to a rule stays until the file changes, as with dashboards.
      const have = a.alertRules?.[r.uid];
      if (have?.sha !== r.sha) plan.push({ kind: 'save-alert-rule', cdmId: d.cdmId, rule: r.uid, title: r.title, ...(have ? { existingUid: have.uid } : {}) });
    }
    if (ctx.routes) plan.push(...planRoutes(d, a.routes, ctx.routes));
  }
  const wanted = new Set(desired.map((d) => d.cdmId));
  for (const a of actual.tenants) {
    if (wanted.has(a.cdmId) || skipped.has(a.cdmId)) continue;
    for (const u of a.users) {
      if (u.login !== ctx.adminLogin) plan.push({ kind: 'remove-user', cdmId: a.cdmId, userId: u.userId, email: u.email, why: 'tenant group deleted in Keycloak' });
    }
    // Its people are gone: no one is paged from it (the tree back to Grafana's default, our contact points removed).
    if (ctx.routes && a.routes) plan.push(...planRoutes({ cdmId: a.cdmId, name: a.name, admins: [], operators: [], oncall: [] }, a.routes, ctx.routes));
  }
  return plan;
}

export function purgeGrafana(cdmId: string, actual: GrafanaState): GrafanaAction[] {
  const a = actual.tenants.find((t) => t.cdmId === cdmId);
  return a ? [{ kind: 'delete-org', cdmId, orgId: a.orgId, name: a.name }] : [];
}

const grafanaPerson = (p: Person): GrafanaPerson => ({
  login: p.username || p.email,
  email: p.email,
  name: [p.firstName, p.lastName].filter(Boolean).join(' ') || p.username || p.email,
});
