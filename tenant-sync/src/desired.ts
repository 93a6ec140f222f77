import type { TenantRole } from '@cdm/common';
import type { DesiredTenant, KeycloakSnapshot, Person } from './model.ts';

/**
 * The desired state of every projection, derived from Keycloak alone. A person's role holds in the
 * tenant whose role subgroup they are in, and nowhere else; a disabled or email-less account is left
 * out (ThingsBoard and Grafana key people by email).
 */
export function desiredTenants(s: KeycloakSnapshot): DesiredTenant[] {
  return s.tenants
    .map((t) => {
      const members = (s.members[t.id] ?? []).filter((p) => p.enabled && p.email);
      const withRole = (role: TenantRole) => byEmail(members.filter((p) => s.roles[t.id]?.[role].has(p.id)));
      return {
        cdmId: t.id,
        name: t.name,
        ...(t.pollingInterval ? { pollingInterval: t.pollingInterval } : {}),
        admins: withRole('admin'),
        operators: withRole('operator'),
        oncall: withRole('oncall'),
      };
    })
    .sort((a, b) => a.name.localeCompare(b.name));
}

function byEmail(people: Person[]): Person[] {
  return [...people].sort((a, b) => a.email.localeCompare(b.email));
}

/** Tenant names become ThingsBoard titles, Grafana org names and bucket names: keep them safe. */
export function validTenantName(name: string): string | undefined {
  if (!/^[A-Za-z0-9][A-Za-z0-9 ._-]{0,62}$/.test(name)) {
    return `tenant group name "${name}" must be 1–63 characters of letters, digits, space, dot, dash or underscore, starting with a letter or digit`;
  }
  return undefined;
}
