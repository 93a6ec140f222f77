import { openDb, type Db, type Queryable, type Schema, type Tx } from '@cdm/common/db';
import { acrossReplicas, replicaLease, type Lease } from '@cdm/common/lease';
import type { Migration } from '@cdm/common/sqlite';
import { Refused } from './errors.ts';
import type { TunnelRecord } from './peer-plan.ts';
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

/** The same tables on PostgreSQL (DATABASE_URL), in their current shape: no database there predates it. */
const PG_SCHEMA = `
CREATE TABLE devices (
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
  updated_at TEXT NOT NULL,
  ssh_host_key TEXT,
  prev_cert_serial TEXT,
  enrolled_by TEXT
);
CREATE UNIQUE INDEX devices_wg_ip ON devices(wg_ip) WHERE wg_ip IS NOT NULL;
CREATE UNIQUE INDEX devices_wg_key ON devices(wg_public_key) WHERE wg_ip IS NOT NULL;
CREATE INDEX devices_tenant ON devices(tenant_id, status);
CREATE TABLE claims (
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
CREATE TABLE csr_uses (request_sha256 TEXT PRIMARY KEY, device_id TEXT NOT NULL, used_at TEXT NOT NULL);
CREATE TABLE factory_cas (
  id TEXT PRIMARY KEY,
  tenant_id TEXT NOT NULL,
  pem TEXT NOT NULL,
  sha256 TEXT NOT NULL UNIQUE,
  subject TEXT NOT NULL,
  revoked INTEGER NOT NULL DEFAULT 0,
  created_at TEXT NOT NULL
);
CREATE TABLE pool_state (id INTEGER PRIMARY KEY CHECK (id = 1), cidr TEXT NOT NULL, mark BIGINT NOT NULL);
CREATE TABLE pool_free (n BIGINT PRIMARY KEY);
`;

export const ENROLL_SCHEMA: Schema = { name: 'enroll-bridge', sqlite: MIGRATIONS, postgres: [PG_SCHEMA], tables: ['devices', 'claims', 'csr_uses', 'factory_cas', 'pool_state', 'pool_free'] };

type Row = Record<string, string | number | null>;

/** Serializes every change of the address pool, on every replica (PostgreSQL; SQLite's write lock does it there). */
const POOL_LOCK = 'enroll-bridge:pool';

/**
 * Durable store of device identity, the address pool and claims: SQLite (one instance) or
 * PostgreSQL (replicas share it), selected by DATABASE_URL. Each method that reads and then writes
 * is one transaction, and those touching the pool or a tenant's quota take its lock first: two
 * enrollments — on one replica or two — never take the same address or the last use of a claim.
 */
export class Store {
  private constructor(
    private readonly q: Queryable,
    readonly pool: Cidr,
    private readonly db?: Db,
  ) {}

  /** `log` hears of a SQLite store's rows moving into PostgreSQL (the first start with DATABASE_URL). */
  static async open(o: { url?: string; dataDir: string; poolCidr: string; log?: (msg: string) => void }): Promise<Store> {
    const db = await openDb({ url: o.url, dataDir: o.dataDir, file: 'enroll-bridge.sqlite', schema: ENROLL_SCHEMA, log: o.log });
    const store = new Store(db, parseCidr(o.poolCidr), db);
    try {
      await db.transaction(async (tx) => {
        await tx.lock(POOL_LOCK);
        const state = await tx.get<{ cidr: string }>('SELECT cidr FROM pool_state WHERE id = 1');
        if (state?.cidr !== store.poolText()) await new Store(tx, store.pool).rebuildPool(tx);
      });
    } catch (err) {
      await db.close();
      throw err;
    }
    return store;
  }

  /** Which engine keeps the state: with PostgreSQL, replicas may run. */
  get shared(): boolean {
    return this.q.engine === 'postgres';
  }

