import { describe, expect, it } from 'vitest';
import { WindowAggregator } from './aggregator.ts';

describe('WindowAggregator', () => {
  it('reports means, minima and the error rate of a window', () => {
    const a = new WindowAggregator();
    a.add({ battery: 80, signal: -70, error: false });
    a.add({ battery: 79, signal: -90, error: true });
    a.add({ battery: 78, signal: -80, error: false });
    a.add({ battery: 77, signal: -60, error: false });
    expect(a.flush()).toEqual({ battery_pct: 78.5, battery_min_pct: 77, signal_dbm: -75, signal_min_dbm: -90, samples: 4, errors: 1, error_rate: 0.25 });
  });

  it('starts a fresh window after a flush, and reports nothing for an empty one', () => {
    const a = new WindowAggregator();
    expect(a.flush()).toBeUndefined();
    a.add({ battery: 50, signal: -100, error: true });
    a.flush();
    expect(a.count).toBe(0);
    a.add({ battery: 40, signal: -50, error: false });
    expect(a.flush()).toEqual({ battery_pct: 40, battery_min_pct: 40, signal_dbm: -50, signal_min_dbm: -50, samples: 1, errors: 0, error_rate: 0 });
  });

  it('rounds so a point stays small on the wire', () => {
    const a = new WindowAggregator();
    for (const b of [10.123456, 10.654321, 10.333333]) a.add({ battery: b, signal: -71.234, error: false });
    const r = a.flush()!;
    expect(r.battery_pct).toBe(10.37);
    expect(r.signal_dbm).toBe(-71.2);
  });
});
