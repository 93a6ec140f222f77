// Not in the package index: devices bundle @cdm/common (the agent) and have neither SQLite nor PostgreSQL; services import "@cdm/common/db".
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import type Database from 'better-sqlite3';
import { openStore, type Migration } from './sqlite.ts';

export type SqlValue = string | number | null;

/** Statements a store runs; SQL is written once with `?` placeholders and runs on either engine. */
export interface Queryable {
  readonly engine: 'sqlite' | 'postgres';
  /** The database's clock in epoch milliseconds, as an SQL expression: replicas on several hosts agree on it. */
  readonly nowMs: string;
  get<T>(sql: string, params?: readonly SqlValue[]): Promise<T | undefined>;
  all<T>(sql: string, params?: readonly SqlValue[]): Promise<T[]>;
  /** The number of rows the statement changed. */
  run(sql: string, params?: readonly SqlValue[]): Promise<number>;
  /** fn in one transaction; inside one, joins it. */
  transaction<T>(fn: (tx: Tx) => Promise<T>): Promise<T>;
}

export interface Tx extends Queryable {
  /**
   * Serializes this transaction with every other one taking the same key, on every replica, until
   * commit: for a read-then-write another replica must not interleave (the address pool, a quota).
   * SQLite's write lock (BEGIN IMMEDIATE) already serializes all of them.
   */
  lock(key: string): Promise<void>;
}

export interface Db extends Queryable {
  close(): Promise<void>;
}

/** A store's schema for each engine: SQLite keeps its history (databases in the field), PostgreSQL starts where it is. */
export interface Schema {
  name: string;
  sqlite: readonly Migration[];
  postgres: readonly string[];
  /** The tables holding state, copied from the SQLite file when a store moves to PostgreSQL. */
  tables?: readonly string[];
}

/**
 * Where a service keeps its state: `DATABASE_URL` (postgres://…) when set — the state survives the
 * host and several replicas share it —, else a SQLite file in the service's data directory (one
 * instance). Either way with the lease table (lease.ts), so pollers elect one leader.
 */
export async function openDb(o: { url?: string; dataDir: string; file: string; schema: Schema; log?: (msg: string) => void }): Promise<Db> {
  if (o.url) {
    // A service that ran on SQLite and is now given DATABASE_URL brings its state along, once.
    const previous = o.dataDir && o.file ? path.join(o.dataDir, o.file) : undefined;
    const from = previous && fs.existsSync(previous) && o.schema.tables?.length ? previous : undefined;
    const db = await PgDb.open(o.url, o.schema, from ? () => new SqliteDb(openStore(o.dataDir, o.file, o.schema.sqlite)) : undefined);
    if (from && db.copied !== undefined) {
      fs.renameSync(from, `${from}.moved-to-postgresql`);
      o.log?.(`${o.schema.name}: ${db.copied} rows of ${from} copied into PostgreSQL; the file is kept as ${from}.moved-to-postgresql`);
    }
    return db;
  }
  const db = openStore(o.dataDir, o.file, o.schema.sqlite);
  db.exec(LEASES_SQL);
  return new SqliteDb(db);
}

/** Common to every store and outside its numbered migrations, so a store's own numbering never shifts. */
const LEASES_SQL = `CREATE TABLE IF NOT EXISTS cdm_leases (name TEXT PRIMARY KEY, holder TEXT NOT NULL, expires_at BIGINT NOT NULL);`;

class SqliteDb implements Db, Tx {
  readonly engine = 'sqlite';
  readonly nowMs = "CAST(unixepoch('subsec') * 1000 AS INTEGER)";
  /** The transaction open on the one connection: other statements wait for it rather than join it. */
  private open?: Promise<unknown>;
  private readonly cache = new Map<string, Database.Statement>();

  constructor(
    private readonly db: Database.Database,
    private readonly inTx = false,
    private readonly root?: SqliteDb,
  ) {}

  private stmt(sql: string): Database.Statement {
    if (this.root) return this.root.stmt(sql);
    let s = this.cache.get(sql);
    if (!s) this.cache.set(sql, (s = this.db.prepare(sql)));
    return s;
  }

  async get<T>(sql: string, params: readonly SqlValue[] = []): Promise<T | undefined> {
    // Waits while a transaction is open, re-checking after each wake with no await before the statement.
    while (this.open && !this.inTx) await this.open.catch(() => undefined);
    return this.stmt(sql).get(...params) as T | undefined;
  }

  async all<T>(sql: string, params: readonly SqlValue[] = []): Promise<T[]> {
    while (this.open && !this.inTx) await this.open.catch(() => undefined);
    return this.stmt(sql).all(...params) as T[];
  }

  async run(sql: string, params: readonly SqlValue[] = []): Promise<number> {
    while (this.open && !this.inTx) await this.open.catch(() => undefined);
    return this.stmt(sql).run(...params).changes;
  }

  async lock(): Promise<void> {}

  async transaction<T>(fn: (tx: Tx) => Promise<T>): Promise<T> {
    if (this.inTx) return fn(this);
    while (this.open) await this.open.catch(() => undefined);
    const tx = new SqliteDb(this.db, true, this);
    const run = (async () => {
      this.db.exec('BEGIN IMMEDIATE');
      try {
        const r = await fn(tx);
        this.db.exec('COMMIT');
        return r;
      } catch (err) {
        if (this.db.inTransaction) this.db.exec('ROLLBACK');
        throw err;
      } finally {
        this.open = undefined;
      }
    })();
    this.open = run;
    return run;
  }

