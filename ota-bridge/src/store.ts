import { openDb, type Db, type Schema } from '@cdm/common/db';
import { replicaLease, type Lease } from '@cdm/common/lease';
import type { Migration } from '@cdm/common/sqlite';
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

/** Version 1: the tables from before numbered migrations (IF NOT EXISTS: such databases have them). */
const SCHEMA = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
DROP TABLE IF EXISTS processed;
CREATE TABLE IF NOT EXISTS actions (action_id INTEGER PRIMARY KEY, active INTEGER NOT NULL, status TEXT NOT NULL, last_modified_at INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS actions_active ON actions(active);
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
-- Changes that cannot be applied (the device is gone or changed where the write went): kept with
-- the reason instead of pinning the cursor; listed by /metrics and the dead-letters CLI.
CREATE TABLE IF NOT EXISTS dead_letters (action_id INTEGER PRIMARY KEY, controller_id TEXT NOT NULL, reason TEXT NOT NULL, at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS gate (rollout_id INTEGER PRIMARY KEY, paused_at INTEGER NOT NULL, unhealthy INTEGER NOT NULL);
`;

const MIGRATIONS: Migration[] = [
  SCHEMA,
  // Hold gates: when each held stage's hold began and what was decided; operators' hold changes.
  `CREATE TABLE holds (rollout_id INTEGER NOT NULL, stage INTEGER NOT NULL, since INTEGER NOT NULL, state TEXT NOT NULL, reason TEXT, decided_at INTEGER, PRIMARY KEY (rollout_id, stage));
   CREATE TABLE hold_changes (rollout_id INTEGER PRIMARY KEY, hold_seconds INTEGER NOT NULL, changed_by TEXT NOT NULL, changed_at INTEGER NOT NULL);`,
];

type Row = Record<string, string | number | null>;

/** The hold gate's record of a held stage: when the hold began and what it decided. */
export interface StageHold {
  rolloutId: number;
  stage: number;
  since: number;
  state: 'holding' | 'released' | 'blocked';
  reason?: string;
  decidedAt?: number;
}

export interface DeadLetter {
  actionId: number;
  controllerId: string;
  reason: string;
  at: number;
}

/** An action as hawkBit last showed it to the mirror. */
export interface SeenAction {
  active: boolean;
  status: string;
  lastModifiedAt: number;
}

/** The same tables on PostgreSQL (DATABASE_URL), in their current shape; times are epoch milliseconds. */
const PG_SCHEMA = `
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE actions (action_id BIGINT PRIMARY KEY, active INTEGER NOT NULL, status TEXT NOT NULL, last_modified_at BIGINT NOT NULL);
CREATE INDEX actions_active ON actions(active);
CREATE TABLE devices (
  controller_id TEXT PRIMARY KEY,
  cdm_id TEXT NOT NULL,
  tb_device_id TEXT NOT NULL,
  action_id BIGINT NOT NULL,
  version TEXT NOT NULL,
  rollout TEXT NOT NULL,
  status TEXT NOT NULL,
  failure_alarm INTEGER NOT NULL DEFAULT 0,
  mismatch_alarm INTEGER NOT NULL DEFAULT 0,
  boot_due_at BIGINT,
  boot_version TEXT
);
CREATE TABLE dead_letters (action_id BIGINT PRIMARY KEY, controller_id TEXT NOT NULL, reason TEXT NOT NULL, at BIGINT NOT NULL);
CREATE TABLE gate (rollout_id BIGINT PRIMARY KEY, paused_at BIGINT NOT NULL, unhealthy INTEGER NOT NULL);
CREATE TABLE holds (rollout_id BIGINT NOT NULL, stage INTEGER NOT NULL, since BIGINT NOT NULL, state TEXT NOT NULL, reason TEXT, decided_at BIGINT, PRIMARY KEY (rollout_id, stage));
CREATE TABLE hold_changes (rollout_id BIGINT PRIMARY KEY, hold_seconds INTEGER NOT NULL, changed_by TEXT NOT NULL, changed_at BIGINT NOT NULL);
`;

export const OTA_SCHEMA: Schema = { name: 'ota-bridge', sqlite: MIGRATIONS, postgres: [PG_SCHEMA], tables: ['meta', 'actions', 'devices', 'dead_letters', 'gate', 'holds', 'hold_changes'] };

/**
 * ota-bridge's durable state — SQLite (one instance) or PostgreSQL (DATABASE_URL: replicas share it
 * and the poller runs on the lease holder) —: the poll cursor, the action changes already mirrored,
 * and per device what was last written to ThingsBoard. hawkBit stays the owner of update state;
 * this only remembers what has been projected, so nothing is missed or doubled, whichever replica
 * mirrored last.
 */
export class OtaStore {
  private constructor(private readonly db: Db) {}

  static async open(o: { url?: string; dataDir: string; log?: (msg: string) => void }): Promise<OtaStore> {
    return new OtaStore(await openDb({ url: o.url, dataDir: o.dataDir, file: 'ota-bridge.sqlite', schema: OTA_SCHEMA, log: o.log }));
  }

  /** The poller's leader lease among replicas; none with SQLite (one instance). */
  lease(name: string, ttlMs: number, holder?: string): Lease | undefined {
    return replicaLease(this.db, `ota-bridge:${name}`, ttlMs, holder);
  }

  close(): Promise<void> {
    return this.db.close();
  }

  async cursor(): Promise<number> {
    return Number((await this.meta('cursor')) ?? 0);
  }

  /** hawkBit's state of an action when the mirror last applied it. */
  async seenAction(actionId: number): Promise<SeenAction | undefined> {
    const r = await this.db.get<Row>('SELECT active, status, last_modified_at FROM actions WHERE action_id = ?', [actionId]);
    return r ? { active: r.active === 1, status: String(r.status), lastModifiedAt: Number(r.last_modified_at) } : undefined;
  }

  /** Records an action's state as applied; an active one is watched until hawkBit closes it. */
  async recordAction(actionId: number, a: SeenAction): Promise<void> {
    await this.db.run(
      'INSERT INTO actions (action_id, active, status, last_modified_at) VALUES (?, ?, ?, ?) ON CONFLICT(action_id) DO UPDATE SET active = excluded.active, status = excluded.status, last_modified_at = excluded.last_modified_at',
      [actionId, a.active ? 1 : 0, a.status, a.lastModifiedAt],
    );
  }

  /** Actions the mirror believes active: their number is compared with hawkBit's each pass. */
  async activeActionIds(): Promise<number[]> {
    return (await this.db.all<{ action_id: number }>('SELECT action_id FROM actions WHERE active = 1 ORDER BY action_id')).map((r) => Number(r.action_id));
  }

  async activeActionCount(): Promise<number> {
    return (await this.db.get<{ n: number }>('SELECT count(*) AS n FROM actions WHERE active = 1'))!.n;
  }

  /** An action hawkBit no longer has (its target was deleted): nothing left to watch. */
  async forgetAction(actionId: number): Promise<void> {
    await this.db.run('DELETE FROM actions WHERE action_id = ?', [actionId]);
  }

  async meta(key: string): Promise<string | undefined> {
    return (await this.db.get<{ value: string }>('SELECT value FROM meta WHERE key = ?', [key]))?.value;
  }

  async setMeta(key: string, value: string): Promise<void> {
    await this.db.run('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value', [key, value]);
  }

  /** Where the next poll starts (minus the overlap). May move back to re-read a change that failed. */
  setCursor(ms: number): Promise<void> {
    return this.setMeta('cursor', String(ms));
  }

  /** Forgets closed actions older than what a poll can read again (cursor minus the overlap). */
  async prune(beforeMs: number): Promise<void> {
    await this.db.run('DELETE FROM actions WHERE active = 0 AND last_modified_at < ?', [beforeMs]);
  }

  async getDevice(controllerId: string): Promise<DeviceOta | undefined> {
    const r = await this.db.get<Row>('SELECT * FROM devices WHERE controller_id = ?', [controllerId]);
    return r ? toDevice(r) : undefined;
  }

  async putDevice(d: DeviceOta): Promise<void> {
    await this.db.run(
      `INSERT INTO devices (controller_id, cdm_id, tb_device_id, action_id, version, rollout, status, failure_alarm, mismatch_alarm, boot_due_at, boot_version)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT(controller_id) DO UPDATE SET cdm_id = excluded.cdm_id, tb_device_id = excluded.tb_device_id, action_id = excluded.action_id,
           version = excluded.version, rollout = excluded.rollout, status = excluded.status, failure_alarm = excluded.failure_alarm,
           mismatch_alarm = excluded.mismatch_alarm, boot_due_at = excluded.boot_due_at, boot_version = excluded.boot_version`,
      [d.controllerId, d.cdmId, d.tbDeviceId, d.actionId, d.version, d.rollout, d.status, d.failureAlarm ? 1 : 0, d.mismatchAlarm ? 1 : 0, d.bootDueAt ?? null, d.bootVersion ?? null],
    );
  }

  /** Devices whose boot into a new version is still unconfirmed. */
  async bootChecks(): Promise<DeviceOta[]> {
    return (await this.db.all<Row>('SELECT * FROM devices WHERE boot_version IS NOT NULL ORDER BY boot_due_at')).map(toDevice);
  }

  /**
   * Devices whose current action belongs to the rollout and that have an active OTA alarm. A device
   * only fails or boots wrong once its group has started, so these are all in started groups.
   */
  async unhealthyInRollout(rolloutName: string): Promise<string[]> {
    const rows = await this.db.all<{ controller_id: string }>('SELECT controller_id FROM devices WHERE rollout = ? AND (failure_alarm = 1 OR mismatch_alarm = 1) ORDER BY controller_id', [
      rolloutName,
    ]);
    return rows.map((r) => r.controller_id);
  }

  /** A change set aside with its reason (one per action: the newest reason wins). */
  async addDeadLetter(d: DeadLetter): Promise<void> {
    await this.db.run('INSERT INTO dead_letters (action_id, controller_id, reason, at) VALUES (?, ?, ?, ?) ON CONFLICT(action_id) DO UPDATE SET reason = excluded.reason, at = excluded.at', [
      d.actionId,
      d.controllerId,
      d.reason,
      d.at,
    ]);
  }

  async deadLetters(): Promise<DeadLetter[]> {
    return (await this.db.all<Row>('SELECT * FROM dead_letters ORDER BY at, action_id')).map((r) => ({
      actionId: Number(r.action_id),
      controllerId: String(r.controller_id),
      reason: String(r.reason),
      at: Number(r.at),
    }));
  }

  async deadLetterCount(): Promise<number> {
    return (await this.db.get<{ n: number }>('SELECT count(*) AS n FROM dead_letters'))!.n;
  }

  /** Removes dead letters (all, or one action's); returns how many. */
  clearDeadLetters(actionId?: number): Promise<number> {
    return actionId === undefined ? this.db.run('DELETE FROM dead_letters') : this.db.run('DELETE FROM dead_letters WHERE action_id = ?', [actionId]);
  }

  /** Forget what was mirrored for a device (it was decommissioned). */
  async forgetDevice(controllerId: string): Promise<void> {
    await this.db.run('DELETE FROM devices WHERE controller_id = ?', [controllerId]);
  }

  async gate(rolloutId: number): Promise<{ pausedAt: number; unhealthy: number } | undefined> {
    const r = await this.db.get<Row>('SELECT * FROM gate WHERE rollout_id = ?', [rolloutId]);
    return r ? { pausedAt: Number(r.paused_at), unhealthy: Number(r.unhealthy) } : undefined;
  }

  async recordPause(rolloutId: number, unhealthy: number): Promise<void> {
    await this.db.run('INSERT INTO gate (rollout_id, paused_at, unhealthy) VALUES (?, ?, ?) ON CONFLICT(rollout_id) DO UPDATE SET paused_at = excluded.paused_at, unhealthy = excluded.unhealthy', [
      rolloutId,
      Date.now(),
      unhealthy,
    ]);
  }

  /** The stage's hold, started now if the gate had not seen it yet. */
  async holdFor(rolloutId: number, stage: number, now: number): Promise<StageHold> {
    await this.db.run("INSERT INTO holds (rollout_id, stage, since, state) VALUES (?, ?, ?, 'holding') ON CONFLICT DO NOTHING", [rolloutId, stage, now]);
    const r = (await this.db.get<Row>('SELECT * FROM holds WHERE rollout_id = ? AND stage = ?', [rolloutId, stage]))!;
    return {
      rolloutId,
      stage,
      since: Number(r.since),
      state: r.state as StageHold['state'],
      ...(r.reason ? { reason: String(r.reason) } : {}),
      ...(r.decided_at ? { decidedAt: Number(r.decided_at) } : {}),
    };
  }

  async decideHold(rolloutId: number, stage: number, state: 'released' | 'blocked', reason: string, at: number): Promise<void> {
    await this.db.run('UPDATE holds SET state = ?, reason = ?, decided_at = ? WHERE rollout_id = ? AND stage = ?', [state, reason, at, rolloutId, stage]);
  }

  /** An operator's hold for the rollout's stages from now on, and who set it (the audit of `ota-bridge hold`). */
  async setHoldOverride(rolloutId: number, holdSeconds: number, by: string, at: number): Promise<void> {
    await this.db.run(
      'INSERT INTO hold_changes (rollout_id, hold_seconds, changed_by, changed_at) VALUES (?, ?, ?, ?) ON CONFLICT(rollout_id) DO UPDATE SET hold_seconds = excluded.hold_seconds, changed_by = excluded.changed_by, changed_at = excluded.changed_at',
      [rolloutId, holdSeconds, by, at],
    );
  }

  async holdOverride(rolloutId: number): Promise<{ holdSeconds: number; by: string; at: number } | undefined> {
    const r = await this.db.get<Row>('SELECT * FROM hold_changes WHERE rollout_id = ?', [rolloutId]);
    return r ? { holdSeconds: Number(r.hold_seconds), by: String(r.changed_by), at: Number(r.changed_at) } : undefined;
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
