import type Database from 'better-sqlite3';
import { openStore, preparedStatements, type Migration } from '@cdm/common/sqlite';
import { Refused } from './errors.ts';
import { cidrText, contains, firstDevice, lastDevice, parseCidr, poolSize, toInt, toIp, type Cidr } from './pool.ts';

/** The steps of an enrollment, in order; each is recorded when done so a retry resumes. */
export const STEPS = ['certificate', 'thingsboard', 'hawkbit', 'wireguard'] as const;
export type Step = (typeof STEPS)[number];

export type DeviceStatus = 'enrolling' | 'active' | 'decommissioning' | 'decommissioned';

/** One device as enroll-bridge owns it: the truth its projections are derived from. */
export interface DeviceRecord {
  deviceId: string;
  tenantId: string;
  status: DeviceStatus;
  /** SHA-256 of the device key's SubjectPublicKeyInfo: same key → same identity, other key → takeover. */
  keySha256: string;
  wgPublicKey: string;
  wgIp: string;
  /** The device's SSH host key (OpenSSH public key line) the terminal gateway pins; sent at enrollment. */
  sshHostKey?: string;
  certSerial?: string;
  /**
   * The serial renewal replaced, still accepted for renewal until the device shows it has the new
   * one: a device whose renewal answer got lost (or whose ThingsBoard step failed) is not locked out.
   */
  prevCertSerial?: string;
  certNotAfter?: string;
  /** The issued chain (public), returned again to a device that retries with the same key. */
  certPem?: string;
  tbDeviceId?: string;
  /** What vouched for the enrollment: a factory certificate outranks a claim (see Enroller). */
  enrolledBy?: Voucher;
  done: Step[];
  lastError?: string;
  createdAt: string;
  updatedAt: string;
}

export interface ClaimRecord {
  id: string;
  tenantId: string;
  /** Only this device may use it (re-enrolment with a new key); undefined: any device of the tenant. */
  deviceId?: string;
  usesLeft: number;
  maxUses: number;
  expiresAt: string;
  revoked: boolean;
  createdAt: string;
}

/**
 * A factory CA registered for a tenant (like an enrollment group): a device whose factory
 * (bootstrap) certificate chains to it may enroll into that tenant without a claim token.
 */
export interface FactoryCaRecord {
  id: string;
  tenantId: string;
  /** The CA certificate (PEM, public). */
  pem: string;
  /** SHA-256 of its DER, lowercase hex: the same CA cannot be registered twice. */
  sha256: string;
  subject: string;
  revoked: boolean;
  createdAt: string;
}

export type Voucher = 'factory' | 'device-claim' | 'claim';

/** The fields of a device record that change after it is created. */
export type DevicePatch = Partial<
  Pick<DeviceRecord, 'status' | 'certSerial' | 'prevCertSerial' | 'certNotAfter' | 'certPem' | 'tbDeviceId' | 'lastError' | 'keySha256' | 'wgPublicKey' | 'sshHostKey' | 'enrolledBy'>
>;

export class PoolExhausted extends Error {}

