import { describe, expect, it } from 'vitest';
import { daysToArchive } from './cold-export.ts';

describe('daysToArchive', () => {
  const now = Date.parse('2026-11-29T00:30:00Z');
  it('lists the complete days of the window without an archive, oldest first, never today', () => {
    expect(daysToArchive(now, 3, () => false)).toEqual(['2026-11-26', '2026-11-27', '2026-11-28']);
    expect(daysToArchive(now, 3, (d) => d !== '2026-11-27')).toEqual(['2026-11-27']);
    expect(daysToArchive(Date.parse('2026-11-28T23:59:59Z'), 1, () => false)).toEqual(['2026-11-27']);
    expect(daysToArchive(now, 0, () => false)).toEqual([]);
  });
});
