/** The device attributes devices are grouped by: metadata operators set, and the software they run. */
export const GROUP_KEYS = ['site', 'region', 'owner', 'firmware'] as const;
export type GroupKey = (typeof GROUP_KEYS)[number];

export interface FleetDevice {
  /** The device id (its ThingsBoard name). */
  id: string;
  groups: Partial<Record<GroupKey, string>>;
  /** Its last health point (ms), if any within the look-back. */
  lastSeen?: number;
}

export interface ClusterParams {
  /** A device is offline when its last health point is older than this. */
  offlineAfterMs: number;
  /** Devices whose last points lie within this span of each other dropped "together". */
  windowMs: number;
  /** At least this many devices… */
  minDevices: number;
  /** …and at least this share (%) of their group. */
  minPercent: number;
}

export interface Cluster {
  key: GroupKey;
  value: string;
  /** The group's size, offline or not. */
  groupSize: number;
  /** The devices that dropped together, sorted. */
  devices: string[];
  /** First and last of their last points: when the drop happened. */
  from: number;
  to: number;
  /** Other attributes every one of them shares (e.g. the site's region). */
  shared: Partial<Record<GroupKey, string>>;
}

export const isOffline = (d: FleetDevice, now: number, p: Pick<ClusterParams, 'offlineAfterMs'>) => d.lastSeen === undefined || now - d.lastSeen > p.offlineAfterMs;

/**
 * Offline clusters (pure): per group (a site, a region, an owner, a firmware version), the most
 * devices whose last points fall within `windowMs` of each other — a drop together, unlike the
 * trickle of single devices going quiet over hours. A group qualifies with ≥ minDevices and
 * ≥ minPercent of its members. One drop shows in several groups at once (its site, the site's
 * region, the firmware most of them run); the group it explains best — the largest share of its
 * members — is kept and the others dropped when most of their devices are already explained.
 */
export function findClusters(devices: readonly FleetDevice[], now: number, p: ClusterParams): Cluster[] {
  const groups = new Map<string, { key: GroupKey; value: string; members: FleetDevice[] }>();
  for (const d of devices) {
    for (const key of GROUP_KEYS) {
      const value = d.groups[key];
      if (!value) continue;
      const id = `${key}\u0000${value}`;
      let g = groups.get(id);
      if (!g) groups.set(id, (g = { key, value, members: [] }));
      g.members.push(d);
    }
  }
  const candidates: Cluster[] = [];
  for (const g of groups.values()) {
    const dropped = g.members.filter((d) => d.lastSeen !== undefined && isOffline(d, now, p)).sort((a, b) => a.lastSeen! - b.lastSeen!);
    let best: [number, number] = [0, 0];
    for (let i = 0, j = 0; j < dropped.length; j++) {
      while (dropped[j]!.lastSeen! - dropped[i]!.lastSeen! > p.windowMs) i++;
      if (j - i + 1 > best[1] - best[0]) best = [i, j + 1];
    }
    const members = dropped.slice(best[0], best[1]);
    if (members.length < Math.max(1, p.minDevices) || (100 * members.length) / g.members.length < p.minPercent) continue;
    candidates.push({
      key: g.key,
      value: g.value,
      groupSize: g.members.length,
      devices: members.map((d) => d.id).sort(),
      from: members[0]!.lastSeen!,
      to: members.at(-1)!.lastSeen!,
      shared: sharedGroups(members, g.key),
    });
  }
  candidates.sort((a, b) => b.devices.length / b.groupSize - a.devices.length / a.groupSize || GROUP_KEYS.indexOf(a.key) - GROUP_KEYS.indexOf(b.key));
  const explained = new Set<string>();
  const out: Cluster[] = [];
  for (const c of candidates) {
    const already = c.devices.filter((d) => explained.has(d)).length;
    if (already * 2 >= c.devices.length) continue;
    for (const d of c.devices) explained.add(d);
    out.push(c);
  }
  return out;
}

function sharedGroups(members: readonly FleetDevice[], except: GroupKey): Partial<Record<GroupKey, string>> {
  const out: Partial<Record<GroupKey, string>> = {};
  for (const key of GROUP_KEYS) {
    if (key === except) continue;
    const v = members[0]!.groups[key];
    if (v && members.every((m) => m.groups[key] === v)) out[key] = v;
  }
  return out;
}

/** The alarm type of a cluster: ThingsBoard keeps one active alarm per originator and type, so the group is part of it. */
export const clusterAlarmType = (prefix: string, c: Pick<Cluster, 'key' | 'value'>) => `${prefix}: ${c.key}=${c.value}`;

/**
 * Hysteresis for a raised cluster: it stays raised while at least half of the devices it named
 * are still offline, so a few coming back do not clear and re-raise it.
 */
export function clusterStillDown(named: readonly string[], byId: ReadonlyMap<string, FleetDevice>, now: number, p: Pick<ClusterParams, 'offlineAfterMs'>): boolean {
  if (!named.length) return false;
  const down = named.filter((id) => {
    const d = byId.get(id);
    return d !== undefined && isOffline(d, now, p); // a device deleted since no longer holds it up
  }).length;
  return down * 2 >= named.length;
}
