import { TENANT_ROLE_GROUPS, type KeycloakClient, type TenantRole, type UserRepresentation } from '@cdm/common';
import { mapLimit, READ_CONCURRENCY } from './projection.ts';
import type { KeycloakSnapshot, Person } from './model.ts';

/** A tenant's own hawkBit polling interval, set on its Keycloak group (the owner of tenant settings). */
export const POLLING_ATTRIBUTE = 'pollingInterval';

const person = (u: UserRepresentation): Person => ({
  id: u.id!,
  username: u.username ?? '',
  email: (u.email ?? '').toLowerCase(),
  firstName: u.firstName,
  lastName: u.lastName,
  enabled: u.enabled !== false,
});

/**
 * Reads tenants, members and per-tenant roles from Keycloak with listings only: the parent's
 * subgroups, then per tenant its role subgroups and the members of the group and of each role
 * subgroup — never one request per person. A role is membership of `/tenants/<t>/<admins|operators|oncall>`
 * (see TENANT_ROLE_GROUPS): it holds in that tenant only.
 */
export async function readKeycloak(kc: KeycloakClient, parentPath: string): Promise<KeycloakSnapshot> {
  const parent = await kc.getGroupByPath(parentPath);
  if (!parent?.id) throw new Error(`Keycloak: tenant parent group ${parentPath} not found in realm ${kc.realm} — create it or set TENANT_PARENT_GROUP`);
  const groups = await kc.listSubGroups(parent.id);
  const tenants = groups
    .filter((g) => g.id && g.name)
    .map((g) => {
      const polling = g.attributes?.[POLLING_ATTRIBUTE]?.[0];
      return { id: g.id!, name: g.name!, ...(polling ? { pollingInterval: polling } : {}) };
    });
  const members: KeycloakSnapshot['members'] = {};
  const roles: KeycloakSnapshot['roles'] = {};
  const missingRoleGroups: KeycloakSnapshot['missingRoleGroups'] = [];
  await mapLimit(tenants, READ_CONCURRENCY, async (t) => {
    const subs = new Map((await kc.listSubGroups(t.id)).filter((g) => g.id && g.name).map((g) => [g.name!, g.id!]));
    const people = new Map((await kc.listMembers(t.id)).filter((u) => u.id).map((u) => [u.id!, person(u)]));
    const byRole = {} as Record<TenantRole, Set<string>>;
    for (const [group, role] of Object.entries(TENANT_ROLE_GROUPS)) {
      byRole[role] = new Set();
      const id = subs.get(group);
      if (!id) {
        missingRoleGroups.push({ cdmId: t.id, group });
        continue;
      }
      for (const u of await kc.listMembers(id)) {
        if (!u.id) continue;
        byRole[role].add(u.id);
        people.set(u.id, person(u));
      }
    }
    members[t.id] = [...people.values()];
    roles[t.id] = byRole;
  });
  return { tenants, members, roles, missingRoleGroups };
}
