import type { PolicyRoute } from '@cdm/common';
import { personUrl } from './escalation-plan.ts';
import type { DesiredTenant } from './model.ts';

/**
 * Grafana's side of escalation, per tenant org, from the same Keycloak roles and webhook as
 * ThingsBoard's (escalation-plan.ts): contact points "cdm operators" and "cdm oncall" (one
 * webhook integration per person), and a policy tree — every alert to the operators; a critical
 * one (the alert rules' severity label) to the operators and, when still firing after the
 * escalation delay, to on-call. Grafana has no acknowledgement: silencing the alert is how an
 * operator stops it reaching on-call.
 */
export const OPERATORS = 'cdm operators';
export const ONCALL = 'cdm oncall';
/** The contact point every Grafana org has: the root of a tree with no operators. */
export const DEFAULT_RECEIVER = 'grafana-default-email';
const OWNED = new Set([OPERATORS, ONCALL]);

export interface GrafanaRoutesState {
  points: { uid: string; name: string; url: string }[];
  tree: PolicyRoute;
}

export type RouteAction =
  | { kind: 'create-contact-point'; cdmId: string; name: string; url: string }
  | { kind: 'put-policy-tree'; cdmId: string; tree: PolicyRoute }
  | { kind: 'delete-contact-point'; cdmId: string; uid: string; name: string; url: string };

export interface RoutesContext {
  webhookUrl: string;
  escalateAfterS: number;
}

const critical: [string, string, string][] = [['severity', '=', 'critical']];

export function desiredRoutes(d: DesiredTenant, o: RoutesContext): { points: { name: string; url: string }[]; tree: PolicyRoute } {
  const points = [
    ...d.operators.map((p) => ({ name: OPERATORS, url: personUrl(o.webhookUrl, d.cdmId, 'operator', p.id) })),
    ...d.oncall.map((p) => ({ name: ONCALL, url: personUrl(o.webhookUrl, d.cdmId, 'oncall', p.id) })),
  ];
  const root = d.operators.length ? OPERATORS : DEFAULT_RECEIVER;
  const tree: PolicyRoute = {
    receiver: root,
    group_by: ['grafana_folder', 'alertname'],
    routes: d.oncall.length
      ? [
          { receiver: root, object_matchers: critical, continue: true },
          { receiver: ONCALL, object_matchers: critical, group_wait: `${o.escalateAfterS}s` },
        ]
      : [],
  };
  return { points, tree };
}

/** The parts of a tree cdm sets, in a stable form: what Grafana adds (provenance, defaults) is not compared. */
export function treeKey(t: PolicyRoute | undefined): string {
  const norm = (r: PolicyRoute): unknown => ({
    receiver: r.receiver,
    group_by: r.group_by ?? [],
    object_matchers: r.object_matchers ?? [],
    continue: r.continue ?? false,
    group_wait: r.group_wait ?? null,
    routes: (r.routes ?? []).map(norm),
  });
  return JSON.stringify(t ? norm(t) : null);
}

/** Pure: contact points first, then the tree that names them, then the integrations no longer wanted. */
export function planRoutes(d: DesiredTenant, have: GrafanaRoutesState | undefined, o: RoutesContext): RouteAction[] {
  const want = desiredRoutes(d, o);
  const current = (have?.points ?? []).filter((p) => OWNED.has(p.name));
  const key = (p: { name: string; url: string }) => `${p.name}\u0000${p.url}`;
  const haveKeys = new Set(current.map(key));
  const wantKeys = new Set(want.points.map(key));
  const plan: RouteAction[] = [];
  for (const p of want.points) if (!haveKeys.has(key(p))) plan.push({ kind: 'create-contact-point', cdmId: d.cdmId, ...p });
  if (treeKey(have?.tree) !== treeKey(want.tree)) plan.push({ kind: 'put-policy-tree', cdmId: d.cdmId, tree: want.tree });
  for (const p of current) if (!wantKeys.has(key(p))) plan.push({ kind: 'delete-contact-point', cdmId: d.cdmId, uid: p.uid, name: p.name, url: p.url });
  return plan;
}
