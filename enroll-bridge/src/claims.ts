import { parseDuration } from '@cdm/common';
import { hashClaimToken, newClaimToken } from './claim-token.ts';
import { Refused } from './errors.ts';
import { newClaimId } from './enroll.ts';
import type { ClaimRecord, Store } from './store.ts';

export const MAX_CLAIM_USES = 100_000;

/** Creates a claim; the token is returned once and only its hash is kept. */
export async function createClaim(store: Store, o: { tenantId: string; uses: number; expires: string; deviceId?: string }): Promise<{ claim: ClaimRecord; token: string }> {
  if (!Number.isInteger(o.uses) || o.uses < 1 || o.uses > MAX_CLAIM_USES) throw new Refused('invalid', `uses must be a whole number from 1 to ${MAX_CLAIM_USES}`);
  let ms: number;
  try {
    ms = parseDuration(o.expires);
  } catch (err) {
    throw new Refused('invalid', (err as Error).message);
  }
  if (ms > 366 * 86_400_000) throw new Refused('invalid', 'a claim may last at most 366 days');
  const token = newClaimToken();
  const claim = await store.createClaim({ id: newClaimId(), tokenSha256: hashClaimToken(token), tenantId: o.tenantId, deviceId: o.deviceId, uses: o.uses, expiresAt: new Date(Date.now() + ms) });
  return { claim, token };
}