  /**
   * The pool's state from the devices that hold addresses: once for a database from before the
   * pool had its own state, and when WG_POOL_CIDR changed (a wider pool keeps every address).
   */
  private async rebuildPool(tx: Tx): Promise<void> {
    const first = firstDevice(this.pool);
    const last = lastDevice(this.pool);
    const used = new Set((await tx.all<{ wg_ip: string }>('SELECT wg_ip FROM devices WHERE wg_ip IS NOT NULL')).map((r) => toInt(r.wg_ip)));
    let mark = first;
    for (const n of used) if (n >= first && n <= last && n >= mark) mark = n + 1;
    await tx.run('DELETE FROM pool_free');
    for (let n = first; n < mark; n++) if (!used.has(n)) await tx.run('INSERT INTO pool_free (n) VALUES (?)', [n]);
    await tx.run('INSERT INTO pool_state (id, cidr, mark) VALUES (1, ?, ?) ON CONFLICT (id) DO UPDATE SET cidr = excluded.cidr, mark = excluded.mark', [this.poolText(), mark]);
  }

  /** The lowest free address: a freed one, else the next never handed out; undefined when none is left. */
  private async takeAddress(tx: Tx): Promise<string | undefined> {
    await tx.lock(POOL_LOCK);
    const freed = await tx.get<{ n: number }>('SELECT n FROM pool_free ORDER BY n LIMIT 1');
    if (freed) {
      await tx.run('DELETE FROM pool_free WHERE n = ?', [freed.n]);
      return toIp(freed.n);
    }
    const { mark } = (await tx.get<{ mark: number }>('SELECT mark FROM pool_state WHERE id = 1'))!;
    if (mark > lastDevice(this.pool)) return undefined;
    await tx.run('UPDATE pool_state SET mark = ? WHERE id = 1', [mark + 1]);
    return toIp(mark);
  }

  async close(): Promise<void> {
    await this.db?.close();
  }

  /**
   * fn as the only operation on this device across replicas (a lease in the shared store, waited
   * for, renewed while fn runs; a replica that died holding it frees it after 15 s); with SQLite
   * there is one instance and the Enroller's in-process queue is enough.
   */
  exclusive<T>(deviceId: string, fn: () => Promise<T>): Promise<T> {
    return acrossReplicas(this.q, `enroll-bridge:device:${deviceId}`, fn, { ttlMs: 15_000, waitMs: 45_000 });
  }

  /** A poller's leader lease among replicas; none with SQLite (one instance). */
  lease(name: string, ttlMs: number): Lease | undefined {
    return replicaLease(this.q, `enroll-bridge:${name}`, ttlMs);
  }

  // ---- devices
  async getDevice(deviceId: string): Promise<DeviceRecord | undefined> {
    const r = await this.q.get<Row>('SELECT * FROM devices WHERE device_id = ?', [deviceId]);
    return r ? toDevice(r) : undefined;
  }

  /** The device other than `deviceId` that holds this WireGuard key with an address, if any. */
  async wgKeyHolder(wgPublicKey: string, deviceId: string): Promise<string | undefined> {
    const r = await this.q.get<{ device_id: string }>('SELECT device_id FROM devices WHERE wg_public_key = ? AND wg_ip IS NOT NULL AND device_id != ?', [wgPublicKey, deviceId]);
    return r?.device_id;
  }

  /** Devices of a tenant that hold (or are getting) an address: what its quota counts. */
  async countDevices(tenantId: string): Promise<number> {
    return (await this.q.get<{ n: number }>("SELECT COUNT(*) AS n FROM devices WHERE tenant_id = ? AND status != 'decommissioned'", [tenantId]))!.n;
  }

  /** In a transaction: the tenant's device count cannot change (another replica enrolling) until commit. */
  async lockTenant(tenantId: string): Promise<void> {
    await (this.q as Tx).lock(`enroll-bridge:tenant:${tenantId}`);
  }

  /** Records a certificate request as used; false when it was used before (a replay). */
  async useRequest(requestSha256: string, deviceId: string): Promise<boolean> {
    return (await this.q.run('INSERT INTO csr_uses (request_sha256, device_id, used_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING', [requestSha256, deviceId, new Date().toISOString()])) === 1;
  }

  async listDevices(filter: { status?: DeviceStatus; tenantId?: string } = {}): Promise<DeviceRecord[]> {
    const where: string[] = [];
    const params: string[] = [];
    if (filter.status) {
      where.push('status = ?');
      params.push(filter.status);
    }
    if (filter.tenantId) {
      where.push('tenant_id = ?');
      params.push(filter.tenantId);
    }
    const rows = await this.q.all<Row>(`SELECT * FROM devices ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY device_id`, params);
    return rows.map(toDevice);
  }

