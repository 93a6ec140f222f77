import type { KeycloakClient } from '@cdm/common';
import { mapLimit, READ_CONCURRENCY } from './projection.ts';
import { ROLES, type CdmRole, type KeycloakSnapshot, type Person } from './model.ts';

/**
 * Reads tenants, members and roles from Keycloak with listings only: one paged listing of the
 * parent's subgroups, one per tenant for its members, one per role for its users — never one
 * request per person. Roles count when mapped to the user directly (Keycloak's role-users listing
 * does not expand group role mappings).
 */
export async function readKeycloak(kc: KeycloakClient, parentPath: string): Promise<KeycloakSnapshot> {
  const parent = await kc.getGroupByPath(parentPath);
  if (!parent?.id) throw new Error(`Keycloak: tenant parent group ${parentPath} not found in realm ${kc.realm} — create it or set TENANT_PARENT_GROUP`);
  const groups = await kc.listSubGroups(parent.id);
  const tenants = groups.filter((g) => g.id && g.name).map((g) => ({ id: g.id!, name: g.name! }));
  const members: Record<string, Person[]> = {};
  await mapLimit(tenants, READ_CONCURRENCY, async (t) => {
    members[t.id] = (await kc.listMembers(t.id)).filter((u) => u.id).map((u) => ({
      id: u.id!,
      username: u.username ?? '',
      email: (u.email ?? '').toLowerCase(),
      firstName: u.firstName,
      lastName: u.lastName,
      enabled: u.enabled !== false,
    }));
  });
  const roles = {} as Record<CdmRole, Set<string>>;
  for (const r of ROLES) roles[r] = new Set((await kc.usersWithRole(r)).map((u) => u.id!).filter(Boolean));
  return { tenants, members, roles };
}
