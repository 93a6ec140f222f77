import crypto from 'node:crypto';
import type { KeycloakClient, Logger } from '@cdm/common';
import { desiredTenants, validTenantName } from './desired.ts';
import { readKeycloak } from './keycloak-snapshot.ts';
import type { DesiredTenant, KeycloakSnapshot } from './model.ts';
import { byTenant, type Action, type Projection } from './projection.ts';
import { indexSnapshot, type TenantIndex } from './scope.ts';

export interface SystemPlan {
  system: string;
  /** Set when reading this system failed: nothing is planned for it this pass. */
  error?: string;
  actions: Action[];
}

export interface Plan {
  tenants: DesiredTenant[];
  invalid: { cdmId: string; name: string; reason: string }[];
  /** Role subgroups a tenant lacks: created empty (a place to grant the role in, never a grant). */
  roleGroups: { cdmId: string; group: string }[];
  systems: SystemPlan[];
  /** The tenants this plan read and covers in the per-tenant systems; undefined: all. */
  touched?: ReadonlySet<string>;
}

export interface PassResult {
  runId: string;
  tenants: number;
  /** The tenants read again after a Keycloak change; undefined for a full pass. */
  touched?: string[];
  applied: number;
  failed: { cdmId: string; system: string; error: string }[];
  ms: number;
}

const isRemoval = (a: Action) => /^(delete|remove|revoke|disable)-?/.test(a.kind);

export interface TenantSyncOptions {
  keycloak: KeycloakClient;
  /** In apply order: InfluxDB before Grafana (a Grafana data source needs its bucket). */
  projections: Projection<any, any>[]; // eslint-disable-line @typescript-eslint/no-explicit-any
  logger: Logger;
  parentGroup: string;
}

/**
 * Reconcile: read Keycloak (the owner) and every projection, plan, apply. Each system and each
 * tenant within it is applied on its own, so one failure never stops the rest; the next pass
 * retries it. Passes never overlap.
 *
 * A pass is full (every tenant, every system) or, given the tenants a Keycloak change named, reads
 * only those again — in Keycloak and in the per-tenant systems — and keeps the rest from the last
 * snapshot, so its cost follows the change, not the number of tenants. What a pass left failed is
 * read again by the next; after a system or Keycloak could not be read, the next pass is full.
 */
export class TenantSync {
  private running?: Promise<PassResult>;
  private last?: PassResult;
  private snapshot?: KeycloakSnapshot;
  private retry = new Set<string>();
  private fullNext = true;
  private indexed?: { of: KeycloakSnapshot; index: TenantIndex };

  constructor(private readonly o: TenantSyncOptions) {}

  /** Which tenant a Keycloak group or user belongs to, as the last pass read it. */
  index(): TenantIndex | undefined {
    if (!this.snapshot) return undefined;
    if (this.indexed?.of !== this.snapshot) this.indexed = { of: this.snapshot, index: indexSnapshot(this.snapshot) };
    return this.indexed.index;
  }

  describe(system: string, a: Action): Record<string, unknown> {
    return { cdmId: a.cdmId, ...this.projection(system).describe(a) };
  }

  /** Plans every tenant, or (given tenants, after a first full read) those and what the parent's listing shows changed. */
  async plan(tenantsChanged?: ReadonlySet<string>): Promise<Plan> {
    const refresh = tenantsChanged && this.snapshot && !this.fullNext ? { previous: this.snapshot, tenants: new Set([...tenantsChanged, ...this.retry]) } : undefined;
    const snapshot = await readKeycloak(this.o.keycloak, this.o.parentGroup, refresh);
    const { touched } = snapshot;
    const invalid: Plan['invalid'] = [];
    const tenants = desiredTenants(snapshot).filter((t) => {
      const reason = validTenantName(t.name);
      if (reason) invalid.push({ cdmId: t.cdmId, name: t.name, reason });
      return !reason;
    });
    // An invalid group is skipped, not treated as deleted: its projections stay as they are.
    const skipped = new Set(invalid.map((i) => i.cdmId));
    const systems = await Promise.all(
      this.o.projections.map(async (p): Promise<SystemPlan> => {
        try {
          if (touched && p.perTenant)
            return {
              system: p.system,
              actions: p.plan(
                tenants.filter((t) => touched.has(t.cdmId)),
                await p.read(touched),
                skipped,
                tenants,
              ),
            };
          return { system: p.system, actions: p.plan(tenants, await p.read(), skipped) };
        } catch (err) {
          return { system: p.system, error: (err as Error).message, actions: [] };
        }
      }),
    );
    this.snapshot = snapshot;
    return { tenants, invalid, roleGroups: snapshot.missingRoleGroups, systems, ...(touched ? { touched } : {}) };
  }