/** Version 1: the first release's tables (IF NOT EXISTS: databases from before numbered migrations have them). */
const SCHEMA = `
CREATE TABLE IF NOT EXISTS devices (
  device_id TEXT PRIMARY KEY,
  tenant_id TEXT NOT NULL,
  status TEXT NOT NULL,
  key_sha256 TEXT NOT NULL,
  wg_public_key TEXT NOT NULL,
  wg_ip TEXT,
  cert_serial TEXT,
  cert_not_after TEXT,
  cert_pem TEXT,
  tb_device_id TEXT,
  done TEXT NOT NULL DEFAULT '[]',
  last_error TEXT,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL
);
-- An address belongs to at most one device that still holds it; freed on decommission.
CREATE UNIQUE INDEX IF NOT EXISTS devices_wg_ip ON devices(wg_ip) WHERE wg_ip IS NOT NULL;
-- So does a WireGuard key: a peer is its key, so two devices with one key would share one tunnel.
CREATE UNIQUE INDEX IF NOT EXISTS devices_wg_key ON devices(wg_public_key) WHERE wg_ip IS NOT NULL;
CREATE TABLE IF NOT EXISTS claims (
  id TEXT PRIMARY KEY,
  token_sha256 TEXT NOT NULL UNIQUE,
  tenant_id TEXT NOT NULL,
  device_id TEXT,
  uses_left INTEGER NOT NULL,
  max_uses INTEGER NOT NULL,
  expires_at TEXT NOT NULL,
  revoked INTEGER NOT NULL DEFAULT 0,
  created_at TEXT NOT NULL
);
-- Every certificate request signed once: a replayed request is no proof of holding the key.
CREATE TABLE IF NOT EXISTS csr_uses (
  request_sha256 TEXT PRIMARY KEY,
  device_id TEXT NOT NULL,
  used_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS factory_cas (
  id TEXT PRIMARY KEY,
  tenant_id TEXT NOT NULL,
  pem TEXT NOT NULL,
  sha256 TEXT NOT NULL UNIQUE,
  subject TEXT NOT NULL,
  revoked INTEGER NOT NULL DEFAULT 0,
  created_at TEXT NOT NULL
);
`;

const MIGRATIONS: Migration[] = [
  SCHEMA,
  // Columns added after the first release; databases from before numbered migrations may have some.
  (db) => {
    const cols = new Set((db.prepare('PRAGMA table_info(devices)').all() as { name: string }[]).map((c) => c.name));
    for (const c of ['ssh_host_key', 'prev_cert_serial', 'enrolled_by']) if (!cols.has(c)) db.exec(`ALTER TABLE devices ADD COLUMN ${c} TEXT`);
  },
  // The address pool's own state, so taking an address reads one row instead of every device's:
  // addresses from `mark` up were never handed out; those below it that are free are listed.
  // Filled from the devices table when the store opens with a pool it has not seen (see Store).
  `CREATE TABLE pool_state (id INTEGER PRIMARY KEY CHECK (id = 1), cidr TEXT NOT NULL, mark INTEGER NOT NULL);
   CREATE TABLE pool_free (n INTEGER PRIMARY KEY);`,
];

type Row = Record<string, string | number | null>;

/**
 * Durable store (SQLite, WAL, synchronous=FULL): device identity, the address pool and claims.
 * better-sqlite3 is synchronous, so each method is one transaction that no other request can
 * interleave with: two enrollments can never take the same address or the last use of a claim.
 */
export class Store {
  private readonly db: Database.Database;
  private readonly sql: (sql: string) => Database.Statement;
  readonly pool: Cidr;

  constructor(dataDir: string, poolCidr: string) {
    this.db = openStore(dataDir, 'enroll-bridge.sqlite', MIGRATIONS);
    this.sql = preparedStatements(this.db);
    this.pool = parseCidr(poolCidr);
    this.db.transaction(() => {
      const state = this.sql('SELECT cidr FROM pool_state WHERE id = 1').get() as { cidr: string } | undefined;
      if (state?.cidr !== this.poolText()) this.rebuildPool();
    })();
  }

  /**
   * The pool's state from the devices that hold addresses: once for a database from before the
   * pool had its own state, and when WG_POOL_CIDR changed (a wider pool keeps every address).
   */
  private rebuildPool(): void {
    const first = firstDevice(this.pool);
    const last = lastDevice(this.pool);
    const used = new Set((this.sql('SELECT wg_ip FROM devices WHERE wg_ip IS NOT NULL').all() as { wg_ip: string }[]).map((r) => toInt(r.wg_ip)));
    let mark = first;
    for (const n of used) if (n >= first && n <= last && n >= mark) mark = n + 1;
    this.sql('DELETE FROM pool_free').run();
    const free = this.sql('INSERT INTO pool_free (n) VALUES (?)');
    for (let n = first; n < mark; n++) if (!used.has(n)) free.run(n);
    this.sql('INSERT OR REPLACE INTO pool_state (id, cidr, mark) VALUES (1, ?, ?)').run(this.poolText(), mark);
  }

