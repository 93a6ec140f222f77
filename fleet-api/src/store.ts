import type { Operation } from '@cdm/common';
import { openDb, type Db, type Queryable, type Schema } from '@cdm/common/db';
import { acrossReplicas, replicaLease, type Lease } from '@cdm/common/lease';

/**
 * Where a command stands. ThingsBoard owns delivery (its persistent RPC); this records the
 * platform's side: `pending` (a group's device, not yet sent), `sending` (intent written, the RPC
 * may or may not have reached ThingsBoard: recovered by asking it for the RPC by id), `sent`, then a
 * final status.
 */
export type CommandStatus = 'pending' | 'sending' | 'queued' | 'sent' | 'delivered' | 'successful' | 'failed' | 'timeout' | 'expired' | 'cancelled';
export const FINAL: ReadonlySet<CommandStatus> = new Set(['successful', 'failed', 'timeout', 'expired', 'cancelled']);
export const isFinal = (s: CommandStatus) => FINAL.has(s);

export interface Command {
  id: string;
  tenantId: string;
  deviceId: string;
  tbDeviceId: string;
  operation: Operation;
  params: Record<string, unknown>;
  requestedBy: string;
  requestedByName: string;
  groupId?: string;
  status: CommandStatus;
  result?: unknown;
  error?: string;
  createdAt: number;
  expiresAt: number;
  updatedAt: number;
  /** When its status was last read from ThingsBoard. */
  checkedAt: number;
}

export interface GroupOperation {
  id: string;
  tenantId: string;
  operation: Operation;
  params: Record<string, unknown>;
  selector: Record<string, unknown>;
  concurrency: number;
  requestedBy: string;
  requestedByName: string;
  state: 'running' | 'cancelled' | 'finished';
  createdAt: number;
  expiresAt: number;
  updatedAt: number;
}

