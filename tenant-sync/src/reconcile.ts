import crypto from 'node:crypto';
import type { KeycloakClient, Logger } from '@cdm/common';
import { desiredTenants, validTenantName } from './desired.ts';
import { readKeycloak } from './keycloak-snapshot.ts';
import type { DesiredTenant } from './model.ts';
import { byTenant, type Action, type Projection } from './projection.ts';

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
}

export interface PassResult {
  runId: string;
  tenants: number;
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
 */
export class TenantSync {
  private running?: Promise<PassResult>;
  private last?: PassResult;

  constructor(private readonly o: TenantSyncOptions) {}

  describe(system: string, a: Action): Record<string, unknown> {
    return { cdmId: a.cdmId, ...this.projection(system).describe(a) };
  }

  async plan(): Promise<Plan> {
    const snapshot = await readKeycloak(this.o.keycloak, this.o.parentGroup);
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
          return { system: p.system, actions: p.plan(tenants, await p.read(), skipped) };
        } catch (err) {
          return { system: p.system, error: (err as Error).message, actions: [] };
        }
      }),
    );
    return { tenants, invalid, roleGroups: snapshot.missingRoleGroups, systems };
  }

  /** One pass; a caller arriving while one runs gets that pass's result. */
  apply(): Promise<PassResult> {
    this.running ??= this.pass().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async pass(): Promise<PassResult> {
    const runId = crypto.randomUUID().slice(0, 8);
    const log = this.o.logger.child({ runId });
    const started = Date.now();
    const result: PassResult = { runId, tenants: 0, applied: 0, failed: [], ms: 0 };
    const done = () => {
      result.ms = Date.now() - started;
      log.info({ tenants: result.tenants, applied: result.applied, failed: result.failed.length, ms: result.ms }, 'pass done');
      this.last = result;
      return result;
    };
    let plan: Plan;
    try {
      plan = await this.plan();
    } catch (err) {
      log.error({ err: (err as Error).message }, 'reading Keycloak failed; nothing changed, retrying next cycle');
      result.failed.push({ cdmId: '*', system: 'keycloak', error: (err as Error).message });
      return done();
    }
    result.tenants = plan.tenants.length;
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
