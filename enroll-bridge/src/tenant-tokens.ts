import fs from 'node:fs';
import { parseTenantToken, tenantTokenPath } from '@cdm/common';
import type { TenantTokens } from './enroll.ts';

/** Reads the device write tokens tenant-sync stores (the file contract in common/src/contracts/tenant-token-file.ts). */
export class TenantTokenFiles implements TenantTokens {
  constructor(private readonly dir: string) {}

  get(cdmId: string): { org: string; bucket: string; token: string } | undefined {
    if (!/^[A-Za-z0-9-]{1,64}$/.test(cdmId)) return undefined;
    const file = tenantTokenPath(this.dir, cdmId);
    let text: string;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
    const t = parseTenantToken(text, file);
    return { org: t.org, bucket: t.bucket, token: t.token };
  }
}
