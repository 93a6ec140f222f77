import { tenantOfTarget, type HawkbitClient } from '@cdm/common';
import type { DesiredTenant } from './model.ts';
import { planPolling, POLLING_KEY, type PollingAction, type PollingPolicy, type PollingState } from './polling-plan.ts';
import type { Projection } from './projection.ts';

/** Rollouts that still have stages to run or hold: their tenants' devices must hear of the next stage soon. */
const UNDER_WAY = 'status=out=(FINISHED,STOPPED,DELETING,DELETED)';

/** How often devices poll hawkBit, per tenant and while a rollout is under way: hawkBit's `pollingTime` (see polling-plan.ts). */
export class HawkbitPollingSync implements Projection<PollingState, PollingAction> {
  readonly system = 'hawkbit-polling';

  constructor(private readonly o: { hawkbit: HawkbitClient; policy: PollingPolicy }) {}

  async read(): Promise<PollingState> {
    const [v, rollouts] = await Promise.all([this.o.hawkbit.getConfig(POLLING_KEY), this.o.hawkbit.listRollouts({ q: UNDER_WAY })]);
    const updating = new Set(rollouts.flatMap((r) => tenantOfTarget(r.description) ?? []));
    return { value: typeof v === 'string' ? v : undefined, updating };
  }

  plan(desired: DesiredTenant[], actual: PollingState, skipped: ReadonlySet<string>): PollingAction[] {
    return planPolling(desired, actual, this.o.policy, skipped);
  }

  describe(a: PollingAction): Record<string, unknown> {
    return { action: a.kind, pollingTime: a.value, was: a.was, ...(a.ignored.length ? { ignored: a.ignored } : {}) };
  }

  async apply(_cdmId: string, actions: PollingAction[]): Promise<void> {
    for (const a of actions) await this.o.hawkbit.setConfig(POLLING_KEY, a.value);
  }
}
