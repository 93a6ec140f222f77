import { describe, expect, it } from 'vitest';
import { rolloutBody, RolloutError, targetFilter } from './rollout.ts';

const plan = { version: '2.0.0', tenant: { cdmId: 'g-1', name: 'acme' }, groups: [5, 25, 70], successPct: 95, errorPct: 5, action: 'soft' as const };

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
});
