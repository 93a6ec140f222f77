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
  /** Members of the release-manager group (user id → username): the only people hawkBit rights go to. */
  releaseManagers: Map<string, string>;
}

export type HawkbitAction =
  { kind: 'grant'; cdmId: '*'; userId: string; username: string; roles: string[] } | { kind: 'revoke'; cdmId: '*'; userId: string; username: string; roles: string[]; why: string };

/**
 * hawkBit serves the whole fleet as one hawkBit tenant: its permissions cannot be scoped to a
 * customer, so READ_TARGET would show every customer's devices and HANDLE_ROLLOUT would pause any
 * customer's rollout. Tenant roles therefore grant nothing in hawkBit; its rights go to the
 * manufacturer's release managers (a Keycloak group outside the tenants) and are revoked from
 * everyone else. Customers see update state in ThingsBoard, mirrored per tenant by ota-bridge.
 */
export function planHawkbit(_desired: DesiredTenant[], actual: HawkbitState): HawkbitAction[] {
  const want = new Map<string, { username: string; roles: Set<string> }>();
  for (const [id, username] of actual.releaseManagers) want.set(id, { username, roles: new Set(HAWKBIT_ADMIN) });
  const plan: HawkbitAction[] = [];
  for (const [userId, w] of [...want].sort(([a], [b]) => a.localeCompare(b))) {
    const have = actual.holders.get(userId)?.roles ?? new Set<string>();
    const missing = [...w.roles].filter((r) => !have.has(r)).sort();
    if (missing.length) plan.push({ kind: 'grant', cdmId: '*', userId, username: w.username, roles: missing });
  }
  for (const [userId, h] of [...actual.holders].sort(([a], [b]) => a.localeCompare(b))) {
    const keep = want.get(userId)?.roles ?? new Set<string>();
    const extra = [...h.roles].filter((r) => HAWKBIT_MANAGED.includes(r) && !keep.has(r)).sort();
    if (extra.length) plan.push({ kind: 'revoke', cdmId: '*', userId, username: h.username, roles: extra, why: 'not a release manager' });
  }
  return plan;
}
