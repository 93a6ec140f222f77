import fs from 'node:fs';
import path from 'node:path';

/** What enroll-bridge hands a device of this tenant so it can write telemetry. */
export interface TenantWriteToken {
  cdmId: string;
  org: string;
  bucket: string;
  /** InfluxDB authorization id, to tell whether the token still exists there. */
  authId: string;
  token: string;
}

/**
 * Device write tokens, one file per tenant (mode 0600 in a 0700 directory). InfluxDB shows a
 * token only when it is created, so this store is where enroll-bridge reads it; both bridges
 * mount the same directory. Writes are atomic (temp file + rename): a crash never leaves half a
 * token behind.
 */
export class TokenStore {
  constructor(private readonly dir: string) {}

  private file(cdmId: string): string {
    if (!/^[A-Za-z0-9-]{1,64}$/.test(cdmId)) throw new Error(`invalid tenant id ${JSON.stringify(cdmId)}`);
    return path.join(this.dir, `${cdmId}.json`);
  }

  get(cdmId: string): TenantWriteToken | undefined {
    try {
      return JSON.parse(fs.readFileSync(this.file(cdmId), 'utf8')) as TenantWriteToken;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  }

  /** Tenant ids with a stored token. */
  list(): string[] {
    if (!fs.existsSync(this.dir)) return [];
    return fs.readdirSync(this.dir).filter((f) => f.endsWith('.json')).map((f) => f.slice(0, -5));
  }

  put(t: TenantWriteToken): void {
    fs.mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    const tmp = `${this.file(t.cdmId)}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, JSON.stringify(t), { mode: 0o600 });
    fs.renameSync(tmp, this.file(t.cdmId));
  }

  delete(cdmId: string): void {
    fs.rmSync(this.file(cdmId), { force: true });
  }
}
