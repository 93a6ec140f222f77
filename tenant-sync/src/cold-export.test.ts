import { describe, expect, it } from 'vitest';
import { daysToArchive } from './cold-export.ts';
import { RAW_BUCKET } from './influx-sync.ts';

describe('daysToArchive', () => {
  const now = Date.parse('2026-11-29T00:30:00Z');
  it('lists the complete days of the window without an archive, oldest first, never today', () => {
    expect(daysToArchive(now, 3, () => false)).toEqual(['2026-11-26', '2026-11-27', '2026-11-28']);
    expect(daysToArchive(now, 3, (d) => d !== '2026-11-27')).toEqual(['2026-11-27']);
    expect(daysToArchive(Date.parse('2026-11-28T23:59:59Z'), 1, () => false)).toEqual(['2026-11-27']);
    expect(daysToArchive(now, 0, () => false)).toEqual([]);
  });
});

describe('which buckets the daemon archives', () => {
  it("is every tenant's raw bucket, not its rollup tier (derived from raw)", () => {
    expect(['cdm-acme', 'cdm-3f2a-41', 'cdm-acme.rollup', 'other', '_monitoring'].filter((n) => RAW_BUCKET.test(n))).toEqual(['cdm-acme', 'cdm-3f2a-41']);
  });
});
