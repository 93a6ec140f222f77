import { describe, expect, it } from 'vitest';
import { parseDuration } from './duration.ts';

describe('parseDuration', () => {
  it('reads every unit, and plain numbers as seconds', () => {
    expect(['500ms', '90s', '2m', '1h', '30d', '30', '1.5h'].map(parseDuration)).toEqual([500, 90_000, 120_000, 3_600_000, 2_592_000_000, 30_000, 5_400_000]);
  });
  it('refuses what is not a duration', () => {
    for (const s of ['2 weeks', '', '-1h', '1y', 'h']) expect(() => parseDuration(s)).toThrow('not a duration');
  });
});
