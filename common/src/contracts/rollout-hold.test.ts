import { describe, expect, it } from 'vitest';
import { holdDescription, holdOf } from './rollout-hold.ts';

describe('the rollout-hold contract (a stage carries its hold in hawkBit)', () => {
  it('round-trips whole seconds', () => {
    for (const s of [0, 1, 86_400, 999_999_999]) expect(holdOf(holdDescription(s))).toBe(s);
  });
  it('reads nothing from descriptions that are not a hold', () => {
    for (const d of [undefined, '', 'cdm hold', 'cdm hold 5', 'cdm hold -5s', 'cdm hold 5s ', 'group 1', 'cdm hold 1234567890s']) expect(holdOf(d)).toBeUndefined();
  });
  it('refuses to write what it could not read back', () => {
    for (const s of [-1, 1.5, 1e10, Number.NaN]) expect(() => holdDescription(s)).toThrow('invalid hold');
  });
});
