import crypto from 'node:crypto';
import { parseFactoryCa } from './factory.ts';
import type { FactoryCaRecord, Store } from './store.ts';

/** Registers a factory CA for a tenant after checking it is a valid CA certificate. */
export function registerFactoryCa(store: Store, tenantId: string, pem: string): FactoryCaRecord {
  const ca = parseFactoryCa(pem);
  return store.addFactoryCa({ id: `fca_${crypto.randomBytes(6).toString('hex')}`, tenantId, ...ca });
}
