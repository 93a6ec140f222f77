import type { DesiredTenant } from './model.ts';

/** Every planned change names the tenant it belongs to ('*' for changes that span tenants). */
export interface Action {
  cdmId: string;
  kind: string;
}

/**
 * One system kept in line with Keycloak. read() lists what the system holds (by pages), plan() is
 * pure, apply() writes one tenant's actions in order. A read that fails skips this system for the
 * pass; the others still sync.
 */
export interface Projection<S = unknown, A extends Action = Action> {
  readonly system: string;
  /**
   * True when read(tenants) reads only those tenants and plan() then touches only the tenants it is
   * given: a pass after a Keycloak change re-reads and plans just the tenants it named. Otherwise
   * (a system-wide listing, one value for all tenants) every pass reads and plans it in full.
   */
  readonly perTenant?: boolean;
  read(tenants?: ReadonlySet<string>): Promise<S>;
  /** `everyone`: every tenant, for facts that span tenants (when `desired` is some of them). */
  plan(desired: DesiredTenant[], actual: S, skipped: ReadonlySet<string>, everyone?: DesiredTenant[]): A[];
  apply(cdmId: string, actions: A[]): Promise<void>;
  /** Log and print form: names an operator recognises, never a secret. */
  describe(a: A): Record<string, unknown>;
  /**
   * Whether an action frees a name another tenant may take in the same pass, so it runs before
   * every tenant's other actions (default: deletions, removals, revocations, disablings). A
   * projection whose names are per tenant keeps its plan's order by answering false.
   */
  freesNames?(a: A): boolean;
}

/** Groups actions by tenant, keeping their order within a tenant. */
export function byTenant<A extends Action>(actions: A[]): Map<string, A[]> {
  const m = new Map<string, A[]>();
  for (const a of actions) {
    const list = m.get(a.cdmId);
    if (list) list.push(a);
    else m.set(a.cdmId, [a]);
  }
  return m;
}

export { collect } from '@cdm/common';

export { mapLimit } from '@cdm/common';

/** Tenants read at once per upstream. */
export const READ_CONCURRENCY = 8;
