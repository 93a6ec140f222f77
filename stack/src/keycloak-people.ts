import { TENANT_ROLE_GROUPS, type KeycloakClient, type TenantRole } from '@cdm/common';

export interface TestTenant {
  id: string;
  /** Role subgroup ids: admins, operators, oncall. */
  roles: Record<TenantRole, string>;
}

/** A tenant as ops make it: a group under /tenants with its three role subgroups (what tenant-sync also ensures). */
export async function createTenantGroup(kc: KeycloakClient, name: string, parentPath = '/tenants'): Promise<TestTenant> {
  const parent = await kc.getGroupByPath(parentPath);
  if (!parent?.id) throw new Error(`Keycloak: no ${parentPath} group (import the cdm realm)`);
  const id = await kc.createGroup(name, parent.id);
  const roles = {} as Record<TenantRole, string>;
  for (const [group, role] of Object.entries(TENANT_ROLE_GROUPS)) roles[role] = await kc.createGroup(group, id);
  return { id, roles };
}

/** A person with a password, member of the given groups (a tenant group, or a tenant's role subgroup). */
export async function createPerson(kc: KeycloakClient, p: { username: string; password: string; groups: string[]; email?: string }): Promise<string> {
  const id = await kc.createUser({ username: p.username, email: p.email ?? `${p.username}@e2e.example`, firstName: 'E2e', lastName: 'Person', password: p.password });
  for (const g of p.groups) await kc.addUserToGroup(id, g);
  return id;
}