  /** The lowest free address: a freed one, else the next never handed out; undefined when none is left. */
  private takeAddress(): string | undefined {
    const freed = this.sql('SELECT n FROM pool_free ORDER BY n LIMIT 1').get() as { n: number } | undefined;
    if (freed) {
      this.sql('DELETE FROM pool_free WHERE n = ?').run(freed.n);
      return toIp(freed.n);
    }
    const { mark } = this.sql('SELECT mark FROM pool_state WHERE id = 1').get() as { mark: number };
    if (mark > lastDevice(this.pool)) return undefined;
    this.sql('UPDATE pool_state SET mark = ? WHERE id = 1').run(mark + 1);
    return toIp(mark);
  }

  close(): void {
    this.db.close();
  }

  // ---- devices
  getDevice(deviceId: string): DeviceRecord | undefined {
    const r = this.sql('SELECT * FROM devices WHERE device_id = ?').get(deviceId) as Row | undefined;
    return r ? toDevice(r) : undefined;
  }

  /** The device other than `deviceId` that holds this WireGuard key with an address, if any. */
  wgKeyHolder(wgPublicKey: string, deviceId: string): string | undefined {
    const r = this.sql('SELECT device_id FROM devices WHERE wg_public_key = ? AND wg_ip IS NOT NULL AND device_id != ?').get(wgPublicKey, deviceId) as { device_id: string } | undefined;
    return r?.device_id;
  }

  /** Devices of a tenant that hold (or are getting) an address: what its quota counts. */
  countDevices(tenantId: string): number {
    return (this.sql("SELECT COUNT(*) AS n FROM devices WHERE tenant_id = ? AND status != 'decommissioned'").get(tenantId) as { n: number }).n;
  }

  /** Records a certificate request as used; false when it was used before (a replay). */
  useRequest(requestSha256: string, deviceId: string): boolean {
    return this.sql('INSERT OR IGNORE INTO csr_uses (request_sha256, device_id, used_at) VALUES (?, ?, ?)').run(requestSha256, deviceId, new Date().toISOString()).changes === 1;
  }

  listDevices(filter: { status?: DeviceStatus; tenantId?: string } = {}): DeviceRecord[] {
    const rows = this.sql('SELECT * FROM devices WHERE (@status IS NULL OR status = @status) AND (@tenant IS NULL OR tenant_id = @tenant) ORDER BY device_id').all({
      status: filter.status ?? null,
      tenant: filter.tenantId ?? null,
    }) as Row[];
    return rows.map(toDevice);
  }

  /**
   * Records a new enrollment and takes the lowest free address in one transaction (the address is
   * durable before `wg set` runs, so a crash never hands it out twice).
   */
  createDevice(d: { deviceId: string; tenantId: string; keySha256: string; wgPublicKey: string }): DeviceRecord {
    return this.db.transaction(() => {
      const ip = this.takeAddress();
      if (!ip) throw new PoolExhausted(`WireGuard pool ${this.poolText()} is exhausted (${poolSize(this.pool)} addresses in use); widen WG_POOL_CIDR or decommission devices`);
      const now = new Date().toISOString();
      this.sql(
        `INSERT INTO devices (device_id, tenant_id, status, key_sha256, wg_public_key, wg_ip, done, created_at, updated_at)
           VALUES (?, ?, 'enrolling', ?, ?, ?, '[]', ?, ?)`,
      ).run(d.deviceId, d.tenantId, d.keySha256, d.wgPublicKey, ip, now, now);
      return this.getDevice(d.deviceId)!;
    })();
  }

  /** A decommissioned device enrolling again (with a fresh claim) gets a fresh address and state. */
  restartDevice(d: { deviceId: string; tenantId: string; keySha256: string; wgPublicKey: string }): DeviceRecord {
    return this.db.transaction(() => {
      this.sql('DELETE FROM devices WHERE device_id = ?').run(d.deviceId);
      return this.createDevice(d);
    })();
  }

