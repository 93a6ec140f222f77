import { describe, expect, it } from 'vitest';
import { holdOf } from '../contracts/rollout-hold.ts';
import { rolloutBody, RolloutError, ROLLOUT_DEFAULTS, targetFilter } from './rollout.ts';

const plan = { version: '2.0.0', tenant: { cdmId: 'g-1', name: 'acme' }, groups: [5, 25, 70], successPct: 95, errorPct: 5, action: 'soft' as const, holdSeconds: 3600 };

describe('rollout rules shared by publish and the fleet API', () => {
  it("targets the tenant's devices, narrowed to named ones when given (quoted: an id cannot widen the filter)", () => {
    expect(targetFilter('g-1')).toBe('description=="cdm tenant g-1"');
    expect(targetFilter('g-1', ['D1', 'D2'])).toBe('description=="cdm tenant g-1";controllerId=in=(D1,D2)');
    expect(targetFilter('g-1', ['x),description==*'])).toBe('description=="cdm tenant g-1";controllerId=in=("x),description==*")');
  });

  it("refuses a filter longer than hawkBit's column instead of letting hawkBit cut it", () => {
    const ids = Array.from({ length: 80 }, (_, i) => `DEVICE-SERIAL-${i}`);
    expect(() => targetFilter('g-1', ids)).toThrow(RolloutError);
    expect(() => rolloutBody({ ...plan, controllerIds: ids }, 1)).toThrow(/does not fit hawkBit's target filter/);
  });

  it('builds the same rollout body, refusing bad shares and actions', () => {
    const b = rolloutBody(plan, 7, new Date('2026-11-29T10:11:12Z'));
    expect(b).toMatchObject({ name: 'acme 2.0.0 2026-11-29 10:11:12', description: 'cdm tenant g-1', distributionSetId: 7, type: 'soft' });
    expect(b.groups?.map((g) => g.targetPercentage)).toEqual([5, 25, 70]);
    expect(() => rolloutBody({ ...plan, groups: [50, 40] }, 7)).toThrow(/add up to 100/);
    expect(() => rolloutBody({ ...plan, action: 'now' as never }, 7)).toThrow(/action: one of/);
  });

  it('holds every stage but the last: it pauses the rollout when it succeeded and carries its hold for the gate', () => {
    const b = rolloutBody(plan, 7);
    expect(b.groups?.map((g) => [g.successAction?.action, holdOf(g.description)])).toEqual([
      ['PAUSE', 3600],
      ['PAUSE', 3600],
      ['NEXTGROUP', undefined],
    ]);
    expect(b.groups?.every((g) => g.errorAction?.action === 'PAUSE')).toBe(true);
    expect(() => rolloutBody({ ...plan, holdSeconds: -1 }, 7)).toThrow(/hold: whole seconds/);
    expect(() => rolloutBody({ ...plan, holdSeconds: 91 * 86_400 }, 7)).toThrow(/hold: whole seconds/);
  });

  it("defaults to the platform's staging: 1 % → 10 % → 50 % → 100 % with a day's hold between stages", () => {
    const cumulative = ROLLOUT_DEFAULTS.groups.reduce<number[]>((acc, g) => [...acc, (acc.at(-1) ?? 0) + g], []);
    expect(cumulative).toEqual([1, 10, 50, 100]);
    expect(ROLLOUT_DEFAULTS.holdSeconds).toBe(24 * 3600);
  });
});
