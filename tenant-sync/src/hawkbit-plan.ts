import type { DesiredTenant } from './model.ts';

/**
 * hawkBit authorises by permission names (SpPermission: READ_TARGET, HANDLE_ROLLOUT, ...). With its
 * OAuth2 resource server on, it reads them verbatim from the access token's roles claim; Keycloak
 * puts a client's roles there (resource_access.<client>.roles). So hawkBit rights are client roles
 * of the `hawkbit` client, granted here per person. The names are hawkBit 1.0.4's own: a name it
 * does not know grants nothing (compose/src/hawkbit.e2e.test.ts checks each against the server).
 */
export const HAWKBIT_OPERATOR = ['READ_TARGET', 'READ_DISTRIBUTION_SET', 'READ_SOFTWARE_MODULE', 'READ_ROLLOUT', 'HANDLE_ROLLOUT'] as const;
/** UPDATE_DISTRIBUTION_SET: hawkBit locks a set when a rollout first uses it, which needs it (seen on 1.0.4). */
export const HAWKBIT_ADMIN = [...HAWKBIT_OPERATOR, 'UPDATE_TARGET', 'CREATE_ROLLOUT', 'UPDATE_DISTRIBUTION_SET', 'UPDATE_ROLLOUT', 'APPROVE_ROLLOUT'] as const;
export const HAWKBIT_MANAGED: readonly string[] = HAWKBIT_ADMIN;

export interface HawkbitState {
  /** user id → managed hawkBit roles the user holds now. */
  holders: Map<string, { username: string; roles: Set<string> }>;
}

export type HawkbitAction =
  | { kind: 'grant'; cdmId: '*'; userId: string; username: string; roles: string[] }
  | { kind: 'revoke'; cdmId: '*'; userId: string; username: string; roles: string[]; why: string };

/** Rights are the union over the person's tenants; someone with no cdm role anywhere has none. */
export function planHawkbit(desired: DesiredTenant[], actual: HawkbitState): HawkbitAction[] {
  const want = new Map<string, { username: string; roles: Set<string> }>();
  const give = (id: string, username: string, roles: readonly string[]) => {
    const e = want.get(id) ?? { username, roles: new Set<string>() };
    for (const r of roles) e.roles.add(r);
    want.set(id, e);
  };
  for (const d of desired) {
    for (const p of d.operators) give(p.id, p.username, HAWKBIT_OPERATOR);
    for (const p of d.admins) give(p.id, p.username, HAWKBIT_ADMIN);
  }
  const plan: HawkbitAction[] = [];
  for (const [userId, w] of [...want].sort(([a], [b]) => a.localeCompare(b))) {
    const have = actual.holders.get(userId)?.roles ?? new Set<string>();
    const missing = [...w.roles].filter((r) => !have.has(r)).sort();
    if (missing.length) plan.push({ kind: 'grant', cdmId: '*', userId, username: w.username, roles: missing });
  }
  for (const [userId, h] of [...actual.holders].sort(([a], [b]) => a.localeCompare(b))) {
    const keep = want.get(userId)?.roles ?? new Set<string>();
    const extra = [...h.roles].filter((r) => HAWKBIT_MANAGED.includes(r) && !keep.has(r)).sort();
    if (extra.length) plan.push({ kind: 'revoke', cdmId: '*', userId, username: h.username, roles: extra, why: keep.size ? 'fewer cdm roles' : 'no cdm-operator or cdm-admin role in any tenant' });
  }
  return plan;
}
