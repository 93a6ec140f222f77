/** What Keycloak says (the owner of tenants and people), reduced to what the projections need. */
export const ROLES = ['cdm-admin', 'cdm-operator', 'cdm-oncall'] as const;
export type CdmRole = (typeof ROLES)[number];

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
}

export interface KeycloakSnapshot {
  tenants: TenantGroup[];
  members: Record<string, Person[]>; // group id → members
  roles: Record<CdmRole, Set<string>>; // role → user ids (effective realm roles)
}

/** One tenant as every projection should see it. */
export interface DesiredTenant {
  cdmId: string;
  name: string;
  admins: Person[];
  operators: Person[];
  oncall: Person[];
}
