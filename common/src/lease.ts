// Not in the package index: it needs a store (db.ts); services import "@cdm/common/lease".
import crypto from 'node:crypto';
import os from 'node:os';
import { openDb, type Queryable } from './db.ts';

/** Who holds leases in this process: host, pid and a random part (a restarted pid is somebody else). */
export const LEASE_HOLDER = `${os.hostname()}:${process.pid}:${crypto.randomBytes(4).toString('hex')}`;

/**
 * A named lease in the store's `cdm_leases` table, valid until the database's clock passes its
 * expiry: taken when free or expired, renewed by its holder. A replica that dies stops renewing,
 * so the lease is free again after `ttlMs` — no connection or process has to notice.
 */
export class Lease {
  private heldUntil = 0;

  constructor(
    private readonly db: Queryable,
    readonly name: string,
    readonly ttlMs: number,
    readonly holder = LEASE_HOLDER,
  ) {}

  /** Takes or renews it; true when this holder has it now. */
  async take(): Promise<boolean> {
    const asked = Date.now();
    const n = await this.db.run(
      `INSERT INTO cdm_leases (name, holder, expires_at) VALUES (?, ?, ${this.db.nowMs} + ?)
         ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
         WHERE cdm_leases.holder = excluded.holder OR cdm_leases.expires_at < ${this.db.nowMs}`,
      [this.name, this.holder, this.ttlMs],
    );
    // Counted from before the statement: a slow answer shortens the lease here, never lengthens it.
    this.heldUntil = n === 1 ? asked + this.ttlMs : 0;
    return n === 1;
  }

  /** Held by this holder, by what the last take() said and the local clock since. */
  held(): boolean {
    return Date.now() < this.heldUntil;
  }

  async release(): Promise<void> {
    this.heldUntil = 0;
    await this.db.run('DELETE FROM cdm_leases WHERE name = ? AND holder = ?', [this.name, this.holder]);
  }
}

export class LeaseBusy extends Error {}

let operations = 0;

/**
 * fn while holding the lease `name`, waiting up to `waitMs` for another holder (a replica doing an
 * operation on the same key) to finish; renewed while fn runs, released after. One operation per
 * key across replicas, as an in-process map is within one.
 */
export async function withLease<T>(db: Queryable, name: string, fn: () => Promise<T>, o: { ttlMs?: number; waitMs?: number } = {}): Promise<T> {
  // Its own holder: two operations in one process are two holders, as on two replicas.
  const lease = new Lease(db, name, o.ttlMs ?? 60_000, `${LEASE_HOLDER}:${++operations}`);
  const deadline = Date.now() + (o.waitMs ?? 30_000);
  let pause = 20;
  while (!(await lease.take())) {
    if (Date.now() > deadline) throw new LeaseBusy(`${name} is busy on another replica`);
    await new Promise((r) => setTimeout(r, pause));
    pause = Math.min(pause * 2, 500);
  }
  const renew = setInterval(() => void lease.take().catch(() => undefined), lease.ttlMs / 3);
  try {
    return await fn();
  } finally {
    clearInterval(renew);
    await lease.release().catch(() => undefined);
  }
}

/**
 * A poller's leader lease when replicas share this store (PostgreSQL); none with SQLite, where one
 * instance runs and every pass is its own.
 */
export function replicaLease(db: Queryable, name: string, ttlMs: number, holder?: string): Lease | undefined {
  return db.engine === 'postgres' ? new Lease(db, name, ttlMs, holder) : undefined;
}

/**
 * fn as the only operation on `key` across replicas (withLease) when they share this store; with
 * SQLite there is one instance and the caller's in-process queue is enough.
 */
export function acrossReplicas<T>(db: Queryable, key: string, fn: () => Promise<T>, o: { ttlMs?: number; waitMs?: number }): Promise<T> {
  return db.engine === 'postgres' ? withLease(db, key, fn, o) : fn();
}

/**
 * The leader leases of a service that keeps no state of its own (tenant-sync, fleet-monitor): on
 * DATABASE_URL's database when replicas run, none for a single instance.
 */
export async function serviceLeases(o: { url?: string; service: string; ttlSeconds: number }): Promise<{ lease: (loop: string) => Lease | undefined; close: () => Promise<void> }> {
  if (!o.url) return { lease: () => undefined, close: async () => undefined };
  const db = await openDb({ url: o.url, dataDir: '', file: '', schema: { name: o.service, sqlite: [], postgres: [] } });
  return { lease: (loop) => new Lease(db, `${o.service}:${loop}`, o.ttlSeconds * 1000), close: () => db.close() };
}
