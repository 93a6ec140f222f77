import { hashClaimToken, wellFormedClaimToken } from './claim-token.ts';
import { Refused } from './errors.ts';
import { verifyFactoryChain } from './factory.ts';
import type { Store, Voucher as VoucherKind } from './store.ts';

/** Who vouches for an enrollment: a claim token or a factory certificate, resolved to a tenant. */
export interface Voucher {
  tenantId: string;
  /** Set when the voucher is scoped to one device: only then may a known device change keys. */
  deviceId?: string;
  kind: VoucherKind;
  /** Takes one use (inside the transaction that creates the device); false when none is left. */
  consume(s: Store): Promise<boolean>;
}

/** The voucher an enrollment request carries, or a refusal saying why it vouches for nothing. */
export async function voucherOf(store: Store, req: { deviceId: string; claimToken?: string; factoryChain?: Buffer[] }): Promise<Voucher> {
  if (req.claimToken === undefined) {
    const f = verifyFactoryChain(req.factoryChain ?? [], await store.listFactoryCas());
    if (f.deviceId !== req.deviceId) throw new Refused('forbidden', `the factory certificate is for device ${f.deviceId}, not ${req.deviceId}`);
    return { tenantId: f.ca.tenantId, kind: 'factory', consume: async () => true };
  }
  if (!wellFormedClaimToken(req.claimToken)) throw new Refused('unauthenticated', 'no valid enrollment claim');
  const claim = await store.findClaimByHash(hashClaimToken(req.claimToken));
  if (!claim) throw new Refused('unauthenticated', 'no valid enrollment claim');
  if (claim.revoked) throw new Refused('forbidden', 'enrollment claim revoked');
  if (Date.parse(claim.expiresAt) <= Date.now()) throw new Refused('forbidden', 'enrollment claim expired');
  if (claim.deviceId && claim.deviceId !== req.deviceId) throw new Refused('forbidden', 'enrollment claim is for another device');
  return { tenantId: claim.tenantId, deviceId: claim.deviceId, kind: claim.deviceId ? 'device-claim' : 'claim', consume: (s) => s.consumeClaim(claim.id) };
}
