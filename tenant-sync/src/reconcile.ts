import crypto from 'node:crypto';
import type { KeycloakClient, Logger } from '@cdm/common';
import { desiredTenants, validTenantName } from './desired.ts';
import { readKeycloak } from './keycloak-snapshot.ts';
import type { DesiredTenant } from './model.ts';
import { planThingsBoard, type TbAction } from './thingsboard-plan.ts';
import type { ThingsBoardSync } from './thingsboard-sync.ts';

export interface Plan {
  tenants: DesiredTenant[];
  invalid: { cdmId: string; reason: string }[];
  thingsboard: TbAction[];
}

export interface PassResult {
  runId: string;
  tenants: number;
  applied: number;
  failed: { cdmId: string; system: string; error: string }[];
}

export interface TenantSyncOptions {
  keycloak: KeycloakClient;
  thingsboard: ThingsBoardSync;
  logger: Logger;
  parentGroup: string;
}

/**
 * One reconcile pass: read Keycloak (the owner), read each projection, plan, apply. Each tenant is
 * applied on its own, so one failing tenant does not stop the others; the next pass retries it.
 * Passes never overlap.
 */
export class TenantSync {
  private running?: Promise<PassResult>;

  constructor(private readonly o: TenantSyncOptions) {}

  async plan(): Promise<Plan> {
    const snapshot = await readKeycloak(this.o.keycloak, this.o.parentGroup);
    const invalid: Plan['invalid'] = [];
    const tenants = desiredTenants(snapshot).filter((t) => {
      const reason = validTenantName(t.name);
      if (reason) invalid.push({ cdmId: t.cdmId, reason });
      return !reason;
    });
    // An invalid group is skipped, not treated as deleted: its projections stay as they are.
    const skipped = new Set(invalid.map((i) => i.cdmId));
    const tb = (await this.o.thingsboard.read()).filter((s) => !skipped.has(s.cdmId));
    return { tenants, invalid, thingsboard: planThingsBoard(tenants, tb) };
  }

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
    const result: PassResult = { runId, tenants: 0, applied: 0, failed: [] };
    let plan: Plan;
    try {
      plan = await this.plan();
    } catch (err) {
      log.error({ err: (err as Error).message }, 'reading the upstreams failed; retrying next cycle');
      result.failed.push({ cdmId: '*', system: 'read', error: (err as Error).message });
      return result;
    }
    result.tenants = plan.tenants.length;
    for (const i of plan.invalid) {
      log.warn(i, 'tenant group skipped');
      result.failed.push({ cdmId: i.cdmId, system: 'keycloak', error: i.reason });
    }
    const tenantIds = new Map((await this.o.thingsboard.read()).map((s) => [s.cdmId, s.tenantId]));
    for (const [cdmId, actions] of group(plan.thingsboard)) {
      try {
        await this.o.thingsboard.apply(actions, tenantIds);
        result.applied += actions.length;
        for (const a of actions) log.info({ cdmId, system: 'thingsboard', ...describe(a) }, 'applied');
      } catch (err) {
        log.error({ cdmId, system: 'thingsboard', err: (err as Error).message }, 'tenant failed; retrying next cycle');
        result.failed.push({ cdmId, system: 'thingsboard', error: (err as Error).message });
      }
    }
    if (!plan.thingsboard.length) log.info({ tenants: result.tenants }, 'ThingsBoard in line, nothing to write');
    log.info({ tenants: result.tenants, applied: result.applied, failed: result.failed.length, ms: Date.now() - started }, 'pass done');
    return result;
  }
}

function group(actions: TbAction[]): Map<string, TbAction[]> {
  const m = new Map<string, TbAction[]>();
  for (const a of actions) m.set(a.cdmId, [...(m.get(a.cdmId) ?? []), a]);
  return m;
}

/** Log and print form of an action: no ids that mean nothing to an operator, no secrets. */
export function describe(a: TbAction): Record<string, unknown> {
  switch (a.kind) {
    case 'create-tenant':
      return { action: a.kind, title: a.title };
    case 'update-tenant':
      return { action: a.kind, title: a.title, disabled: a.disabled };
    case 'create-admin':
    case 'create-operator':
      return { action: a.kind, email: a.person.email };
    case 'create-customer':
      return { action: a.kind, title: a.title };
    case 'delete-user':
      return { action: a.kind, email: a.email, why: a.why };
  }
}
