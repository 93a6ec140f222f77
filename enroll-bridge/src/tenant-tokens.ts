import fs from 'node:fs';
import path from 'node:path';
import type { TenantTokens } from './enroll.ts';

/** Reads the device write tokens tenant-sync stores, one JSON file per tenant (see tenant-sync's TokenStore). */
export class TenantTokenFiles implements TenantTokens {
  constructor(private readonly dir: string) {}

  get(cdmId: string): { org: string; bucket: string; token: string } | undefined {
    if (!/^[A-Za-z0-9-]{1,64}$/.test(cdmId)) return undefined;
    try {
      const t = JSON.parse(fs.readFileSync(path.join(this.dir, `${cdmId}.json`), 'utf8')) as { org: string; bucket: string; token: string };
      return { org: t.org, bucket: t.bucket, token: t.token };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  }
}
