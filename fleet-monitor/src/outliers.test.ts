import { describe, expect, it } from 'vitest';
import { assess, decideAnomalies, describe as say, type DeviceSeries } from './outliers.ts';
import { mad, median } from './robust.ts';

const H = 3_600_000;
const bucketMs = H / 2;
const now = 48 * H;
const p = { bucketMs, recentMs: H, minHistory: 6, minCohort: 10, minErrors: 5 };

/** A device's last 24 h in half-hour buckets; `drainAt(t)` is its drain in %/h at time t. */
function series(id: string, drainAt: (t: number) => number, o: { errorP?: number; signal?: number; cohort?: string } = {}): DeviceSeries {
  const buckets = [];
  let battery = 90;
  for (let t = now - 24 * H; t < now; t += bucketMs) {
    battery -= drainAt(t) / 2;
    buckets.push({ t, battery, signal: o.signal ?? -70, errors: Math.round(1800 * (o.errorP ?? 0.001)), samples: 1800, reboots: 0 });
  }
  return { id, cohort: o.cohort ?? 'a', buckets };
}

const cohort = () => Array.from({ length: 40 }, (_, i) => series(`d${i}`, () => 0.5 + (2.5 * i) / 39, { errorP: i % 20 === 0 ? 0.04 : 0.001, signal: i % 10 === 0 ? -100 : -60 - i / 2 }));

describe('robust statistics', () => {
  it('median and MAD ignore the outlier among the values', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 2, 3])).toBe(2.5);
    expect(mad([1, 2, 3, 4, 100])).toBeCloseTo(1.4826);
    expect(mad([5, 5, 5])).toBe(0);
  });
});

describe('assess and decide', () => {
  it('flags the device whose battery drains 5× faster than its cohort, and only it', () => {
    const fleet = [...cohort(), series('hot', (t) => (t >= now - H ? 5 * 1.75 : 1.75))];
    const a = assess(fleet, now, p);
    const flagged = a.filter((x) => x.score >= 5);
    expect(flagged.map((x) => x.id)).toEqual(['hot']);
    expect(flagged[0]!.findings[0]!.metric).toBe('drain');
    expect(say(flagged[0]!.findings[0]!)).toMatch(/^battery drain \(%\/h\) 8\.\d: own baseline 1\.8/);
  });

  it('does not flag chronic spread: the flaky, the weak-signal and the fastest-draining devices as they always were', () => {
    expect(assess(cohort(), now, p).filter((x) => x.score >= 5)).toEqual([]);
  });

  it('does not flag a device that was always 5× worse (unlike its cohort, like itself)', () => {
    const a = assess([...cohort(), series('always', () => 8.75)], now, p);
    expect(a.find((x) => x.id === 'always')!.score).toBeLessThan(5);
  });

  it('judges an error rate only on enough errors: two in an hour is noise, 200 (5.6 %) a fault', () => {
    const withErrors = (n: number) => {
      const s = series('err', () => 1.75);
      for (const b of s.buckets.slice(-2)) b.errors = n / 2;
      return assess([...cohort(), s], now, p).find((x) => x.id === 'err')!;
    };
    expect(withErrors(2).findings.map((f) => f.metric)).not.toContain('errorRate');
    const bad = withErrors(200);
    expect(bad.findings[0]).toMatchObject({ metric: 'errorRate' });
    expect(bad.score).toBeGreaterThan(5);
  });

  it('takes the counting scatter of a rate from few readings into account: a flaky sensor’s 7 % in 210 readings is not unusual', () => {
    const flaky = series('flaky', () => 1.75, { errorP: 0.028 });
    for (const b of flaky.buckets.slice(-2)) Object.assign(b, { samples: 105, errors: 7 });
    expect(assess([...cohort(), flaky], now, p).find((x) => x.id === 'flaky')!.score).toBeLessThan(5);
  });

  it('does not judge a device without history', () => {
    const fresh = series('new', () => 9);
    fresh.buckets = fresh.buckets.slice(-3);
    expect(assess([...cohort(), fresh], now, p).find((x) => x.id === 'new')!.findings).toEqual([]);
  });

  it('raises at most maxNew a pass, the worst first; clears only under the clear score', () => {
    const a = [5, 9, 7, 6].map((score, i) => ({ id: `x${i}`, score, findings: [] }));
    const d = decideAnomalies([...a, { id: 'held', score: 3, findings: [] }, { id: 'gone', score: 1, findings: [] }], new Set(['held', 'gone', 'x1']), {
      raiseScore: 5,
      clearScore: 2.5,
      maxNew: 2,
    });
    expect(d.raise.map((x) => x.id)).toEqual(['x2', 'x3']);
    expect(d.deferred).toBe(1);
    expect(d.clear).toEqual(['gone']);
  });
});
