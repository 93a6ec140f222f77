import { Point } from '@influxdata/influxdb-client';
import { OTA_MEASUREMENT, STAGE_MEASUREMENT, type MgmtRollout, type MgmtRolloutGroup } from '@cdm/common';

/** A held stage's state now (holding, released, blocked) and the hold left, for the stage timeline. */
export function stagePoint(rollout: string, stage: string, state: 'holding' | 'released' | 'blocked', remainingS: number, at: Date): Point {
  return new Point(STAGE_MEASUREMENT)
    .tag('rollout', rollout)
    .tag('stage', stage)
    .stringField('state', state)
    .intField('hold_remaining_s', Math.max(0, Math.round(remainingS)))
    .timestamp(at);
}

/**
 * One point per deployment group: target counts by hawkBit status and the success ratio. Groups
 * only (no rollout total), so the dashboard's per-rollout sums count each target once.
 */
export function rolloutPoints(rollout: MgmtRollout, groups: readonly MgmtRolloutGroup[], at: Date): Point[] {
  return groups.map((g) => {
    const s = g.totalTargetsPerStatus ?? {};
    const n = (k: string) => Math.max(0, Math.trunc(s[k] ?? 0));
    const success = n('finished');
    const failure = n('error');
    const running = n('running');
    const scheduled = n('scheduled') + n('notstarted');
    const all = success + failure + running + scheduled;
    return new Point(OTA_MEASUREMENT)
      .tag('rollout', rollout.name)
      .tag('group', g.name)
      .intField('success', success)
      .intField('failure', failure)
      .intField('running', running)
      .intField('scheduled', scheduled)
      .floatField('success_ratio', all ? success / all : 0)
      .timestamp(at);
  });
}
