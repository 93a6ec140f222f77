import { z } from 'zod';
import { rolloutBody, RolloutError, ROLLOUT_ACTIONS, ROLLOUT_DEFAULTS, startWhenReady, tenantOfTarget, type HawkbitClient, type MgmtRollout } from '@cdm/common';

/** What the fleet API needs of hawkBit (HawkbitClient has it). */
export type DeploymentHawkbit = Pick<HawkbitClient, 'getDistributionSet' | 'createRollout' | 'getRollout' | 'rolloutGroups' | 'startRollout' | 'pauseRollout' | 'resumeRollout' | 'deleteRollout'>;

export const DeploymentBody = z
  .object({
    tenant: z.string().min(1).max(200),
    /** A distribution set published for this tenant (`ota-bridge publish` marks it with the tenant). */
    distributionSetId: z.number().int().positive(),
    /** Named devices of the tenant; the whole tenant when absent. */
    selector: z
      .object({ ids: z.array(z.string().min(1).max(64)).min(1).max(500) })
      .strict()
      .optional(),
    // The same defaults as `ota-bridge publish`.
    groups: z.array(z.number()).min(1).max(20).default(ROLLOUT_DEFAULTS.groups),
    successPct: z.number().min(0).max(100).default(ROLLOUT_DEFAULTS.successPct),
    errorPct: z.number().min(0).max(100).default(ROLLOUT_DEFAULTS.errorPct),
    /** Hold after each stage but the last, before ota-bridge's gate starts the next (seconds). */
    holdSeconds: z
      .number()
      .int()
      .min(0)
      .max(90 * 86_400)
      .default(ROLLOUT_DEFAULTS.holdSeconds),
    action: z.enum(ROLLOUT_ACTIONS as [string, ...string[]]).default(ROLLOUT_DEFAULTS.action),
    start: z.boolean().default(false),
  })
  .strict();
export type DeploymentBody = z.infer<typeof DeploymentBody>;

export class DeploymentRefused extends Error {
  constructor(
    readonly status: 400 | 404 | 422,
    message: string,
  ) {
    super(message);
  }
}

export interface DeploymentView {
  deploymentId: number;
  tenantId: string;
  name: string;
  status: string;
  distributionSetId?: number;
  totalTargets: number;
  totalTargetsPerStatus: Record<string, number>;
  stages: { name: string; status: string; targetPercentage?: number; totalTargets: number; totalTargetsPerStatus: Record<string, number> }[];
}

/**
 * Deployments through the API: hawkBit rollouts built by the same rules as `ota-bridge publish`
 * (common/src/ota/rollout.ts). hawkBit owns their state; a deployment's id is the rollout's, and
 * which tenant it belongs to is the tenant marker hawkBit keeps on it, so nothing is stored here.
 */
export class Deployments {
  constructor(
    private readonly hawkbit: DeploymentHawkbit,
    private readonly readyTimeoutMs = 120_000,
  ) {}

  async create(tenant: { cdmId: string; name: string }, b: DeploymentBody): Promise<DeploymentView> {
    const ds = await this.hawkbit.getDistributionSet(b.distributionSetId);
    // A set published for another tenant (or not by cdm) does not exist for this one.
    if (!ds || tenantOfTarget(ds.description) !== tenant.cdmId) throw new DeploymentRefused(404, `no distribution set ${b.distributionSetId} published for tenant ${tenant.name}`);
    let body;
    try {
      body = rolloutBody(
        {
          version: ds.version ?? String(ds.id),
          tenant,
          groups: b.groups,
          successPct: b.successPct,
          errorPct: b.errorPct,
          holdSeconds: b.holdSeconds,
          action: b.action as never,
          controllerIds: b.selector?.ids,
        },
        ds.id,
      );
    } catch (err) {
      if (err instanceof RolloutError) throw new DeploymentRefused(err.message.includes('target filter') ? 422 : 400, err.message);
      throw err;
    }
    const rollout = await this.hawkbit.createRollout(body);
    if (b.start) await startWhenReady(this.hawkbit as HawkbitClient, rollout, this.readyTimeoutMs);
    return (await this.get(rollout.id))!;
  }

  /** The deployment as hawkBit has it, with its tenant; undefined when it is not a cdm tenant's. */
  async get(id: number): Promise<DeploymentView | undefined> {
    const r = await this.hawkbit.getRollout(id);
    const tenantId = tenantOfTarget(r?.description);
    if (!r || !tenantId) return undefined;
    const groups = await this.hawkbit.rolloutGroups(id);
    return view(r, tenantId, groups);
  }

  async pause(id: number): Promise<void> {
    await this.hawkbit.pauseRollout(id);
  }

  async resume(id: number): Promise<void> {
    await this.hawkbit.resumeRollout(id);
  }

  /** hawkBit cancels what it has not run and removes the rollout. */
  async cancel(id: number): Promise<void> {
    await this.hawkbit.deleteRollout(id);
  }
}

function view(r: MgmtRollout, tenantId: string, groups: Awaited<ReturnType<DeploymentHawkbit['rolloutGroups']>>): DeploymentView {
  return {
    deploymentId: r.id,
    tenantId,
    name: r.name,
    status: r.status,
    ...(r.distributionSetId ? { distributionSetId: r.distributionSetId } : {}),
    totalTargets: r.totalTargets,
    totalTargetsPerStatus: r.totalTargetsPerStatus ?? {},
    stages: groups.map((g) => ({
      name: g.name,
      status: g.status ?? 'unknown',
      ...(g.targetPercentage !== undefined ? { targetPercentage: g.targetPercentage } : {}),
      totalTargets: g.totalTargets ?? 0,
      totalTargetsPerStatus: g.totalTargetsPerStatus ?? {},
    })),
  };
}
