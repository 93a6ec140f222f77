import { targetDescription } from '@cdm/common';
import type { DesiredTenant } from './model.ts';

/** hawkBit's tenant setting that tells devices, on every DDI poll, when to poll next. */
export const POLLING_KEY = 'pollingTime';

export interface PollingPolicy {
  /** Between polls when nothing is under way (the design: every 6 hours). */
  interval: string;
  /** For the devices of a tenant with a rollout under way (stages running or held): the next stage reaches them this soon. */
  whileUpdating: string;
  /** ±this share of the interval, random per poll: a fleet's polls, and so its downloads, spread out instead of starting together. */
  jitterPercent: number;
}

export interface PollingAction {
  cdmId: '*';
  kind: 'set-polling';
  value: string;
  was?: string;
  /** Tenants whose own interval was not used, and why (logged with the change). */
  ignored: { cdmId: string; value: string; why: string }[];
}

/** The target query that selects a tenant's devices: the tenant marker enrollment writes into each target's description. */
const tenantSelector = (cdmId: string) => `description=="${targetDescription(cdmId)}"`;

/** hawkBit's form (HH:MM:SS), within what hawkBit accepts by default (30 s to a day). */
const HMS = /^([01]\d|2[0-3]):([0-5]\d):([0-5]\d)$/;
const seconds = (v: string) => {
  const m = HMS.exec(v);
  return m ? Number(m[1]) * 3600 + Number(m[2]) * 60 + Number(m[3]) : undefined;
};
export function pollingIntervalProblem(v: string): string | undefined {
  const s = seconds(v);
  if (s === undefined) return `"${v}" is not HH:MM:SS`;
  if (s < 30) return `${v} is under hawkBit's minimum polling time of 30 s`;
  return undefined;
}

/** What hawkBit holds: its pollingTime, and the tenants with a rollout under way (from the rollouts' tenant marker). */
export interface PollingState {
  value?: string;
  updating: ReadonlySet<string>;
}

/**
 * The value of hawkBit's `pollingTime`: the default interval, then overrides by target query
 * (hawkBit takes the first that matches the polling target), by the tenant marker enrollment
 * writes into every target's description: the devices of a tenant with a rollout under way poll
 * `whileUpdating`; those of a tenant with its own interval (the Keycloak group attribute
 * `pollingInterval`) poll that. Every interval carries the jitter. (Overrides by update status
 * would be finer, but hawkBit 1.0.4 matches none: measured, `updateStatus==PENDING` and
 * `updateStatus!=IN_SYNC` leave a pending target on the default.)
 */
export function pollingTimeValue(tenants: readonly DesiredTenant[], p: PollingPolicy, updating: ReadonlySet<string> = new Set()): { value: string; ignored: PollingAction['ignored'] } {
  const j = p.jitterPercent > 0 ? `~${p.jitterPercent}%` : '';
  const parts = [`${p.interval}${j}`];
  const ignored: PollingAction['ignored'] = [];
  const byId = [...tenants].sort((a, b) => a.cdmId.localeCompare(b.cdmId));
  const marker = (t: DesiredTenant) => tenantSelector(t.cdmId);
  const queryable = (t: DesiredTenant) => /^[A-Za-z0-9-]+$/.test(t.cdmId);
  for (const t of byId) if (updating.has(t.cdmId) && queryable(t)) parts.push(`${marker(t)} -> ${p.whileUpdating}${j}`);
  for (const t of byId) {
    if (updating.has(t.cdmId) || t.pollingInterval === undefined || t.pollingInterval === p.interval) continue;
    const why = pollingIntervalProblem(t.pollingInterval) ?? (queryable(t) ? undefined : 'the tenant id cannot be put into a target query');
    if (why) ignored.push({ cdmId: t.cdmId, value: t.pollingInterval, why });
    else parts.push(`${marker(t)} -> ${t.pollingInterval}${j}`);
  }
  return { value: parts.join(', '), ignored };
}

/**
 * One change or none: hawkBit's setting is one value for all tenants. A tenant skipped this pass
 * (its group is invalid) keeps its own interval, which only its group can change, as its other
 * projections stay as they are; whether its devices poll on the short interval follows hawkBit's
 * rollouts as for every tenant, so that override is decided anew (kept first while a rollout of
 * the tenant is under way, dropped once none is).
 */
export function planPolling(desired: readonly DesiredTenant[], actual: PollingState, p: PollingPolicy, skipped: ReadonlySet<string> = new Set()): PollingAction[] {
  const planned = pollingTimeValue(desired, p, actual.updating);
  const j = p.jitterPercent > 0 ? `~${p.jitterPercent}%` : '';
  const shortInterval = (part: string) => part.endsWith(`-> ${p.whileUpdating}${j}`);
  const parts = (actual.value ?? '').split(',').map((s) => s.trim());
  const kept = [...skipped].sort().flatMap((id) => {
    const own = parts.filter((part) => part.startsWith(`${tenantSelector(id)} ->`) && !shortInterval(part));
    return actual.updating.has(id) ? [`${tenantSelector(id)} -> ${p.whileUpdating}${j}`, ...own] : own;
  });
  const value = [planned.value, ...kept].join(', ');
  return value === actual.value ? [] : [{ cdmId: '*', kind: 'set-polling', value, ...(actual.value === undefined ? {} : { was: actual.value }), ignored: planned.ignored }];
}