  /**
   * Records a new enrollment and takes the lowest free address in one transaction (the address is
   * durable before `wg set` runs, so a crash never hands it out twice).
   */
  createDevice(d: { deviceId: string; tenantId: string; keySha256: string; wgPublicKey: string }): Promise<DeviceRecord> {
    return this.q.transaction(async (tx) => {
      const ip = await this.takeAddress(tx);
      if (!ip) throw new PoolExhausted(`WireGuard pool ${this.poolText()} is exhausted (${poolSize(this.pool)} addresses in use); widen WG_POOL_CIDR or decommission devices`);
      const now = new Date().toISOString();
      await tx.run(
        `INSERT INTO devices (device_id, tenant_id, status, key_sha256, wg_public_key, wg_ip, done, created_at, updated_at)
           VALUES (?, ?, 'enrolling', ?, ?, ?, '[]', ?, ?)`,
        [d.deviceId, d.tenantId, d.keySha256, d.wgPublicKey, ip, now, now],
      );
      return (await new Store(tx, this.pool).getDevice(d.deviceId))!;
    });
  }

  /** A decommissioned device enrolling again (with a fresh claim) gets a fresh address and state. */
  restartDevice(d: { deviceId: string; tenantId: string; keySha256: string; wgPublicKey: string }): Promise<DeviceRecord> {
    return this.q.transaction(async (tx) => {
      await tx.run('DELETE FROM devices WHERE device_id = ?', [d.deviceId]);
      return new Store(tx, this.pool).createDevice(d);
    });
  }

  async update(deviceId: string, patch: DevicePatch): Promise<DeviceRecord> {
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
    const keys = Object.keys(patch) as (keyof DevicePatch)[];
    const sets = keys.map((k) => `${cols[k]} = ?`);
    await this.q.run(`UPDATE devices SET ${[...sets, 'updated_at = ?'].join(', ')} WHERE device_id = ?`, [...keys.map((k) => patch[k] ?? null), new Date().toISOString(), deviceId]);
    return (await this.getDevice(deviceId))!;
  }

  /** Marks steps done (or undone), with what the steps found out, in one transaction (one disk flush). */
  markDone(deviceId: string, steps: readonly Step[], done: boolean, patch: DevicePatch = {}): Promise<DeviceRecord> {
    return this.q.transaction(async (tx) => {
      const s = new Store(tx, this.pool);
      const d = Object.keys(patch).length ? await s.update(deviceId, patch) : await s.getDevice(deviceId);
      if (!d) throw new Error(`device ${deviceId} not in the store`);
      const set = new Set(d.done);
      for (const step of steps) {
        if (done) set.add(step);
        else set.delete(step);
      }
      const ordered = STEPS.filter((x) => set.has(x));
      await tx.run('UPDATE devices SET done = ?, updated_at = ? WHERE device_id = ?', [JSON.stringify(ordered), new Date().toISOString(), deviceId]);
      return (await s.getDevice(deviceId))!;
    });
  }

  /** Gives the address back to the pool (decommission finished). */
  releaseAddress(deviceId: string): Promise<void> {
    return this.q.transaction(async (tx) => {
      await tx.lock(POOL_LOCK);
      const ip = (await new Store(tx, this.pool).getDevice(deviceId))?.wgIp;
      await tx.run("UPDATE devices SET wg_ip = NULL, status = 'decommissioned', updated_at = ? WHERE device_id = ?", [new Date().toISOString(), deviceId]);
      if (ip && contains(this.pool, ip)) await tx.run('INSERT INTO pool_free (n) VALUES (?) ON CONFLICT DO NOTHING', [toInt(ip)]);
    });
  }

  /** Every device holding an address, as the hub's peers should show it (peer-sync.ts). */
  async tunnels(): Promise<TunnelRecord[]> {
    const rows = await this.q.all<{ wg_public_key: string; wg_ip: string; done: string; status: string }>('SELECT wg_public_key, wg_ip, done, status FROM devices WHERE wg_ip IS NOT NULL');
    return rows.map((r) => ({ wgPublicKey: r.wg_public_key, wgIp: r.wg_ip, wireguardDone: (JSON.parse(r.done) as Step[]).includes('wireguard'), decommissioning: r.status === 'decommissioning' }));
  }

