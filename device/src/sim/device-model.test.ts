import { describe, expect, it } from 'vitest';
import { DEFAULT_PROFILE, VirtualDevice } from './device-model.ts';
import { deviceSeed, rng } from './rng.ts';
import { versionCode } from './schema.ts';

const T0 = Date.UTC(2026, 0, 1);
const make = (i: number, profile = DEFAULT_PROFILE) => new VirtualDevice(`dev-${i}`, 'acme', rng(deviceSeed(7, i)), T0, { sampleIntervalS: 1, windowS: 10 }, profile);

describe('VirtualDevice', () => {
  it('is the same device for the same seed and index', () => {
    const a = make(3);
    const b = make(3);
    for (let i = 0; i < 20; i++) expect(a.sample(1)).toEqual(b.sample(1));
    expect(a.flush(T0 + 20_000)).toEqual(b.flush(T0 + 20_000));
  });

  it('drains the battery over time and keeps the signal near its level', () => {
    const d = make(1);
    const start = d.battery;
    for (let i = 0; i < 3600; i++) d.sample(1);
    expect(d.battery).toBeLessThan(start - 0.3);
    expect(d.battery).toBeGreaterThan(start - 4);
    expect(d.signal).toBeGreaterThanOrEqual(-120);
    expect(d.signal).toBeLessThanOrEqual(-30);
  });

  it('gives a fleet the spread the dashboards and alerts look for', () => {
    const fleet = Array.from({ length: 2000 }, (_, i) => make(i));
    const low = fleet.filter((d) => d.battery < 10).length;
    const weak = fleet.filter((d) => d.signal < -90).length;
    const versions = new Set(fleet.map((d) => d.swVersion));
    expect(low).toBeGreaterThan(20);
    expect(low).toBeLessThan(120);
    expect(weak).toBeGreaterThan(40);
    expect(versions).toEqual(new Set(['1.4.0', '1.3.2']));
  });

  it('reports one aggregate per window with uptime and software version', () => {
    const d = make(2);
    for (let i = 0; i < 10; i++) d.sample(1);
    const v = d.flush(T0 + 10_000)!;
    expect(v.samples).toBe(10);
    expect(v.sw_version_code).toBe(versionCode(d.swVersion));
    expect(v.uptime_s).toBe(Math.floor((T0 + 10_000 - d.bootMs) / 1000));
    expect(v.update_failures).toBe(0);
    expect(d.flush(T0 + 20_000)).toBeUndefined();
  });

  it('reacts to configuration attributes and ignores what it does not know', () => {
    const d = make(4);
    expect(d.onAttributes({ telemetry_window_s: 30, sample_interval_s: 5, colour: 'red', current_sw_version: d.swVersion })).toEqual([
      { kind: 'reconfigured', keys: ['telemetry_window_s', 'sample_interval_s'] },
    ]);
    expect(d.config).toMatchObject({ windowS: 30, sampleIntervalS: 5 });
    expect(d.onAttributes({ telemetry_window_s: 0 })).toEqual([]);
    expect(d.config.windowS).toBe(30);
  });

  it('installs a new version when told, once per target', () => {
    const d = make(5);
    expect(d.onAttributes({ sw_version: d.swVersion })).toEqual([]);
    expect(d.onAttributes({ sw_version: '2.0.0' })).toEqual([{ kind: 'install', version: '2.0.0' }]);
    expect(d.onAttributes({ sw_version: '2.0.0' })).toEqual([]);
    expect(d.install('2.0.0', T0 + 5000)).toEqual({ ok: true, version: '2.0.0' });
    expect(d.swVersion).toBe('2.0.0');
    expect(d.bootMs).toBe(T0 + 5000);
  });

  it('told fail_update, fails the boot, falls back and counts the failure', () => {
    const d = make(6);
    const before = d.swVersion;
    expect(d.onAttributes({ fail_update: true })).toEqual([{ kind: 'reconfigured', keys: ['fail_update'] }]);
    const r = d.install('9.9.9', T0 + 1000);
    expect(r).toEqual({ ok: false, version: '9.9.9', running: before, error: `boot of 9.9.9 failed; fell back to ${before}` });
    expect(d.swVersion).toBe(before);
    d.sample(1);
    expect(d.flush(T0 + 2000)?.update_failures).toBe(1);
    d.onAttributes({ fail_update: false });
    expect(d.install('9.9.9', T0 + 3000).ok).toBe(true);
  });

  it('starts a share of the fleet told to fail updates', () => {
    const fleet = Array.from({ length: 1000 }, (_, i) => make(i, { ...DEFAULT_PROFILE, failUpdateShare: 0.2 }));
    const failing = fleet.filter((d) => d.config.failUpdate).length;
    expect(failing).toBeGreaterThan(150);
    expect(failing).toBeLessThan(250);
  });
});

describe('versionCode', () => {
  it('orders versions numerically', () => {
    expect(versionCode('1.10.0')).toBeGreaterThan(versionCode('1.9.9'));
    expect(versionCode('v2.0.1-rc1')).toBe(2_000_001);
    expect(versionCode('nightly')).toBe(0);
  });
});

describe('recharging', () => {
  it('a battery that reaches rechargeAtPct is full again; without it the battery stays empty', () => {
    const run = (profile: typeof DEFAULT_PROFILE) => {
      const d = new VirtualDevice('d', 't', rng(3), 0, { sampleIntervalS: 60, windowS: 300 }, profile);
      const seen: number[] = [];
      for (let h = 0; h < 24 * 10; h++) seen.push(d.sample(3600).battery);
      return seen;
    };
    expect(run(DEFAULT_PROFILE).at(-1)).toBe(0);
    const charged = run({ ...DEFAULT_PROFILE, rechargeAtPct: 5 });
    expect(Math.min(...charged)).toBeGreaterThan(0);
    expect(charged.some((b, i) => i > 0 && b > charged[i - 1]! + 50)).toBe(true);
  });
});