  /**
   * One pass — full, or over the tenants a Keycloak change named (see plan). A caller arriving
   * while one runs gets that pass's result (its tenants are not added: Triggers keeps them for the next).
   */
  apply(tenantsChanged?: ReadonlySet<string>): Promise<PassResult> {
    this.running ??= this.pass(tenantsChanged).finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async pass(tenantsChanged?: ReadonlySet<string>): Promise<PassResult> {
    const runId = crypto.randomUUID().slice(0, 8);
    const log = this.o.logger.child({ runId });
    const started = Date.now();
    const result: PassResult = { runId, tenants: 0, applied: 0, failed: [], ms: 0 };
    const done = () => {
      result.ms = Date.now() - started;
      log.info({ tenants: result.tenants, ...(result.touched ? { touched: result.touched.length } : {}), applied: result.applied, failed: result.failed.length, ms: result.ms }, 'pass done');
      this.last = result;
      // Failed tenants are read again next time; a system (or Keycloak) that could not be read makes the next pass full.
      this.retry = new Set(result.failed.map((f) => f.cdmId).filter((id) => id !== '*'));
      this.fullNext = result.failed.some((f) => f.cdmId === '*');
      return result;
    };
    let plan: Plan;
    try {
      plan = await this.plan(tenantsChanged);
    } catch (err) {
      log.error({ err: (err as Error).message }, 'reading Keycloak failed; nothing changed, retrying next cycle');
      result.failed.push({ cdmId: '*', system: 'keycloak', error: (err as Error).message });
      return done();
    }
    result.tenants = plan.tenants.length;
    if (plan.touched) result.touched = [...plan.touched];
    for (const i of plan.invalid) {
      log.warn(i, 'tenant group skipped');
      result.failed.push({ cdmId: i.cdmId, system: 'keycloak', error: i.reason });
    }
    for (const g of plan.roleGroups) {
      try {
        await this.o.keycloak.createGroup(g.group, g.cdmId);
        log.info(g, 'role subgroup created in Keycloak (empty)');
      } catch (err) {
        result.failed.push({ cdmId: g.cdmId, system: 'keycloak', error: `creating role subgroup ${g.group}: ${(err as Error).message}` });
      }
    }
    for (const s of plan.systems) {
      if (s.error) {
        log.error({ system: s.system, err: s.error }, 'reading failed; this system is retried next cycle');
        result.failed.push({ cdmId: '*', system: s.system, error: s.error });
        continue;
      }
      if (!s.actions.length) log.info({ system: s.system, tenants: result.tenants }, 'in line, nothing to write');
      result.applied += await this.applySystem(s, log, result);
    }
    return done();
  }

  private async applySystem(s: SystemPlan, log: Logger, result: PassResult): Promise<number> {
    const p = this.projection(s.system);
    // Removals everywhere first: an email or name freed in one tenant may be taken in another in
    // the same pass (ThingsBoard emails are unique across tenants).
    const first = (a: Action) => (p.freesNames ? p.freesNames(a) : isRemoval(a));
    const removals = s.actions.filter(first);
    const rest = s.actions.filter((a) => !first(a));
    let applied = 0;
    const failed = new Set<string>();
    for (const phase of [removals, rest]) {
      // '*' actions (org-wide) go first: tenants' actions may depend on them.
      const groups = [...byTenant(phase)].sort(([a], [b]) => (a === '*' ? -1 : b === '*' ? 1 : 0));
      for (const [cdmId, actions] of groups) {
        if (failed.has(cdmId)) continue; // one error per tenant and pass; the next pass retries
        try {
          await p.apply(cdmId, actions);
          applied += actions.length;
          for (const a of actions) log.info({ system: s.system, cdmId, ...p.describe(a) }, 'applied');
        } catch (err) {
          failed.add(cdmId);
          log.error({ system: s.system, cdmId, err: (err as Error).message }, 'tenant failed; retrying next cycle');
          result.failed.push({ cdmId, system: s.system, error: (err as Error).message });
        }
      }
    }
    return applied;
  }

  private projection(system: string): Projection<unknown, Action> {
    const p = this.o.projections.find((x) => x.system === system);
    if (!p) throw new Error(`no projection ${system}`);
    return p;
  }
}
