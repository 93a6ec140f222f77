import { holdDescription, type MgmtRolloutGroup } from '@cdm/common';
import { describe, expect, it } from 'vitest';
import { heldStage, holdDecision, type Comparison, type HoldInput } from './hold-gate.ts';

const group = (i: number, status: string, finished: number, total: number, extra: Partial<MgmtRolloutGroup> = {}): MgmtRolloutGroup => ({
  id: i,
  name: `group-${i}`,
  status,
  totalTargets: total,
  totalTargetsPerStatus: { finished, running: total - finished },
  description: holdDescription(3600),
  successCondition: { condition: 'THRESHOLD', expression: '90' },
  successAction: { action: 'PAUSE', expression: '' },
  ...extra,
});

describe('heldStage: which stage a paused rollout holds at', () => {
  it('the last started stage, once its success share is reached and a later one waits', () => {
    expect(heldStage([group(1, 'finished', 10, 10), group(2, 'running', 9, 10), group(3, 'scheduled', 0, 80)])).toEqual({ index: 1, name: 'group-2', holdSeconds: 3600, updated: 20 });
  });
  it('none when paused by hand or by the health gate mid-stage, by the error threshold, or at the last stage', () => {
    expect(heldStage([group(1, 'running', 5, 10), group(2, 'scheduled', 0, 90)])).toBeUndefined();
    expect(heldStage([group(1, 'error', 10, 10), group(2, 'scheduled', 0, 90)])).toBeUndefined();
    expect(heldStage([group(1, 'finished', 10, 10), group(2, 'finished', 90, 90)])).toBeUndefined();
    expect(heldStage([group(1, 'ready', 0, 10), group(2, 'scheduled', 0, 90)])).toBeUndefined();
  });
  it("none for a stage that carries no hold (not cdm's rollout, or made before hold gates)", () => {
    expect(heldStage([group(1, 'finished', 10, 10, { description: undefined }), group(2, 'scheduled', 0, 90)])).toBeUndefined();
    expect(heldStage([group(1, 'finished', 10, 10, { successAction: { action: 'NEXTGROUP', expression: '' } }), group(2, 'scheduled', 0, 90)])).toBeUndefined();
  });
});

const base: HoldInput = { now: 1_000, since: 0, holdMs: 3_600_000, signals: { updated: 100, unhealthy: 0 }, unhealthyPct: 10, excessPct: 10 };
const over = { now: 3_600_000 };
const offline = (updatedBad: number, baselineBad: number, updated = 100, baseline = 900): Comparison => ({ signal: 'offline', what: 'offline', updated, updatedBad, baseline, baselineBad });
const alerts = (updatedBad: number, baselineBad: number): Comparison => ({ signal: 'fleet-alerts', what: 'over a fleet alert threshold', updated: 100, updatedBad, baseline: 900, baselineBad });

describe('holdDecision', () => {
  it('holds until the hold is over', () => {
    expect(holdDecision(base)).toEqual({ kind: 'hold', until: 3_600_000 });
  });
  it('releases after the hold when the updated devices are as healthy as the rest', () => {
    expect(holdDecision({ ...base, ...over, signals: { updated: 100, unhealthy: 2, comparisons: [offline(6, 45), alerts(3, 20)] } })).toMatchObject({ kind: 'release' });
  });
  it('blocks at once, hold or not, when more than the threshold of updated devices has an OTA alarm, naming the signal', () => {
    expect(holdDecision({ ...base, signals: { updated: 100, unhealthy: 11 } })).toEqual({
      kind: 'block',
      signal: 'ota-failure',
      reason: '11 of 100 updated devices (11 %) have an OTA Failure or Boot Mismatch alarm, more than 10 %',
    });
    expect(holdDecision({ ...base, signals: { updated: 100, unhealthy: 10 } }).kind).toBe('hold');
  });
  it('blocks after the hold when updated devices went offline more than the others, not when all did alike', () => {
    expect(holdDecision({ ...base, ...over, signals: { updated: 100, unhealthy: 0, comparisons: [offline(20, 45)] } })).toMatchObject({
      kind: 'block',
      signal: 'offline',
      reason: expect.stringContaining('20 of 100 updated devices (20 %) are offline against 5 %'),
    });
    // A site's outage takes both groups down alike: not the update's doing.
    expect(holdDecision({ ...base, ...over, signals: { updated: 100, unhealthy: 0, comparisons: [offline(40, 315)] } }).kind).toBe('release');
  });
  it("blocks after the hold when updated devices cross the fleet dashboards' alert thresholds more than the others", () => {
    expect(holdDecision({ ...base, ...over, signals: { updated: 100, unhealthy: 0, comparisons: [offline(0, 0), alerts(15, 18)] } })).toMatchObject({
      kind: 'block',
      signal: 'fleet-alerts',
      reason: expect.stringContaining('15 of 100 updated devices (15 %) are over a fleet alert threshold against 2 %'),
    });
  });
  it('a single updated device offline in a tiny first stage blocks (1 % of 100 devices is one device)', () => {
    expect(holdDecision({ ...base, ...over, signals: { updated: 1, unhealthy: 0, comparisons: [offline(1, 2, 1, 99)] } }).kind).toBe('block');
  });
  it('refuses to release without the comparisons', () => {
    expect(() => holdDecision({ ...base, ...over })).toThrow(/comparisons are needed/);
  });
});