  async close(): Promise<void> {
    while (this.open) await this.open.catch(() => undefined);
    this.db.close();
  }
}

/** `?` → `$1, $2…` outside quoted text. */
export function pgPlaceholders(sql: string): string {
  let n = 0;
  let quoted = false;
  let out = '';
  for (const ch of sql) {
    if (ch === "'") quoted = !quoted;
    out += ch === '?' && !quoted ? `$${++n}` : ch;
  }
  return out;
}

/** Two 32-bit halves of a key's SHA-256: pg_advisory_xact_lock's key space. */
function lockKey(key: string): [number, number] {
  const h = crypto.createHash('sha256').update(key).digest();
  return [h.readInt32BE(0), h.readInt32BE(4)];
}

type PgQueryable = Pick<pg.Pool, 'query'>;

/** No values: the simple protocol, which takes several statements (a migration). */
const pgParams = (params: readonly SqlValue[]) => (params.length ? (params as SqlValue[]) : undefined);

class PgQueries implements Tx {
  readonly engine = 'postgres';
  readonly nowMs = '(extract(epoch from clock_timestamp()) * 1000)::bigint';

  constructor(
    protected readonly q: PgQueryable,
    private readonly pool?: pg.Pool,
  ) {}

  async get<T>(sql: string, params: readonly SqlValue[] = []): Promise<T | undefined> {
    return (await this.q.query(pgPlaceholders(sql), pgParams(params))).rows[0] as T | undefined;
  }

  async all<T>(sql: string, params: readonly SqlValue[] = []): Promise<T[]> {
    return (await this.q.query(pgPlaceholders(sql), pgParams(params))).rows as T[];
  }

  async run(sql: string, params: readonly SqlValue[] = []): Promise<number> {
    return (await this.q.query(pgPlaceholders(sql), pgParams(params))).rowCount ?? 0;
  }

  async lock(key: string): Promise<void> {
    if (this.pool) throw new Error('lock() is for a transaction');
    await this.q.query('SELECT pg_advisory_xact_lock($1, $2)', lockKey(key));
  }

  async transaction<T>(fn: (tx: Tx) => Promise<T>): Promise<T> {
    if (!this.pool) return fn(this);
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      const r = await fn(new PgQueries(client));
      await client.query('COMMIT');
      return r;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
  }
}

class PgDb extends PgQueries implements Db {
  private constructor(private readonly p: pg.Pool) {
    super(p, p);
  }

  /** Rows copied from a SQLite store on the first open; undefined when nothing was copied. */
  copied?: number;

  static async open(url: string, schema: Schema, sqlite?: () => SqliteDb): Promise<PgDb> {
    const pool = new pg.Pool({
      connectionString: url,
      // COUNT(*) and BIGINT columns (epoch milliseconds) as numbers: every value a store keeps fits.
      types: { getTypeParser: (oid, format) => (oid === 20 ? (v: string) => Number(v) : pg.types.getTypeParser(oid, format)) } as pg.CustomTypesConfig,
      connectionTimeoutMillis: 10_000,
    });
    // An idle connection the server dropped (restart): the pool replaces it; without a listener it would crash the process.
    pool.on('error', () => undefined);
    const db = new PgDb(pool);
    try {
      db.copied = await db.migrate(schema, sqlite);
    } catch (err) {
      await pool.end();
      throw new Error(`PostgreSQL (DATABASE_URL): ${(err as Error).message}`, { cause: err });
    }
    return db;
  }

  /** Numbered like SQLite's: version i+1 after postgres[i]; replicas starting at once take turns. */
  /**
   * Numbered like SQLite's; replicas starting at once take turns. A new database (version 0) with a
   * SQLite store beside it gets its rows in the same transaction: all or nothing.
   */
  private async migrate(schema: Schema, sqlite?: () => SqliteDb): Promise<number | undefined> {
    const steps = schema.postgres;
    return this.transaction(async (tx) => {
      await tx.lock('cdm_schema');
      await tx.run('CREATE TABLE IF NOT EXISTS cdm_schema (store TEXT PRIMARY KEY, version INTEGER NOT NULL)');
      const at = (await tx.get<{ version: number }>('SELECT version FROM cdm_schema WHERE store = ?', [schema.name]))?.version ?? 0;
      if (at > steps.length) throw new Error(`store ${schema.name} is at schema version ${at}, newer than this release knows (${steps.length}): run the release that wrote it, or restore a backup`);
      for (let v = at; v < steps.length; v++) await tx.run(steps[v]!);
      await tx.run('INSERT INTO cdm_schema (store, version) VALUES (?, ?) ON CONFLICT (store) DO UPDATE SET version = excluded.version', [schema.name, steps.length]);
      await tx.run(LEASES_SQL);
      if (at !== 0 || !sqlite) return undefined;
      const from = sqlite();
      try {
        let rows = 0;
        for (const table of schema.tables ?? []) {
          for (const row of await from.all<Record<string, SqlValue>>(`SELECT * FROM ${table}`)) {
            const cols = Object.keys(row);
            await tx.run(`INSERT INTO ${table} (${cols.join(', ')}) VALUES (${cols.map(() => '?').join(', ')})`, Object.values(row));
            rows++;
          }
        }
        return rows;
      } finally {
        await from.close();
      }
    });
  }

  /** Idempotent, as better-sqlite3's close is. */
  async close(): Promise<void> {
    if (!this.p.ended) await this.p.end();
  }
}
