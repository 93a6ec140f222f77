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

/** What an incremental read starts from: the last snapshot and the tenants to read again. */
export interface Refresh {
  previous: KeycloakSnapshot;
  tenants: ReadonlySet<string>;
}

/**
 * Reads tenants, members and per-tenant roles from Keycloak with listings only: the parent's
 * subgroups, then per tenant its role subgroups and the members of the group and of each role
 * subgroup — never one request per person. A role is membership of `/tenants/<t>/<admins|operators|oncall>`
 * (see TENANT_ROLE_GROUPS): it holds in that tenant only.
 *
 * With a refresh, only the parent's listing and the named tenants — plus any tenant new, gone or
 * renamed in that listing — are read; the others keep their members from the previous snapshot.
 * `touched` says which tenants were read (undefined: all of them).
 */
export async function readKeycloak(kc: KeycloakClient, parentPath: string, refresh?: Refresh): Promise<KeycloakSnapshot & { touched?: Set<string> }> {
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
  const roleGroupIds: KeycloakSnapshot['roleGroupIds'] = {};
  const missingRoleGroups: KeycloakSnapshot['missingRoleGroups'] = [];
  let touched: Set<string> | undefined;
  let toRead = tenants;
  if (refresh) {
    const before = new Map(refresh.previous.tenants.map((t) => [t.id, t]));
    const changed = (t: (typeof tenants)[number]) => {
      const b = before.get(t.id);
      return !b || b.name !== t.name || b.pollingInterval !== t.pollingInterval;
    };
    // A tenant that lacked role subgroups is read again: tenant-sync created them since.
    const lacking = refresh.previous.missingRoleGroups.map((m) => m.cdmId);
    touched = new Set([...refresh.tenants, ...lacking, ...tenants.filter(changed).map((t) => t.id)]);
    const listed = new Set(tenants.map((t) => t.id));
    for (const id of before.keys()) if (!listed.has(id)) touched.add(id);
    toRead = tenants.filter((t) => touched!.has(t.id));
    const p = refresh.previous;
    for (const t of tenants) {
      if (touched.has(t.id)) continue;
      members[t.id] = p.members[t.id] ?? [];
      roles[t.id] = p.roles[t.id]!;
      roleGroupIds[t.id] = p.roleGroupIds[t.id] ?? [];
    }
  }
  await mapLimit(toRead, READ_CONCURRENCY, async (t) => {
    const subs = new Map((await kc.listSubGroups(t.id)).filter((g) => g.id && g.name).map((g) => [g.name!, g.id!]));
    roleGroupIds[t.id] = [...subs.values()];
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
  return { tenants, members, roles, roleGroupIds, missingRoleGroups, ...(touched ? { touched } : {}) };
}
