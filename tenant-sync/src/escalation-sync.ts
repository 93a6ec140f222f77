import { TenantActors, TenantNotReady, type NotificationRule, type ThingsBoardClient } from '@cdm/common';
import type { DesiredTenant } from './model.ts';
import { collect, mapLimit, READ_CONCURRENCY, type Projection } from './projection.ts';
import { cdmTbTenants } from './tb-tenants.ts';
import { OWNED, planEscalation, shaDescription, shaOf, template, templateCurrent, TEMPLATE, type EscalationAction, type EscalationState } from './escalation-plan.ts';

/**
 * Escalation side of tenant-sync (escalation-plan.ts says what): reads each cdm tenant's
 * notification targets, template and rules as its bridge admin, and applies a plan. A tenant
 * ThingsBoard does not have yet is planned in full: the ThingsBoard projection, applied before
 * this one, makes it (and its bridge admin) in the same pass.
 */
export class EscalationSync implements Projection<EscalationState[], EscalationAction> {
  readonly perTenant = true;
  readonly system = 'thingsboard-escalation';
  private readonly actors: TenantActors;
  /** Per tenant: names of cdm targets and the template → ThingsBoard ids, from the read plus what apply creates. */
  private readonly ids = new Map<string, Map<string, string>>();
  /** cdm id → ThingsBoard tenant id, from the read: a disabled tenant is acted in by id. */
  private readonly tbTenants = new Map<string, string>();

  constructor(
    sys: ThingsBoardClient,
    private readonly o: { webhookUrl: string; escalateAfterS: number },
  ) {
    this.actors = new TenantActors(sys);
  }

  async read(only?: ReadonlySet<string>): Promise<EscalationState[]> {
    this.ids.clear();
    this.tbTenants.clear();
    // Disabled tenants too: one re-enabled in this pass keeps the objects it had.
    const states = await mapLimit(await cdmTbTenants(this.actors.sys, only), READ_CONCURRENCY, async ({ cdmId, tbTenantId }) => {
      let as: ThingsBoardClient;
      try {
        as = await this.actors.actor(cdmId, { tenantId: tbTenantId });
        this.tbTenants.set(cdmId, tbTenantId);
      } catch (err) {
        if (err instanceof TenantNotReady) return undefined;
        throw err;
      }
      const owned = <T extends { name: string }>(xs: T[]) => xs.filter((x) => x.name.startsWith(OWNED));
      const [targets, templates, rules] = await Promise.all([collect(as.notificationPages('target')), collect(as.notificationPages('template')), collect(as.notificationPages('rule'))]);
      const ids = new Map<string, string>();
      this.ids.set(cdmId, ids);
      const state: EscalationState = { cdmId: cdmId, targets: [], rules: [] };
      for (const t of owned(targets)) {
        ids.set(t.name, t.id!.id);
        state.targets.push({ id: t.id!.id, name: t.name, ...(shaOf(t.configuration.description) ? { sha: shaOf(t.configuration.description)! } : {}) });
      }
      const tpl = templates.find((t) => t.name === TEMPLATE);
      if (tpl?.id) {
        ids.set(TEMPLATE, tpl.id.id);
        state.template = { id: tpl.id.id, current: templateCurrent(tpl) };
      }
      for (const r of owned(rules)) state.rules.push({ id: r.id!.id, name: r.name, ...(shaOf(r.additionalConfig?.description) ? { sha: shaOf(r.additionalConfig?.description)! } : {}) });
      return state;
    });
    return states.filter((s): s is EscalationState => s !== undefined);
  }

  plan(desired: DesiredTenant[], actual: EscalationState[], skipped: ReadonlySet<string>): EscalationAction[] {
    return planEscalation(
      desired.filter((d) => !skipped.has(d.cdmId)),
      actual,
      this.o,
      skipped,
    );
  }

  /** Names are per tenant: the plan's order (rules rewritten before the targets they dropped are deleted) must hold. */
  freesNames(): boolean {
    return false;
  }

  describe(a: EscalationAction): Record<string, unknown> {
    switch (a.kind) {
      case 'put-target':
        return { action: a.kind, target: a.target.name, update: !!a.id };
      case 'put-template':
        return { action: a.kind, template: TEMPLATE, update: !!a.id };
      case 'put-rule':
        return { action: a.kind, rule: a.rule.name, tiers: a.rule.tiers.map((t) => `${t.delayS}s: ${t.targets.length}`), update: !!a.id };
      case 'delete-rule':
      case 'delete-target':
        return { action: a.kind, name: a.name };
    }
  }

  async apply(cdmId: string, actions: EscalationAction[]): Promise<void> {
    const tbTenantId = this.tbTenants.get(cdmId);
    const as = await this.actors.actor(cdmId, tbTenantId ? { tenantId: tbTenantId } : undefined);
    const ids = this.ids.get(cdmId) ?? new Map<string, string>();
    this.ids.set(cdmId, ids);
    const id = (name: string) => {
      const x = ids.get(name);
      if (!x) throw new Error(`ThingsBoard: notification object "${name}" of tenant ${cdmId} is missing; the next pass makes it`);
      return x;
    };
    for (const a of actions) {
      switch (a.kind) {
        case 'put-target': {
          const t = await as.saveNotification('target', {
            ...(a.id ? { id: { id: a.id, entityType: 'NOTIFICATION_TARGET' } } : {}),
            name: a.target.name,
            configuration: { type: 'MICROSOFT_TEAMS', webhookUrl: a.target.webhookUrl, channelName: a.target.channelName, useOldApi: true, description: shaDescription(a.target.sha) },
          });
          ids.set(a.target.name, t.id!.id);
          break;
        }
        case 'put-template':
          ids.set(TEMPLATE, (await as.saveNotification('template', template(a.id))).id!.id);
          break;
        case 'put-rule': {
          const r = a.rule;
          const rule: NotificationRule = {
            ...(a.id ? { id: { id: a.id, entityType: 'NOTIFICATION_RULE' } } : {}),
            name: r.name,
            enabled: true,
            templateId: { id: id(TEMPLATE), entityType: 'NOTIFICATION_TEMPLATE' },
            triggerType: 'ALARM',
            triggerConfig: { triggerType: 'ALARM', alarmTypes: null, alarmSeverities: [...r.severities], notifyOn: ['CREATED'], clearRule: r.clearOnAck ? { alarmStatuses: ['ACK'] } : null },
            recipientsConfig: { triggerType: 'ALARM', escalationTable: Object.fromEntries(r.tiers.map((t) => [String(t.delayS), t.targets.map(id)])) },
            additionalConfig: { description: shaDescription(r.sha) },
          };
          await as.saveNotification('rule', rule);
          break;
        }
        case 'delete-rule':
          await as.deleteNotification('rule', a.id);
          break;
        case 'delete-target':
          await as.deleteNotification('target', a.id);
          ids.delete(a.name);
          break;
      }
    }
  }
}
