import { describe, expect, it } from 'vitest';
import type { DeviceHealth } from './fleet-reader.ts';
import { HealthCache } from './health-cache.ts';

const M = 60_000;
const B = 30 * M;

/** A reader over fixed per-device buckets (mean battery = the bucket's start in minutes) that records each range asked. */
function reader(points: Record<string, number[]>) {
  const asked: [number, number][] = [];
  return {
    asked,
    health: async (_t: string, since: number, now: number, bucketMs: number) => {
      asked.push([since, now]);
      const out = new Map<string, DeviceHealth>();
      for (const [id, ts] of Object.entries(points)) {
        const inRange = ts.filter((t) => t >= since && t <= now);
        if (!inRange.length) continue;
        const starts = [...new Set(inRange.map((t) => Math.floor(t / bucketMs) * bucketMs))];
        out.set(id, { lastSeen: Math.max(...inRange), firmware: '1.0.0', buckets: starts.map((t) => ({ t, battery: t / M })) });
      }
      return out;
    },
  };
}

describe('HealthCache', () => {
  it('reads the whole look-back once, then from the bucket holding the last read minus the lateness, and merges', async () => {
    const pts: Record<string, number[]> = { a: [], b: [] };
    for (let t = 5 * M; t <= 600 * M; t += 5 * M) {
      pts.a!.push(t);
      if (t <= 300 * M) pts.b!.push(t);
    }
    const r = reader(pts);
    const cache = new HealthCache({ reader: r, lookbackMs: 240 * M, bucketMs: B, lateMs: 10 * M });
    let now = 395 * M;
    const first = await cache.get('T', now);
    expect(r.asked[0]).toEqual([150 * M, now]);
    expect(first.get('a')!.buckets.map((b) => b.t / M)).toEqual([150, 180, 210, 240, 270, 300, 330, 360, 390]);
    expect(first.get('b')!.lastSeen).toBe(300 * M);

    now = 425 * M;
    const second = await cache.get('T', now);
    // The last read (395) less 10 min lies in the bucket before (360–390): points for it may still come.
    expect(r.asked[1]).toEqual([360 * M, now]);
    expect(second.get('a')!.buckets.map((b) => b.t / M)).toEqual([180, 210, 240, 270, 300, 330, 360, 390, 420]);
    // b sent nothing since: it keeps its last point (the offline detector needs it) and its buckets.
    expect(second.get('b')).toMatchObject({ lastSeen: 300 * M });
    expect(second.get('b')!.buckets.at(-1)!.t).toBe(300 * M);

    await cache.get('T', 440 * M);
    // 440 less 10 min is in the bucket still filling (420–450): only that one is read again.
    now = 445 * M;
    const fourth = await cache.get('T', now);
    expect(r.asked[3]).toEqual([420 * M, now]);
    expect(fourth.get('a')!.buckets.map((b) => b.t / M)).toEqual([180, 210, 240, 270, 300, 330, 360, 390, 420]);
  });

  it('forgets a device whose last point left the look-back', async () => {
    const r = reader({ a: [10 * M] });
    const cache = new HealthCache({ reader: r, lookbackMs: 60 * M, bucketMs: B, lateMs: 10 * M });
    expect((await cache.get('T', 30 * M)).has('a')).toBe(true);
    expect((await cache.get('T', 200 * M)).has('a')).toBe(false);
  });
});
