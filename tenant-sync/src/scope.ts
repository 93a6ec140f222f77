import type { AdminEventRepresentation } from '@cdm/common';
import type { KeycloakSnapshot } from './model.ts';

/** Admin events that can change a tenant, a membership or a role. */
const RELEVANT = new Set(['GROUP', 'GROUP_MEMBERSHIP', 'USER', 'REALM_ROLE_MAPPING', 'CLIENT_ROLE_MAPPING', 'REALM_ROLE']);

/** What a run of admin events asks for: a pass (relevant), and which tenants it must re-read. */
export interface EventScope {
  relevant: boolean;
  tenants: Set<string>;
}

/** Which tenant a Keycloak group or user belongs to, from the last snapshot (ids only: names are not authority). */
export interface TenantIndex {
  tenantOfGroup(groupId: string): string | undefined;
  tenantsOfUser(userId: string): string[];
}

export function indexSnapshot(s: KeycloakSnapshot): TenantIndex {
  const groups = new Map<string, string>();
  for (const t of s.tenants) groups.set(t.id, t.id);
  for (const [cdmId, ids] of Object.entries(s.roleGroupIds)) for (const id of ids) groups.set(id, cdmId);
  const users = new Map<string, string[]>();
  for (const [cdmId, people] of Object.entries(s.members)) for (const p of people) users.set(p.id, [...(users.get(p.id) ?? []), cdmId]);
  return { tenantOfGroup: (id) => groups.get(id), tenantsOfUser: (id) => users.get(id) ?? [] };
}

/**
 * Pure: the tenants named by the events newer than `after`, by the ids in their resource paths —
 * `groups/<id>[/…]` (a tenant group or one of its role subgroups, or a subgroup created under it),
 * `users/<id>/groups/<id>` (a membership: that tenant and the person's others), `users/<id>` (a
 * person's name, email or state: every tenant they were in). A group or user unknown to the index names no tenant: a new tenant group
 * shows up in the parent's listing, which every pass reads, and role mappings matter only to the
 * projections that always read in full.
 */
export function eventScope(events: AdminEventRepresentation[], after: number, index: TenantIndex | undefined): EventScope {
  const scope: EventScope = { relevant: false, tenants: new Set() };
  for (const e of events) {
    if ((e.time ?? 0) <= after || !RELEVANT.has(String(e.resourceType))) continue;
    scope.relevant = true;
    if (!index) continue;
    const path = (e.resourcePath ?? '').split('/');
    const add = (ids: (string | undefined)[]) => ids.forEach((id) => id && scope.tenants.add(id));
    if (path[0] === 'groups' && path[1]) add([index.tenantOfGroup(path[1])]);
    if (path[0] === 'users' && path[1]) {
      // A membership names the person's other tenants too: in ThingsBoard their plain email may move between them.
      if (path[2] === 'groups' && path[3]) add([index.tenantOfGroup(path[3]), ...index.tenantsOfUser(path[1])]);
      else if (path.length === 2) add(index.tenantsOfUser(path[1]));
    }
  }
  return scope;
}
