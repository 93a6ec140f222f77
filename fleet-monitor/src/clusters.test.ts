import { describe, expect, it } from 'vitest';
import { clusterStillDown, findClusters, type FleetDevice } from './clusters.ts';

const MIN = 60_000;
const now = 1_000 * MIN;
const p = { offlineAfterMs: 15 * MIN, windowMs: 10 * MIN, minDevices: 5, minPercent: 3 };

/** 1,000 devices on 20 sites in 4 regions, 85 % on 1.4.0, all reporting a minute ago. */
function fleet(): FleetDevice[] {
  return Array.from({ length: 1000 }, (_, i) => ({
    id: `d${String(i).padStart(4, '0')}`,
    groups: { site: `site-${i % 20}`, region: `region-${i % 4}`, firmware: i % 7 === 0 ? '1.3.2' : '1.4.0', owner: `owner-${i % 3}` },
    lastSeen: now - MIN,
  }));
}

describe('findClusters', () => {
  it('names the one site whose devices dropped together, not its region or firmware', () => {
    const f = fleet();
    for (const d of f.filter((d) => d.groups.site === 'site-7')) d.lastSeen = now - 30 * MIN + (Number(d.id.slice(1)) % 5) * 10_000;
    const c = findClusters(f, now, p);
    expect(c.map((x) => `${x.key}=${x.value}`)).toEqual(['site=site-7']);
    expect(c[0]!.devices).toHaveLength(50);
    expect(c[0]!.shared).toEqual({ region: 'region-3' });
  });

  it('raises nothing for the same number of devices going quiet one by one over hours', () => {
    const f = fleet();
    f.filter((_, i) => i % 20 === 3).forEach((d, i) => (d.lastSeen = now - 20 * MIN - i * 12 * MIN));
    expect(findClusters(f, now, p)).toEqual([]);
  });

  it('needs both the count and the share of the group', () => {
    const f = fleet();
    const site = f.filter((d) => d.groups.site === 'site-2').slice(0, 4);
    for (const d of site) d.lastSeen = now - 20 * MIN;
    expect(findClusters(f, now, p)).toEqual([]);
    // 6 devices of a 1,000-device owner group are 0.6 %: under 3 %.
    expect(findClusters(f, now, { ...p, minDevices: 3, minPercent: 20 })).toEqual([]);
    expect(findClusters(f, now, { ...p, minDevices: 3 }).map((x) => x.value)).toEqual(['site-2']);
  });

  it('keeps two simultaneous drops apart', () => {
    const f = fleet();
    for (const d of f.filter((d) => d.groups.site === 'site-1' || d.groups.site === 'site-6')) d.lastSeen = now - 40 * MIN;
    expect(
      findClusters(f, now, p)
        .map((x) => x.value)
        .sort(),
    ).toEqual(['site-1', 'site-6']);
  });

  it('stays raised while half the named devices are offline, then clears', () => {
    const f = fleet();
    const named = f.slice(0, 10);
    for (const d of named) d.lastSeen = now - 30 * MIN;
    const byId = new Map(f.map((d) => [d.id, d]));
    const ids = named.map((d) => d.id);
    for (const d of named.slice(0, 5)) d.lastSeen = now;
    expect(clusterStillDown(ids, byId, now, p)).toBe(true);
    named[5]!.lastSeen = now;
    expect(clusterStillDown(ids, byId, now, p)).toBe(false);
  });
});
