import crypto from 'node:crypto';

/**
 * Enrollment claim tokens: 32 random bytes behind a recognisable prefix (secret scanners can spot
 * a leaked one). Only a SHA-256 of the token is stored — the token has full entropy, so a slow
 * password hash adds nothing — and compared in constant time by looking up the hash.
 */
export const CLAIM_PREFIX = 'cdm_claim_';

export function newClaimToken(): string {
  return `${CLAIM_PREFIX}${crypto.randomBytes(32).toString('base64url')}`;
}

export function hashClaimToken(token: string): string {
  return crypto.createHash('sha256').update(token, 'utf8').digest('hex');
}

/** Shape check before any lookup: refuses junk cheaply and keeps odd bytes out of the store. */
export function wellFormedClaimToken(token: unknown): token is string {
  return typeof token === 'string' && new RegExp(`^${CLAIM_PREFIX}[A-Za-z0-9_-]{43}$`).test(token);
}
