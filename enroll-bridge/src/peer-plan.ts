import { contains, type Cidr } from './pool.ts';

/** A device's tunnel as the store knows it: its key and address, and whether its WireGuard step is done. */
export interface TunnelRecord {
  wgPublicKey: string;
  wgIp: string;
  wireguardDone: boolean;
  /** Only an enrolled or enrolling device gets its peer back: a decommission removes it first. */
  decommissioning: boolean;
}

export interface PeerPlan {
  /** Peers to (re)set: key and its one address. */
  set: { publicKey: string; allowedIps: string[] }[];
  /** Keys to remove: a pool address no device of the store holds with that key. */
  remove: string[];
}

/**
 * What the hub's peers should become for the store's devices: every device whose WireGuard step is
 * done and that is not being decommissioned has its peer with exactly its address (`peers` must be
 * read before `devices`: a decommission marks the device before it removes the peer); a peer on a pool address whose key no device holds
 * (decommissioned elsewhere, or a replica's hub that missed the change) goes. Peers outside the pool
 * (set up by hand) and those of enrollments still under way are left alone: their own step sets them.
 */
export function planPeers(devices: readonly TunnelRecord[], peers: readonly { publicKey: string; allowedIps: string[] }[], pool: Cidr): PeerPlan {
  const byKey = new Map(devices.map((d) => [d.wgPublicKey, d]));
  const current = new Map(peers.map((p) => [p.publicKey, p.allowedIps]));
  const set = devices
    .filter((d) => d.wireguardDone && !d.decommissioning && d.wgIp)
    .filter((d) => {
      const ips = current.get(d.wgPublicKey);
      return !(ips?.length === 1 && ips[0] === `${d.wgIp}/32`);
    })
    .map((d) => ({ publicKey: d.wgPublicKey, allowedIps: [`${d.wgIp}/32`] }));
  const inPool = (cidr: string) => contains(pool, cidr.split('/')[0]!);
  const remove = peers.filter((p) => !byKey.has(p.publicKey) && p.allowedIps.length > 0 && p.allowedIps.every(inPool)).map((p) => p.publicKey);
  return { set, remove };
}
