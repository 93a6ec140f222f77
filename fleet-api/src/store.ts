import type Database from 'better-sqlite3';
import type { Operation } from '@cdm/common';
import { openStore } from '@cdm/common/sqlite';

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

/**
 * fleet-api's durable state (SQLite, WAL, synchronous=FULL): commands, group operations (each
 * device of a group is a command row) and the audit trail. A restart resumes from here.
 */
export class FleetStore {
  private readonly db: Database.Database;

  constructor(dataDir: string) {
    this.db = openStore(dataDir, 'fleet-api.sqlite', [SCHEMA]);
  }

  close(): void {
    this.db.close();
  }

  insertCommand(c: Command): void {
    this.db
      .prepare(
        `INSERT OR IGNORE INTO commands (id, tenant_id, device_id, tb_device_id, operation, params, requested_by, requested_by_name, group_id, status, created_at, expires_at, updated_at)
         VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)`,
      )
      .run(c.id, c.tenantId, c.deviceId, c.tbDeviceId, c.operation, JSON.stringify(c.params), c.requestedBy, c.requestedByName, c.groupId ?? null, c.status, c.createdAt, c.expiresAt, c.updatedAt);
  }

  getCommand(id: string): Command | undefined {
    const r = this.db.prepare('SELECT * FROM commands WHERE id = ?').get(id) as Row | undefined;
    return r && toCommand(r);
  }

  deviceCommands(deviceId: string, limit: number): Command[] {
    return (this.db.prepare('SELECT * FROM commands WHERE device_id = ? ORDER BY created_at DESC LIMIT ?').all(deviceId, limit) as Row[]).map(toCommand);
  }

  groupCommands(groupId: string): Command[] {
    return (this.db.prepare('SELECT * FROM commands WHERE group_id = ? ORDER BY device_id').all(groupId) as Row[]).map(toCommand);
  }

  groupCounts(groupId: string): Record<string, number> {
    const rows = this.db.prepare('SELECT status, COUNT(*) AS n FROM commands WHERE group_id = ? GROUP BY status').all(groupId) as { status: string; n: number }[];
    return Object.fromEntries(rows.map((r) => [r.status, r.n]));
  }

  /** Takes the next pending devices of a group for sending: pending → sending, atomically, so no device is taken twice. */
  claimPending(groupId: string, n: number, now: number): Command[] {
    if (n <= 0) return [];
    return this.db.transaction(() => {
      const rows = this.db.prepare("SELECT * FROM commands WHERE group_id = ? AND status = 'pending' ORDER BY device_id LIMIT ?").all(groupId, n) as Row[];
      const mark = this.db.prepare("UPDATE commands SET status = 'sending', updated_at = ? WHERE id = ? AND status = 'pending'");
      return rows.filter((r) => mark.run(now, r.id).changes === 1).map((r) => ({ ...toCommand(r), status: 'sending' as const }));
    })();
  }

  /** Commands not final, oldest check first (the loop refreshes them from ThingsBoard). */
  openCommands(statuses: CommandStatus[], checkedBefore: number, limit: number): Command[] {
    const marks = statuses.map(() => '?').join(',');
    return (this.db.prepare(`SELECT * FROM commands WHERE status IN (${marks}) AND checked_at <= ? ORDER BY checked_at LIMIT ?`).all(...statuses, checkedBefore, limit) as Row[]).map(toCommand);
  }

  /** Records a status; a final status is never overwritten (ThingsBoard may later prune or delete the RPC). */
  setStatus(id: string, s: { status: CommandStatus; result?: unknown; error?: string }, now: number): void {
    this.db
      .prepare(
        `UPDATE commands SET status = ?, result = ?, error = ?, updated_at = ?, checked_at = ?
         WHERE id = ? AND status NOT IN ('successful','failed','timeout','expired','cancelled')`,
      )
      .run(s.status, s.result === undefined ? null : JSON.stringify(s.result), s.error ?? null, now, now, id);
  }

  inFlight(groupId: string): number {
    return (this.db.prepare("SELECT COUNT(*) AS n FROM commands WHERE group_id = ? AND status IN ('sending','sent','delivered')").get(groupId) as { n: number }).n;
  }

  insertGroup(g: GroupOperation, targets: Command[]): void {
    this.db.transaction(() => {
      this.db
        .prepare(
          `INSERT INTO groups (id, tenant_id, operation, params, selector, concurrency, requested_by, requested_by_name, state, created_at, expires_at, updated_at)
           VALUES (?,?,?,?,?,?,?,?,?,?,?,?)`,
        )
        .run(g.id, g.tenantId, g.operation, JSON.stringify(g.params), JSON.stringify(g.selector), g.concurrency, g.requestedBy, g.requestedByName, g.state, g.createdAt, g.expiresAt, g.updatedAt);
      for (const t of targets) this.insertCommand(t);
    })();
  }

  getGroup(id: string): GroupOperation | undefined {
    const r = this.db.prepare('SELECT * FROM groups WHERE id = ?').get(id) as Row | undefined;
    return r && toGroup(r);
  }

  runningGroups(): GroupOperation[] {
    return (this.db.prepare("SELECT * FROM groups WHERE state = 'running' ORDER BY created_at").all() as Row[]).map(toGroup);
  }

  setGroupState(id: string, state: GroupOperation['state'], now: number): void {
    this.db.prepare('UPDATE groups SET state = ?, updated_at = ? WHERE id = ?').run(state, now, id);
  }

  /** Cancels what a group has not sent yet; returns how many. */
  cancelPending(groupId: string, now: number): number {
    return this.db.prepare("UPDATE commands SET status = 'cancelled', error = 'cancelled before it was sent', updated_at = ? WHERE group_id = ? AND status = 'pending'").run(now, groupId).changes;
  }

  audit(e: AuditEntry): void {
    this.db
      .prepare('INSERT INTO audit (at, actor, actor_name, action, tenant_id, devices, outcome, detail) VALUES (?,?,?,?,?,?,?,?)')
      .run(e.at, e.actor, e.actorName, e.action, e.tenantId ?? null, JSON.stringify(e.devices), e.outcome, e.detail ?? null);
  }

  auditTrail(tenantId: string, limit: number): AuditEntry[] {
    return (this.db.prepare('SELECT * FROM audit WHERE tenant_id = ? ORDER BY seq DESC LIMIT ?').all(tenantId, limit) as Row[]).map((r) => ({
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