  update(deviceId: string, patch: DevicePatch): DeviceRecord {
    const cols: Record<string, string> = {
      status: 'status',
      certSerial: 'cert_serial',
      prevCertSerial: 'prev_cert_serial',
      certNotAfter: 'cert_not_after',
      certPem: 'cert_pem',
      tbDeviceId: 'tb_device_id',
      lastError: 'last_error',
      keySha256: 'key_sha256',
      wgPublicKey: 'wg_public_key',
      sshHostKey: 'ssh_host_key',
      enrolledBy: 'enrolled_by',
    };
    const sets = Object.keys(patch).map((k) => `${cols[k]} = @${k}`);
    this.sql(`UPDATE devices SET ${[...sets, 'updated_at = @now'].join(', ')} WHERE device_id = @deviceId`).run({ ...nulls(patch), deviceId, now: new Date().toISOString() });
    return this.getDevice(deviceId)!;
  }

  /** Marks steps done (or undone), with what the steps found out, in one transaction (one disk flush). */
  markDone(deviceId: string, steps: readonly Step[], done: boolean, patch: DevicePatch = {}): DeviceRecord {
    return this.db.transaction(() => {
      const d = Object.keys(patch).length ? this.update(deviceId, patch) : this.getDevice(deviceId);
      if (!d) throw new Error(`device ${deviceId} not in the store`);
      const set = new Set(d.done);
      for (const step of steps) {
        if (done) set.add(step);
        else set.delete(step);
      }
      const ordered = STEPS.filter((s) => set.has(s));
      this.sql('UPDATE devices SET done = ?, updated_at = ? WHERE device_id = ?').run(JSON.stringify(ordered), new Date().toISOString(), deviceId);
      return this.getDevice(deviceId)!;
    })();
  }

  /** Gives the address back to the pool (decommission finished). */
  releaseAddress(deviceId: string): void {
    this.db.transaction(() => {
      const ip = this.getDevice(deviceId)?.wgIp;
      this.sql("UPDATE devices SET wg_ip = NULL, status = 'decommissioned', updated_at = ? WHERE device_id = ?").run(new Date().toISOString(), deviceId);
      if (ip && contains(this.pool, ip)) this.sql('INSERT OR IGNORE INTO pool_free (n) VALUES (?)').run(toInt(ip));
    })();
  }

  addressesInUse(): number {
    return (this.sql('SELECT count(*) AS n FROM devices WHERE wg_ip IS NOT NULL').get() as { n: number }).n;
  }

  // ---- claims
  createClaim(c: { id: string; tokenSha256: string; tenantId: string; deviceId?: string; uses: number; expiresAt: Date }): ClaimRecord {
    this.sql('INSERT INTO claims (id, token_sha256, tenant_id, device_id, uses_left, max_uses, expires_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)').run(
      c.id,
      c.tokenSha256,
      c.tenantId,
      c.deviceId ?? null,
      c.uses,
      c.uses,
      c.expiresAt.toISOString(),
      new Date().toISOString(),
    );
    return this.getClaim(c.id)!;
  }

  getClaim(id: string): ClaimRecord | undefined {
    const r = this.sql('SELECT * FROM claims WHERE id = ?').get(id) as Row | undefined;
    return r ? toClaim(r) : undefined;
  }

  findClaimByHash(tokenSha256: string): ClaimRecord | undefined {
    const r = this.sql('SELECT * FROM claims WHERE token_sha256 = ?').get(tokenSha256) as Row | undefined;
    return r ? toClaim(r) : undefined;
  }

  listClaims(tenantId?: string): ClaimRecord[] {
    return (this.sql('SELECT * FROM claims WHERE (? IS NULL OR tenant_id = ?) ORDER BY created_at').all(tenantId ?? null, tenantId ?? null) as Row[]).map(toClaim);
  }

  /** Takes one use if any is left; false when none (the check and the decrement are one statement). */
  consumeClaim(id: string): boolean {
    return this.sql('UPDATE claims SET uses_left = uses_left - 1 WHERE id = ? AND uses_left > 0 AND revoked = 0').run(id).changes === 1;
  }

