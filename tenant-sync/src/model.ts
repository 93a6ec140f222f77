import type { TenantRole } from '@cdm/common';

/** What Keycloak says (the owner of tenants and people), reduced to what the projections need. */

export interface Person {
  id: string; // Keycloak user id
  username: string;
  email: string;
  firstName?: string;
  lastName?: string;
  enabled: boolean;
}

export interface TenantGroup {
  id: string; // Keycloak group id: the stable cdm tenant id
  name: string; // group name: the tenant's display name everywhere
  /** The group attribute `pollingInterval` (HH:MM:SS): how often this tenant's devices poll hawkBit when idle. */
  pollingInterval?: string;
}

export interface KeycloakSnapshot {
  tenants: TenantGroup[];
  members: Record<string, Person[]>; // group id → members (of the group or of one of its role subgroups)
  /** group id → role → user ids: members of the tenant's role subgroups (admins, operators, oncall). */
  roles: Record<string, Record<TenantRole, Set<string>>>;
  /** group id → the ids of its role subgroups, to tell which tenant an admin event names. */
  roleGroupIds: Record<string, string[]>;
  /** Tenants lacking role subgroups (tenant-sync creates them: the place to grant a role, never a grant). */
  missingRoleGroups: { cdmId: string; group: string }[];
}

/** One tenant as every projection should see it. */
export interface DesiredTenant {
  cdmId: string;
  name: string;
  pollingInterval?: string;
  admins: Person[];
  operators: Person[];
  oncall: Person[];
}