  async addressesInUse(): Promise<number> {
    return (await this.q.get<{ n: number }>('SELECT count(*) AS n FROM devices WHERE wg_ip IS NOT NULL'))!.n;
  }

  // ---- claims
  async createClaim(c: { id: string; tokenSha256: string; tenantId: string; deviceId?: string; uses: number; expiresAt: Date }): Promise<ClaimRecord> {
    await this.q.run('INSERT INTO claims (id, token_sha256, tenant_id, device_id, uses_left, max_uses, expires_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)', [
      c.id,
      c.tokenSha256,
      c.tenantId,
      c.deviceId ?? null,
      c.uses,
      c.uses,
      c.expiresAt.toISOString(),
      new Date().toISOString(),
    ]);
    return (await this.getClaim(c.id))!;
  }

  async getClaim(id: string): Promise<ClaimRecord | undefined> {
    const r = await this.q.get<Row>('SELECT * FROM claims WHERE id = ?', [id]);
    return r ? toClaim(r) : undefined;
  }

  async findClaimByHash(tokenSha256: string): Promise<ClaimRecord | undefined> {
    const r = await this.q.get<Row>('SELECT * FROM claims WHERE token_sha256 = ?', [tokenSha256]);
    return r ? toClaim(r) : undefined;
  }

  async listClaims(tenantId?: string): Promise<ClaimRecord[]> {
    const rows = tenantId ? await this.q.all<Row>('SELECT * FROM claims WHERE tenant_id = ? ORDER BY created_at', [tenantId]) : await this.q.all<Row>('SELECT * FROM claims ORDER BY created_at');
    return rows.map(toClaim);
  }

  /** Takes one use if any is left; false when none (the check and the decrement are one statement). */
  async consumeClaim(id: string): Promise<boolean> {
    return (await this.q.run('UPDATE claims SET uses_left = uses_left - 1 WHERE id = ? AND uses_left > 0 AND revoked = 0', [id])) === 1;
  }

  async revokeClaim(id: string): Promise<boolean> {
    return (await this.q.run('UPDATE claims SET revoked = 1 WHERE id = ?', [id])) === 1;
  }

  // ---- factory CAs
  addFactoryCa(c: { id: string; tenantId: string; pem: string; sha256: string; subject: string }): Promise<FactoryCaRecord> {
    return this.q.transaction(async (tx) => {
      const existing = await tx.get<Row>('SELECT * FROM factory_cas WHERE sha256 = ?', [c.sha256]);
      if (existing) throw new Refused('conflict', `that CA is already registered as ${String(existing.id)} for tenant ${String(existing.tenant_id)}`);
      await tx.run('INSERT INTO factory_cas (id, tenant_id, pem, sha256, subject, created_at) VALUES (?, ?, ?, ?, ?, ?)', [c.id, c.tenantId, c.pem, c.sha256, c.subject, new Date().toISOString()]);
      return toFactoryCa((await tx.get<Row>('SELECT * FROM factory_cas WHERE id = ?', [c.id]))!);
    });
  }

  /** Active and revoked registrations, oldest first (revoked ones stay as a record). */
  async listFactoryCas(tenantId?: string): Promise<FactoryCaRecord[]> {
    const rows = tenantId
      ? await this.q.all<Row>('SELECT * FROM factory_cas WHERE tenant_id = ? ORDER BY created_at, id', [tenantId])
      : await this.q.all<Row>('SELECT * FROM factory_cas ORDER BY created_at, id');
    return rows.map(toFactoryCa);
  }

  async revokeFactoryCa(id: string): Promise<boolean> {
    return (await this.q.run('UPDATE factory_cas SET revoked = 1 WHERE id = ?', [id])) === 1;
  }

  /** Runs fn in one transaction on a store bound to it (e.g. consume a claim and create the device together). */
  atomically<T>(fn: (s: Store) => Promise<T>): Promise<T> {
    return this.q.transaction((tx) => fn(new Store(tx, this.pool)));
  }

  private poolText(): string {
    return cidrText(this.pool);
  }
}

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