  revokeClaim(id: string): boolean {
    return this.sql('UPDATE claims SET revoked = 1 WHERE id = ?').run(id).changes === 1;
  }

  // ---- factory CAs
  addFactoryCa(c: { id: string; tenantId: string; pem: string; sha256: string; subject: string }): FactoryCaRecord {
    const existing = this.sql('SELECT * FROM factory_cas WHERE sha256 = ?').get(c.sha256) as Row | undefined;
    if (existing) throw new Refused('conflict', `that CA is already registered as ${String(existing.id)} for tenant ${String(existing.tenant_id)}`);
    this.sql('INSERT INTO factory_cas (id, tenant_id, pem, sha256, subject, created_at) VALUES (?, ?, ?, ?, ?, ?)').run(c.id, c.tenantId, c.pem, c.sha256, c.subject, new Date().toISOString());
    return this.listFactoryCas().find((x) => x.id === c.id)!;
  }

  /** Active and revoked registrations, oldest first (revoked ones stay as a record). */
  listFactoryCas(tenantId?: string): FactoryCaRecord[] {
    return (this.sql('SELECT * FROM factory_cas WHERE (? IS NULL OR tenant_id = ?) ORDER BY created_at, id').all(tenantId ?? null, tenantId ?? null) as Row[]).map(toFactoryCa);
  }

  revokeFactoryCa(id: string): boolean {
    return this.sql('UPDATE factory_cas SET revoked = 1 WHERE id = ?').run(id).changes === 1;
  }

  /** Runs fn in one transaction (e.g. consume a claim and create the device together). */
  atomically<T>(fn: () => T): T {
    return this.db.transaction(fn)();
  }

  private poolText(): string {
    return cidrText(this.pool);
  }
}

const nulls = (o: object) => Object.fromEntries(Object.entries(o).map(([k, v]) => [k, v ?? null]));

function toDevice(r: Row): DeviceRecord {
  return {
    deviceId: String(r.device_id),
    tenantId: String(r.tenant_id),
    status: r.status as DeviceStatus,
    keySha256: String(r.key_sha256),
    wgPublicKey: String(r.wg_public_key),
    wgIp: r.wg_ip === null ? '' : String(r.wg_ip),
    sshHostKey: r.ssh_host_key === null || r.ssh_host_key === undefined ? undefined : String(r.ssh_host_key),
    certSerial: r.cert_serial === null ? undefined : String(r.cert_serial),
    prevCertSerial: r.prev_cert_serial === null || r.prev_cert_serial === undefined ? undefined : String(r.prev_cert_serial),
    enrolledBy: r.enrolled_by === null || r.enrolled_by === undefined ? undefined : (String(r.enrolled_by) as Voucher),
    certNotAfter: r.cert_not_after === null ? undefined : String(r.cert_not_after),
    certPem: r.cert_pem === null ? undefined : String(r.cert_pem),
    tbDeviceId: r.tb_device_id === null ? undefined : String(r.tb_device_id),
    done: JSON.parse(String(r.done)) as Step[],
    lastError: r.last_error === null ? undefined : String(r.last_error),
    createdAt: String(r.created_at),
    updatedAt: String(r.updated_at),
  };
}

function toClaim(r: Row): ClaimRecord {
  return {
    id: String(r.id),
    tenantId: String(r.tenant_id),
    deviceId: r.device_id === null ? undefined : String(r.device_id),
    usesLeft: Number(r.uses_left),
    maxUses: Number(r.max_uses),
    expiresAt: String(r.expires_at),
    revoked: r.revoked === 1,
    createdAt: String(r.created_at),
  };
}

function toFactoryCa(r: Row): FactoryCaRecord {
  return {
    id: String(r.id),
    tenantId: String(r.tenant_id),
    pem: String(r.pem),
    sha256: String(r.sha256),
    subject: String(r.subject),
    revoked: r.revoked === 1,
    createdAt: String(r.created_at),
  };
}
