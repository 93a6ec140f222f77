import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import type { OtaStatus } from './ota-status.ts';

/** What the mirror last wrote for a device, so repeats and restarts change nothing. */
export interface DeviceOta {
  controllerId: string;
  cdmId: string;
  tbDeviceId: string;
  actionId: number;
  version: string;
  rollout: string;
  status: OtaStatus;
  failureAlarm: boolean;
  mismatchAlarm: boolean;
  /** After a success: when the device must have reported `bootVersion` itself (RAUC may fall back). */
  bootDueAt?: number;
  bootVersion?: string;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS processed (action_key TEXT PRIMARY KEY, last_modified_at INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS processed_ts ON processed(last_modified_at);
CREATE TABLE IF NOT EXISTS devices (
  controller_id TEXT PRIMARY KEY,
  cdm_id TEXT NOT NULL,
  tb_device_id TEXT NOT NULL,
  action_id INTEGER NOT NULL,
  version TEXT NOT NULL,
  rollout TEXT NOT NULL,
  status TEXT NOT NULL,
  failure_alarm INTEGER NOT NULL DEFAULT 0,
  mismatch_alarm INTEGER NOT NULL DEFAULT 0,
  boot_due_at INTEGER,
  boot_version TEXT
);
CREATE TABLE IF NOT EXISTS gate (rollout_id INTEGER PRIMARY KEY, paused_at INTEGER NOT NULL, unhealthy INTEGER NOT NULL);
`;

type Row = Record<string, string | number | null>;

/**
 * ota-bridge's durable state (SQLite, WAL, synchronous=FULL): the poll cursor, the action changes
 * already mirrored, and per device what was last written to ThingsBoard. hawkBit stays the owner of
 * update state; this only remembers what has been projected, so nothing is missed or doubled.
 */
export class OtaStore {
  private readonly db: Database.Database;

  constructor(dataDir: string) {
    fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    this.db = new Database(path.join(dataDir, 'ota-bridge.sqlite'), { timeout: 5000 });
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = FULL');
    this.db.exec(SCHEMA);
  }

  close(): void {
    this.db.close();
  }

  cursor(): number {
    const r = this.db.prepare("SELECT value FROM meta WHERE key = 'cursor'").get() as { value: string } | undefined;
    return r ? Number(r.value) : 0;
  }

  isProcessed(actionId: number, lastModifiedAt: number): boolean {
    return this.db.prepare('SELECT 1 FROM processed WHERE action_key = ?').get(`${actionId}:${lastModifiedAt}`) !== undefined;
  }

  /** Marks one change (an action at one modification time) mirrored. */
  markProcessed(actionId: number, lastModifiedAt: number): void {
    this.db.prepare('INSERT OR IGNORE INTO processed (action_key, last_modified_at) VALUES (?, ?)').run(`${actionId}:${lastModifiedAt}`, lastModifiedAt);
  }

  /** Where the next poll starts (minus the overlap). May move back to re-read a change that failed. */
  setCursor(ms: number): void {
    this.db.prepare("INSERT INTO meta (key, value) VALUES ('cursor', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value").run(String(ms));
  }

  /** Forgets changes older than what a poll can see again (cursor minus the overlap). */
  prune(beforeMs: number): void {
    this.db.prepare('DELETE FROM processed WHERE last_modified_at < ?').run(beforeMs);
  }

  getDevice(controllerId: string): DeviceOta | undefined {
    const r = this.db.prepare('SELECT * FROM devices WHERE controller_id = ?').get(controllerId) as Row | undefined;
    return r ? toDevice(r) : undefined;
  }

  putDevice(d: DeviceOta): void {
    this.db
      .prepare(
        `INSERT INTO devices (controller_id, cdm_id, tb_device_id, action_id, version, rollout, status, failure_alarm, mismatch_alarm, boot_due_at, boot_version)
         VALUES (@controllerId, @cdmId, @tbDeviceId, @actionId, @version, @rollout, @status, @failureAlarm, @mismatchAlarm, @bootDueAt, @bootVersion)
         ON CONFLICT(controller_id) DO UPDATE SET cdm_id = excluded.cdm_id, tb_device_id = excluded.tb_device_id, action_id = excluded.action_id,
           version = excluded.version, rollout = excluded.rollout, status = excluded.status, failure_alarm = excluded.failure_alarm,
           mismatch_alarm = excluded.mismatch_alarm, boot_due_at = excluded.boot_due_at, boot_version = excluded.boot_version`,
      )
      .run({ ...d, failureAlarm: d.failureAlarm ? 1 : 0, mismatchAlarm: d.mismatchAlarm ? 1 : 0, bootDueAt: d.bootDueAt ?? null, bootVersion: d.bootVersion ?? null });
  }

  /** Devices whose boot into a new version is still unconfirmed. */
  bootChecks(): DeviceOta[] {
    return (this.db.prepare('SELECT * FROM devices WHERE boot_version IS NOT NULL ORDER BY boot_due_at').all() as Row[]).map(toDevice);
  }

  /**
   * Devices whose current action belongs to the rollout and that have an active OTA alarm. A device
   * only fails or boots wrong once its group has started, so these are all in started groups.
   */
  unhealthyInRollout(rolloutName: string): string[] {
    return (this.db.prepare('SELECT controller_id FROM devices WHERE rollout = ? AND (failure_alarm = 1 OR mismatch_alarm = 1) ORDER BY controller_id').all(rolloutName) as { controller_id: string }[]).map((r) => r.controller_id);
  }

  gate(rolloutId: number): { pausedAt: number; unhealthy: number } | undefined {
    const r = this.db.prepare('SELECT * FROM gate WHERE rollout_id = ?').get(rolloutId) as Row | undefined;
    return r ? { pausedAt: Number(r.paused_at), unhealthy: Number(r.unhealthy) } : undefined;
  }

  recordPause(rolloutId: number, unhealthy: number): void {
    this.db.prepare('INSERT INTO gate (rollout_id, paused_at, unhealthy) VALUES (?, ?, ?) ON CONFLICT(rollout_id) DO UPDATE SET paused_at = excluded.paused_at, unhealthy = excluded.unhealthy').run(rolloutId, Date.now(), unhealthy);
  }
}

function toDevice(r: Row): DeviceOta {
  return {
    controllerId: String(r.controller_id),
    cdmId: String(r.cdm_id),
    tbDeviceId: String(r.tb_device_id),
    actionId: Number(r.action_id),
    version: String(r.version),
    rollout: String(r.rollout),
    status: r.status as OtaStatus,
    failureAlarm: r.failure_alarm === 1,
    mismatchAlarm: r.mismatch_alarm === 1,
    bootDueAt: r.boot_due_at === null ? undefined : Number(r.boot_due_at),
    bootVersion: r.boot_version === null ? undefined : String(r.boot_version),
  };
}
