import { describe, expect, it } from 'vitest';
import { mapByKey, mapLimit } from './concurrency.ts';

const tick = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('mapLimit', () => {
  it('keeps at most `limit` calls in flight and the results in input order', async () => {
    let now = 0;
    let most = 0;
    const out = await mapLimit([30, 10, 20, 5, 15], 2, async (ms) => {
      most = Math.max(most, ++now);
      await tick(ms);
      now--;
      return ms * 2;
    });
    expect(out).toEqual([60, 20, 40, 10, 30]);
    expect(most).toBe(2);
  });
});

describe('mapByKey', () => {
  it('runs one key’s items one after another in order, different keys side by side', async () => {
    const items = [
      { dev: 'a', n: 1, ms: 30 },
      { dev: 'b', n: 2, ms: 5 },
      { dev: 'a', n: 3, ms: 1 },
      { dev: 'c', n: 4, ms: 5 },
      { dev: 'a', n: 5, ms: 1 },
    ];
    const log: string[] = [];
    const running = new Set<string>();
    let overlapSameKey = false;
    let most = 0;
    const out = await mapByKey(
      items,
      (t) => t.dev,
      3,
      async (t) => {
        if (running.has(t.dev)) overlapSameKey = true;
        running.add(t.dev);
        most = Math.max(most, running.size);
        log.push(`start ${t.n}`);
        await tick(t.ms);
        running.delete(t.dev);
        return t.n * 10;
      },
    );
    expect(out).toEqual([10, 20, 30, 40, 50]);
    expect(overlapSameKey).toBe(false);
    expect(most).toBe(3); // a, b and c at once
    expect(log.filter((l) => ['start 1', 'start 3', 'start 5'].includes(l))).toEqual(['start 1', 'start 3', 'start 5']);
  });
});
