import { fiqlValue, type HawkbitClient } from '../clients/hawkbit.ts';
import type { MgmtRollout, MgmtRolloutCreate } from '../clients/hawkbit-types.ts';
import { targetDescription } from '../contracts/hawkbit-target.ts';
import { holdDescription } from '../contracts/rollout-hold.ts';

/**
 * The rules of a staged rollout in hawkBit, shared by `ota-bridge publish` and the fleet API's
 * deployments so both build the same rollout from the same options: groups (stages) as shares of
 * the tenant's devices; a stage that reaches its success threshold pauses the rollout — a hold
 * gate: ota-bridge starts the next stage once the hold has passed with the stage's devices healthy
 * (the hold is on the stage, see rollout-hold.ts); an error threshold that pauses; and the
 * tenant's marker on the rollout (whose rollout it is, by tenant id).
 */
export type RolloutAction = 'soft' | 'forced' | 'downloadonly';
export const ROLLOUT_ACTIONS: readonly RolloutAction[] = ['soft', 'forced', 'downloadonly'];

export interface RolloutPlan {
  version: string;
  tenant: { cdmId: string; name: string };
  /** Group sizes in percent of the selected devices, in order (e.g. 5, 25, 70). */
  groups: number[];
  /** A group counts as done, and the next starts, when this share (%) of it succeeded. */
  successPct: number;
  /** The rollout pauses when this share (%) of a group failed. */
  errorPct: number;
  action: RolloutAction;
  /** How long each stage but the last is held, healthy, before the next starts (seconds). */
  holdSeconds: number;
  /** Narrows the tenant's devices to these (hawkBit controller ids); all of the tenant's when absent. */
  controllerIds?: string[];
}

/** The platform's staging: 1 % → 10 % → 50 % → 100 % of the devices, a day's hold between stages. */
export const ROLLOUT_DEFAULTS = { groups: [1, 9, 40, 50], successPct: 95, errorPct: 5, holdSeconds: 86_400, action: 'soft' as RolloutAction };

export class RolloutError extends Error {}

/** hawkBit keeps a rollout's target filter in a column of this many characters. */
export const MAX_FILTER_LENGTH = 1024;

/** The tenant's devices: targets enroll-bridge created carry the tenant in their description. */
export const tenantTargetFilter = (cdmId: string) => `description==${fiqlValue(targetDescription(cdmId))}`;

export function targetFilter(cdmId: string, controllerIds?: string[]): string {
  const tenant = tenantTargetFilter(cdmId);
  if (!controllerIds?.length) return tenant;
  const f = `${tenant};controllerId=in=(${controllerIds.map(fiqlValue).join(',')})`;
  if (f.length > MAX_FILTER_LENGTH)
    throw new RolloutError(
      `a rollout over ${controllerIds.length} named devices does not fit hawkBit's target filter (${f.length} > ${MAX_FILTER_LENGTH} characters): select fewer devices, or the whole tenant`,
    );
  return f;
}

/** Pure: checks the options and builds hawkBit's rollout body. */
export function rolloutBody(p: RolloutPlan, distributionSetId: number, now = new Date()): MgmtRolloutCreate {
  if (!p.groups.length || p.groups.some((g) => !(g > 0 && g <= 100))) throw new RolloutError('groups: percentages between 0 and 100, e.g. 5,25,70');
  const total = p.groups.reduce((a, b) => a + b, 0);
  if (Math.abs(total - 100) > 0.001) throw new RolloutError(`groups must add up to 100 (they add up to ${total})`);
  for (const [name, v] of [
    ['success', p.successPct],
    ['error', p.errorPct],
  ] as const) {
    if (!(v >= 0 && v <= 100)) throw new RolloutError(`${name}: a percentage from 0 to 100`);
  }
  if (!ROLLOUT_ACTIONS.includes(p.action)) throw new RolloutError(`action: one of ${ROLLOUT_ACTIONS.join(', ')}`);
  if (!(Number.isInteger(p.holdSeconds) && p.holdSeconds >= 0 && p.holdSeconds <= 90 * 86_400)) throw new RolloutError('hold: whole seconds from 0 to 90 days');
  const successCondition = { condition: 'THRESHOLD' as const, expression: String(p.successPct) };
  const errorCondition = { condition: 'THRESHOLD' as const, expression: String(p.errorPct) };
  const hold = { action: 'PAUSE' as const, expression: '' };
  const errorAction = { action: 'PAUSE' as const, expression: '' };
  const last = p.groups.length - 1;
  return {
    name: `${p.tenant.name} ${p.version} ${now.toISOString().slice(0, 19).replace('T', ' ')}`,
    description: targetDescription(p.tenant.cdmId),
    distributionSetId,
    targetFilterQuery: targetFilter(p.tenant.cdmId, p.controllerIds),
    type: p.action,
    successCondition,
    successAction: hold,
    errorCondition,
    errorAction,
    // hawkBit reads a group's percentage as its share of all matching targets. Every stage but the
    // last pauses the rollout when it succeeded and carries its hold for ota-bridge's gate.
    groups: p.groups.map((pct, i) => ({
      name: `group-${i + 1} (${pct}%)`,
      ...(i < last ? { description: holdDescription(p.holdSeconds) } : {}),
      targetPercentage: pct,
      successCondition,
      successAction: i < last ? hold : { action: 'NEXTGROUP' as const, expression: '' },
      errorCondition,
      errorAction,
    })),
  };
}

/**
 * Starts a rollout once hawkBit has built its groups. hawkBit's rollout scheduler (every 2 s by
 * default) moves it 'creating' → 'ready', and after start 'starting' → 'running': wait for each,
 * so the rollout runs when this returns.
 */
export async function startWhenReady(hawkbit: HawkbitClient, rollout: MgmtRollout, timeoutMs = 120_000): Promise<string> {
  let status = rollout.status;
  const deadline = Date.now() + timeoutMs;
  const settle = async (passing: string) => {
    while (status === passing) {
      if (Date.now() > deadline)
        throw new RolloutError(`rollout ${rollout.id} still ${status} in hawkBit after ${Math.round(timeoutMs / 1000)} s: is its rollout scheduler running? Start it in hawkBit when it is ready`);
      await new Promise((r) => setTimeout(r, 500));
      status = (await hawkbit.getRollout(rollout.id))?.status ?? status;
    }
  };
  await settle('creating');
  if (status !== 'ready') throw new RolloutError(`rollout ${rollout.id} is ${status} in hawkBit (approval needed?); start it there`);
  await hawkbit.startRollout(rollout.id);
  status = 'starting';
  await settle('starting');
  return status;
}
