import { holdOf, type MgmtRolloutGroup } from '@cdm/common';
import { STARTED_GROUP } from './health-gate.ts';

/** A stage that finished its part and holds the rollout (paused by hawkBit's PAUSE success action). */
export interface HeldStage {
  /** Index of the stage (0 = first). */
  index: number;
  name: string;
  holdSeconds: number;
  /** Targets in this and the earlier stages: the devices updated so far. */
  updated: number;
}

const status = (g: MgmtRolloutGroup) => (g.status ?? '').toLowerCase();

/**
 * Pure: the stage a paused rollout holds at, if hawkBit paused it because that stage succeeded —
 * its success action is PAUSE, it carries a hold (rollout-hold.ts), its success share is reached,
 * and a later stage waits. A rollout paused by an error threshold, by ota-bridge's health gate or
 * by hand mid-stage is none of the hold gate's business.
 */
export function heldStage(groups: readonly MgmtRolloutGroup[]): HeldStage | undefined {
  let last = -1;
  groups.forEach((g, i) => STARTED_GROUP.has(status(g)) && (last = i));
  if (last < 0 || !groups.slice(last + 1).some((g) => status(g) === 'scheduled')) return undefined;
  const g = groups[last]!;
  const holdSeconds = holdOf(g.description);
  if (holdSeconds === undefined || g.successAction?.action !== 'PAUSE' || status(g) === 'error') return undefined;
  const finished = g.totalTargetsPerStatus?.finished ?? 0;
  const total = g.totalTargets ?? 0;
  const needPct = Number(g.successCondition?.expression ?? 100);
  if (total > 0 && (100 * finished) / total < needPct) return undefined;
  return { index: last, name: g.name, holdSeconds, updated: groups.slice(0, last + 1).reduce((n, x) => n + (x.totalTargets ?? 0), 0) };
}

/** A signal counted among the updated devices and among those not updated yet. */
export interface Comparison {
  signal: 'offline' | 'fleet-alerts' | 'unusual-values';
  /** What a counted device is, for the reason: "offline", "over a fleet alert threshold (…)". */
  what: string;
  updated: number;
  updatedBad: number;
  baseline: number;
  baselineBad: number;
}

/** What the gate weighs. */
export interface StageSignals {
  /** Devices of the started stages. */
  updated: number;
  /** Of those, with an active OTA Failure or Boot Mismatch alarm (the platform's own OTA signals). */
  unhealthy: number;
  /** Read only once the hold is over (they cost a listing of the tenant's devices and a query). */
  comparisons?: Comparison[];
}

export interface HoldInput {
  now: number;
  /** When the gate first saw the stage held: the hold's start. */
  since: number;
  holdMs: number;
  signals: StageSignals;
  /** Block when more than this share (%) of the updated devices is unhealthy (the health gate's threshold). */
  unhealthyPct: number;
  /** Block when a comparison's share among updated devices exceeds the others' by more than this (percentage points). */
  excessPct: number;
}

export type HoldDecision = { kind: 'hold'; until: number } | { kind: 'release'; summary: string } | { kind: 'block'; signal: 'ota-failure' | Comparison['signal']; reason: string };

const pct = (a: number, b: number) => (b ? (100 * a) / b : 0);
const round = (x: number) => Math.round(x * 10) / 10;

/**
 * Pure: the hold gate's decision for a held stage. Harm blocks at once (no need to wait out the
 * hold to know an OTA failure); otherwise the stage is held until its time is over, and then
 * released only if its devices are not worse than those not yet updated — offline, or over the
 * fleet dashboards' alert thresholds — by more than the allowed excess: a site outage or a cold
 * night hits both groups alike and is not the update's doing.
 */
export function holdDecision(i: HoldInput): HoldDecision {
  const s = i.signals;
  const unhealthy = pct(s.unhealthy, s.updated);
  if (s.unhealthy > 0 && unhealthy > i.unhealthyPct) {
    return {
      kind: 'block',
      signal: 'ota-failure',
      reason: `${s.unhealthy} of ${s.updated} updated devices (${round(unhealthy)} %) have an OTA Failure or Boot Mismatch alarm, more than ${i.unhealthyPct} %`,
    };
  }
  const until = i.since + i.holdMs;
  if (i.now < until) return { kind: 'hold', until };
  if (!s.comparisons) throw new Error('holdDecision: the comparisons are needed once the hold is over');
  const seen: string[] = [];
  for (const c of s.comparisons) {
    const updated = pct(c.updatedBad, c.updated);
    const baseline = pct(c.baselineBad, c.baseline);
    if (c.updatedBad > 0 && updated - baseline > i.excessPct) {
      return {
        kind: 'block',
        signal: c.signal,
        reason: `${c.updatedBad} of ${c.updated} updated devices (${round(updated)} %) are ${c.what} against ${round(baseline)} % of the ${c.baseline} not yet updated, more than ${i.excessPct} points apart`,
      };
    }
    seen.push(`${round(updated)} % ${c.signal} against ${round(baseline)} %`);
  }
  return { kind: 'release', summary: `held ${Math.round(i.holdMs / 1000)} s; ${s.unhealthy} of ${s.updated} updated devices unhealthy; ${seen.join('; ')}` };
}
