import type { Logger, WireGuardClient } from '@cdm/common';
import { planPeers } from './peer-plan.ts';
import type { Store } from './store.ts';

export interface PeerSyncResult {
  set: number;
  removed: number;
  failed: number;
}

/**
 * The hub's WireGuard peers made to match the store, the owner of every device's key and address:
 * a hub that restarted empty, a replica's hub that missed an enrollment or a decommission made on
 * another, a peer removed by hand. Runs on every replica (each has its own hub), not under a lease.
 */
export async function syncPeers(o: { store: Store; wireguard: WireGuardClient; logger: Logger }): Promise<PeerSyncResult> {
  // The hub first, then the store: see planPeers.
  const { peers } = await o.wireguard.dump();
  const plan = planPeers(await o.store.tunnels(), peers, o.store.pool);
  const out = { set: 0, removed: 0, failed: 0 };
  // Together: the client sends them in batches of one `wg set`.
  await Promise.all([
    ...plan.set.map((p) =>
      o.wireguard.setPeer(p).then(
        () => void out.set++,
        (err: Error) => (out.failed++, o.logger.warn({ peer: p.publicKey, err: err.message }, 'could not restore a peer; the next pass retries')),
      ),
    ),
    ...plan.remove.map((k) =>
      o.wireguard.removePeer(k).then(
        () => void out.removed++,
        (err: Error) => (out.failed++, o.logger.warn({ peer: k, err: err.message }, 'could not remove a stray peer; the next pass retries')),
      ),
    ),
  ]);
  return out;
}
