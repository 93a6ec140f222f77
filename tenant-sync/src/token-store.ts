import fs from 'node:fs';
import { encodeTenantToken, parseTenantToken, tenantTokenPath, type TenantTokenFile } from '@cdm/common';

/** What enroll-bridge hands a device of this tenant so it can write telemetry (the shared file contract). */
export type TenantWriteToken = TenantTokenFile & { authId: string };

/**
 * Device write tokens, one file per tenant (mode 0600 in a 0700 directory). InfluxDB shows a
 * token only when it is created, so this store is where enroll-bridge reads it; both bridges
 * mount the same directory. Writes are atomic (temp file + rename): a crash never leaves half a
 * token behind.
 */
export class TokenStore {
  constructor(private readonly dir: string) {}

  private file(cdmId: string): string {
    return tenantTokenPath(this.dir, cdmId);
  }

  get(cdmId: string): TenantWriteToken | undefined {
    try {
      const t = parseTenantToken(fs.readFileSync(this.file(cdmId), 'utf8'), this.file(cdmId));
      return { ...t, authId: t.authId ?? '' };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  }

  /** Tenant ids with a stored token. */
  list(): string[] {
    if (!fs.existsSync(this.dir)) return [];
    return fs
      .readdirSync(this.dir)
      .filter((f) => f.endsWith('.json'))
      .map((f) => f.slice(0, -5));
  }

  put(t: TenantWriteToken): void {
    fs.mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    const tmp = `${this.file(t.cdmId)}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, encodeTenantToken(t), { mode: 0o600 });
    fs.renameSync(tmp, this.file(t.cdmId));
  }

  delete(cdmId: string): void {
    fs.rmSync(this.file(cdmId), { force: true });
  }
}