export interface AuditEntry {
  at: number;
  actor: string;
  actorName: string;
  action: string;
  tenantId?: string;
  devices: string[];
  outcome: 'done' | 'refused' | 'failed';
  detail?: string;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS commands (
  id TEXT PRIMARY KEY, tenant_id TEXT NOT NULL, device_id TEXT NOT NULL, tb_device_id TEXT NOT NULL,
  operation TEXT NOT NULL, params TEXT NOT NULL, requested_by TEXT NOT NULL, requested_by_name TEXT NOT NULL,
  group_id TEXT, status TEXT NOT NULL, result TEXT, error TEXT,
  created_at INTEGER NOT NULL, expires_at INTEGER NOT NULL, updated_at INTEGER NOT NULL, checked_at INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS commands_device ON commands(device_id, created_at);
CREATE INDEX IF NOT EXISTS commands_group ON commands(group_id, status);
CREATE INDEX IF NOT EXISTS commands_open ON commands(status) WHERE status NOT IN ('successful','failed','timeout','expired','cancelled');
-- A device is in a group operation once: a repeated insert (a retried create) changes nothing.
CREATE UNIQUE INDEX IF NOT EXISTS commands_group_device ON commands(group_id, device_id) WHERE group_id IS NOT NULL;
CREATE TABLE IF NOT EXISTS groups (
  id TEXT PRIMARY KEY, tenant_id TEXT NOT NULL, operation TEXT NOT NULL, params TEXT NOT NULL, selector TEXT NOT NULL,
  concurrency INTEGER NOT NULL, requested_by TEXT NOT NULL, requested_by_name TEXT NOT NULL, state TEXT NOT NULL,
  created_at INTEGER NOT NULL, expires_at INTEGER NOT NULL, updated_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS audit (
  seq INTEGER PRIMARY KEY AUTOINCREMENT, at INTEGER NOT NULL, actor TEXT NOT NULL, actor_name TEXT NOT NULL,
  action TEXT NOT NULL, tenant_id TEXT, devices TEXT NOT NULL, outcome TEXT NOT NULL, detail TEXT
);
CREATE INDEX IF NOT EXISTS audit_tenant ON audit(tenant_id, seq);
`;

type Row = Record<string, string | number | null>;
const parse = (v: string | number | null | undefined): unknown => (typeof v === 'string' ? JSON.parse(v) : undefined);

const toCommand = (r: Row): Command => ({
  id: String(r.id),
  tenantId: String(r.tenant_id),
  deviceId: String(r.device_id),
  tbDeviceId: String(r.tb_device_id),
  operation: String(r.operation) as Operation,
  params: parse(r.params) as Record<string, unknown>,
  requestedBy: String(r.requested_by),
  requestedByName: String(r.requested_by_name),
  ...(r.group_id ? { groupId: String(r.group_id) } : {}),
  status: String(r.status) as CommandStatus,
  ...(r.result != null ? { result: parse(r.result) } : {}),
  ...(r.error != null ? { error: String(r.error) } : {}),
  createdAt: Number(r.created_at),
  expiresAt: Number(r.expires_at),
  updatedAt: Number(r.updated_at),
  checkedAt: Number(r.checked_at),
});

const toGroup = (r: Row): GroupOperation => ({
  id: String(r.id),
  tenantId: String(r.tenant_id),
  operation: String(r.operation) as Operation,
  params: parse(r.params) as Record<string, unknown>,
  selector: parse(r.selector) as Record<string, unknown>,
  concurrency: Number(r.concurrency),
  requestedBy: String(r.requested_by),
  requestedByName: String(r.requested_by_name),
  state: String(r.state) as GroupOperation['state'],
  createdAt: Number(r.created_at),
  expiresAt: Number(r.expires_at),
  updatedAt: Number(r.updated_at),
});

/** The same tables on PostgreSQL (DATABASE_URL); times are epoch milliseconds. */
const PG_SCHEMA = `
CREATE TABLE commands (
  id TEXT PRIMARY KEY, tenant_id TEXT NOT NULL, device_id TEXT NOT NULL, tb_device_id TEXT NOT NULL,
  operation TEXT NOT NULL, params TEXT NOT NULL, requested_by TEXT NOT NULL, requested_by_name TEXT NOT NULL,
  group_id TEXT, status TEXT NOT NULL, result TEXT, error TEXT,
  created_at BIGINT NOT NULL, expires_at BIGINT NOT NULL, updated_at BIGINT NOT NULL, checked_at BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX commands_device ON commands(device_id, created_at);
CREATE INDEX commands_group ON commands(group_id, status);
CREATE INDEX commands_open ON commands(status) WHERE status NOT IN ('successful','failed','timeout','expired','cancelled');
CREATE UNIQUE INDEX commands_group_device ON commands(group_id, device_id) WHERE group_id IS NOT NULL;
CREATE TABLE groups (
  id TEXT PRIMARY KEY, tenant_id TEXT NOT NULL, operation TEXT NOT NULL, params TEXT NOT NULL, selector TEXT NOT NULL,
  concurrency INTEGER NOT NULL, requested_by TEXT NOT NULL, requested_by_name TEXT NOT NULL, state TEXT NOT NULL,
  created_at BIGINT NOT NULL, expires_at BIGINT NOT NULL, updated_at BIGINT NOT NULL
);
CREATE TABLE audit (
  seq BIGSERIAL PRIMARY KEY, at BIGINT NOT NULL, actor TEXT NOT NULL, actor_name TEXT NOT NULL,
  action TEXT NOT NULL, tenant_id TEXT, devices TEXT NOT NULL, outcome TEXT NOT NULL, detail TEXT
);
CREATE INDEX audit_tenant ON audit(tenant_id, seq);
`;

export const FLEET_SCHEMA: Schema = { name: 'fleet-api', sqlite: [SCHEMA], postgres: [PG_SCHEMA], tables: ['commands', 'groups'] };

/**
 * fleet-api's durable state — SQLite (one instance) or PostgreSQL (DATABASE_URL: replicas share it;
 * the command loop runs on the lease holder) —: commands, group operations (each device of a group
 * is a command row) and the audit trail. A restart resumes from here.
 */
export class FleetStore {
  private constructor(private readonly db: Db) {}

  static async open(o: { url?: string; dataDir: string; log?: (msg: string) => void }): Promise<FleetStore> {
    return new FleetStore(await openDb({ url: o.url, dataDir: o.dataDir, file: 'fleet-api.sqlite', schema: FLEET_SCHEMA, log: o.log }));
  }

  /** The command loop's leader lease among replicas; none with SQLite (one instance). */
  lease(name: string, ttlMs: number, holder?: string): Lease | undefined {
    return replicaLease(this.db, `fleet-api:${name}`, ttlMs, holder);
  }

  close(): Promise<void> {
    return this.db.close();
  }

  /**
   * fn as the only one on this key across replicas (a lease in the shared store, waited for; freed
   * 15 s after a replica died holding it); with SQLite there is one instance and the caller's
   * in-process queue is enough.
   */
  exclusive<T>(key: string, fn: () => Promise<T>): Promise<T> {
    return acrossReplicas(this.db, `fleet-api:${key}`, fn, { ttlMs: 15_000, waitMs: 30_000 });
  }

  async insertCommand(c: Command, q: Queryable = this.db): Promise<void> {
    await q.run(
      `INSERT INTO commands (id, tenant_id, device_id, tb_device_id, operation, params, requested_by, requested_by_name, group_id, status, created_at, expires_at, updated_at)
         VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?) ON CONFLICT DO NOTHING`,
      [c.id, c.tenantId, c.deviceId, c.tbDeviceId, c.operation, JSON.stringify(c.params), c.requestedBy, c.requestedByName, c.groupId ?? null, c.status, c.createdAt, c.expiresAt, c.updatedAt],
    );
  }

  async getCommand(id: string): Promise<Command | undefined> {
    const r = await this.db.get<Row>('SELECT * FROM commands WHERE id = ?', [id]);
    return r && toCommand(r);
  }

  async deviceCommands(deviceId: string, limit: number): Promise<Command[]> {
    return (await this.db.all<Row>('SELECT * FROM commands WHERE device_id = ? ORDER BY created_at DESC LIMIT ?', [deviceId, limit])).map(toCommand);
  }

  async groupCommands(groupId: string): Promise<Command[]> {
    return (await this.db.all<Row>('SELECT * FROM commands WHERE group_id = ? ORDER BY device_id', [groupId])).map(toCommand);
  }

  async groupCounts(groupId: string): Promise<Record<string, number>> {
    const rows = await this.db.all<{ status: string; n: number }>('SELECT status, COUNT(*) AS n FROM commands WHERE group_id = ? GROUP BY status', [groupId]);
    return Object.fromEntries(rows.map((r) => [r.status, Number(r.n)]));
  }

  /** Takes the next pending devices of a group for sending: pending → sending, atomically, so no device is taken twice. */
  claimPending(groupId: string, n: number, now: number): Promise<Command[]> {
    if (n <= 0) return Promise.resolve([]);
    return this.db.transaction(async (tx) => {
      const rows = await tx.all<Row>("SELECT * FROM commands WHERE group_id = ? AND status = 'pending' ORDER BY device_id LIMIT ?", [groupId, n]);
      const taken: Command[] = [];
      for (const r of rows)
        if ((await tx.run("UPDATE commands SET status = 'sending', updated_at = ? WHERE id = ? AND status = 'pending'", [now, String(r.id)])) === 1) taken.push({ ...toCommand(r), status: 'sending' });
      return taken;
    });
  }

  /** Commands not final, oldest check first (the loop refreshes them from ThingsBoard). */
  async openCommands(statuses: CommandStatus[], checkedBefore: number, limit: number): Promise<Command[]> {
    const marks = statuses.map(() => '?').join(',');
    return (await this.db.all<Row>(`SELECT * FROM commands WHERE status IN (${marks}) AND checked_at <= ? ORDER BY checked_at LIMIT ?`, [...statuses, checkedBefore, limit])).map(toCommand);
  }

  /** Records a status; a final status is never overwritten (ThingsBoard may later prune or delete the RPC). */
  async setStatus(id: string, s: { status: CommandStatus; result?: unknown; error?: string }, now: number): Promise<void> {
    await this.db.run(
      `UPDATE commands SET status = ?, result = ?, error = ?, updated_at = ?, checked_at = ?
         WHERE id = ? AND status NOT IN ('successful','failed','timeout','expired','cancelled')`,
      [s.status, s.result === undefined ? null : JSON.stringify(s.result), s.error ?? null, now, now, id],
    );
  }

  async inFlight(groupId: string): Promise<number> {
    return Number((await this.db.get<{ n: number }>("SELECT COUNT(*) AS n FROM commands WHERE group_id = ? AND status IN ('sending','sent','delivered')", [groupId]))!.n);
  }

  insertGroup(g: GroupOperation, targets: Command[]): Promise<void> {
    return this.db.transaction(async (tx) => {
      await tx.run(
        `INSERT INTO groups (id, tenant_id, operation, params, selector, concurrency, requested_by, requested_by_name, state, created_at, expires_at, updated_at)
           VALUES (?,?,?,?,?,?,?,?,?,?,?,?)`,
        [g.id, g.tenantId, g.operation, JSON.stringify(g.params), JSON.stringify(g.selector), g.concurrency, g.requestedBy, g.requestedByName, g.state, g.createdAt, g.expiresAt, g.updatedAt],
      );
      for (const t of targets) await this.insertCommand(t, tx);
    });
  }

  async getGroup(id: string): Promise<GroupOperation | undefined> {
    const r = await this.db.get<Row>('SELECT * FROM groups WHERE id = ?', [id]);
    return r && toGroup(r);
  }

  async runningGroups(): Promise<GroupOperation[]> {
    return (await this.db.all<Row>("SELECT * FROM groups WHERE state = 'running' ORDER BY created_at")).map(toGroup);
  }

  async setGroupState(id: string, state: GroupOperation['state'], now: number): Promise<void> {
    await this.db.run('UPDATE groups SET state = ?, updated_at = ? WHERE id = ?', [state, now, id]);
  }

  /** Cancels what a group has not sent yet; returns how many. */
  cancelPending(groupId: string, now: number): Promise<number> {
    return this.db.run("UPDATE commands SET status = 'cancelled', error = 'cancelled before it was sent', updated_at = ? WHERE group_id = ? AND status = 'pending'", [now, groupId]);
  }

  async audit(e: AuditEntry): Promise<void> {
    await this.db.run('INSERT INTO audit (at, actor, actor_name, action, tenant_id, devices, outcome, detail) VALUES (?,?,?,?,?,?,?,?)', [
      e.at,
      e.actor,
      e.actorName,
      e.action,
      e.tenantId ?? null,
      JSON.stringify(e.devices),
      e.outcome,
      e.detail ?? null,
    ]);
  }

  async auditTrail(tenantId: string, limit: number): Promise<AuditEntry[]> {
    return (await this.db.all<Row>('SELECT * FROM audit WHERE tenant_id = ? ORDER BY seq DESC LIMIT ?', [tenantId, limit])).map((r) => ({
      at: Number(r.at),
      actor: String(r.actor),
      actorName: String(r.actor_name),
      action: String(r.action),
      tenantId: String(r.tenant_id),
      devices: parse(r.devices) as string[],
      outcome: String(r.outcome) as AuditEntry['outcome'],
      ...(r.detail != null ? { detail: String(r.detail) } : {}),
    }));
  }
}
