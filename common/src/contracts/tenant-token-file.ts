import path from 'node:path';
import { z } from 'zod';

/**
 * The contract between tenant-sync (which makes each tenant's device write token: InfluxDB shows a
 * token only when it is created) and enroll-bridge (which hands it to the tenant's devices): one
 * JSON file per tenant in a shared directory, `<tenant id>.json`, mode 0600. Both sides go through
 * this module, so a field renamed on one side fails the other's tests instead of production.
 */
export const TenantTokenFile = z.object({
  cdmId: z.string().regex(/^[A-Za-z0-9-]{1,64}$/),
  org: z.string().min(1),
  bucket: z.string().min(1),
  /** InfluxDB authorization id, to tell whether the token still exists there. */
  authId: z.string().min(1).optional(),
  token: z.string().min(1),
});
export type TenantTokenFile = z.infer<typeof TenantTokenFile>;

/** The file of a tenant's token in the shared directory (the id is checked: it becomes a path). */
export function tenantTokenPath(dir: string, cdmId: string): string {
  if (!/^[A-Za-z0-9-]{1,64}$/.test(cdmId)) throw new Error(`invalid tenant id ${JSON.stringify(cdmId)}`);
  return path.join(dir, `${cdmId}.json`);
}

export const encodeTenantToken = (t: TenantTokenFile): string => JSON.stringify(TenantTokenFile.parse(t));

/** Parses a token file's text; throws naming the file's problem (not its content: it is a secret). */
export function parseTenantToken(text: string, file: string): TenantTokenFile {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new Error(`${file} is not JSON (tenant-sync writes these files; is the directory shared correctly?)`);
  }
  const r = TenantTokenFile.safeParse(json);
  if (!r.success) throw new Error(`${file} does not hold a tenant token (${r.error.issues.map((i) => i.path.join('.') || 'file').join(', ')} wrong)`);
  return r.data;
}
