import type { Operation, TenantRole } from '@cdm/common';

/**
 * Who may do what on a tenant's devices: the permission table, enforced by the API and printed in
 * the OpenAPI document. Roles are the tenant's Keycloak role subgroups (admins, operators, oncall);
 * a plain member of the tenant may do nothing here. Operations that destroy state on the device
 * (factory reset, recovery) and firmware deployments are admins' only.
 */
export type Action =
  | 'devices.read'
  | 'devices.register'
  | 'devices.metadata'
  | 'shadow.read'
  | 'shadow.write'
  | `command.${Operation}`
  | 'groups.read'
  | 'groups.cancel'
  | 'audit.read'
  | 'deployments.read'
  | 'deployments.write';

const ALL: readonly TenantRole[] = ['admin', 'operator', 'oncall'];
const ADMIN_OPERATOR: readonly TenantRole[] = ['admin', 'operator'];
const ADMIN: readonly TenantRole[] = ['admin'];

export const PERMISSIONS: Readonly<Record<Action, readonly TenantRole[]>> = {
  'devices.read': ALL,
  // A claim lets a device join the tenant: as enroll-bridge's admin API, admins only.
  'devices.register': ADMIN,
  'devices.metadata': ADMIN_OPERATOR,
  'shadow.read': ALL,
  'shadow.write': ADMIN_OPERATOR,
  // On-call engineers are woken to fix a device: they may reboot it and ask it for diagnostics.
  'command.reboot': ALL,
  'command.diagnostics': ALL,
  'command.config-apply': ADMIN_OPERATOR,
  'command.factory-reset': ADMIN,
  'command.recovery': ADMIN,
  'groups.read': ALL,
  // Cancelling stops what is not yet sent; anyone who may start group operations may stop them.
  'groups.cancel': ADMIN_OPERATOR,
  'audit.read': ADMIN,
  'deployments.read': ALL,
  // Firmware on a customer's devices is the customer admin's call (hawkBit's own UI stays with release managers).
  'deployments.write': ADMIN,
};

export const rolesFor = (action: Action): readonly TenantRole[] => PERMISSIONS[action];

/** The table as the OpenAPI document and the note print it. */
export const permissionTable = (): string =>
  Object.entries(PERMISSIONS)
    .map(([a, roles]) => `| ${a} | ${roles.join(', ')} |`)
    .join('\n');

/** The actions `held` roles allow, in the table's order. */
export const allowedActions = (held: ReadonlySet<string>): Action[] => (Object.keys(PERMISSIONS) as Action[]).filter((a) => PERMISSIONS[a].some((r) => held.has(r)));
