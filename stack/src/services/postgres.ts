import fs from 'node:fs';
import path from 'node:path';
import { PORTS } from '../paths.ts';
import { execFileP, spawnDetached, stopDetached } from '../proc.ts';
import type { Service } from '../types.ts';
import { ensureDebian } from './apt.ts';

const BIN = '/usr/lib/postgresql/15/bin';
/**
 * PostgreSQL refuses to run as root, and the state dir lives in root's home (0700), so the cluster
 * lives in the postgres user's home, beside Debian's own clusters and never touching them.
 */
export const PG_DATA = '/var/lib/postgresql/cdm-stack/15';
const SOCKET_DIR = '/var/run/postgresql';
/** Development database for ThingsBoard (credentials printed on purpose, loopback only). */
export const PG_TB = { database: 'thingsboard', username: 'thingsboard', password: 'thingsboard-dev' };

const asPostgres = (cmd: string, args: string[]) => execFileP('runuser', ['-u', 'postgres', '--', cmd, ...args], { maxBuffer: 16 * 1024 * 1024 });
const psql = (sql: string) => asPostgres('psql', ['-h', SOCKET_DIR, '-p', String(PORTS.postgres), '-d', 'postgres', '-v', 'ON_ERROR_STOP=1', '-tAc', sql]);

/** The bridges' role when a test runs them on PostgreSQL (DATABASE_URL). */
export const PG_CDM = { username: 'cdm', password: 'cdm-dev' };

/** A database owned by a role (ThingsBoard's unless told), and the role, created when missing. */
export async function ensureDatabase(database: string, owner: { username: string; password: string } = PG_TB): Promise<void> {
  if (!/^[a-z_][a-z0-9_]*$/.test(database)) throw new Error(`invalid database name ${database}`);
  const { username, password } = owner;
  const role = await psql(`SELECT 1 FROM pg_roles WHERE rolname = '${username}'`);
  if (!role.stdout.trim()) await psql(`CREATE ROLE ${username} LOGIN PASSWORD '${password}'`);
  const db = await psql(`SELECT 1 FROM pg_database WHERE datname = '${database}'`);
  if (!db.stdout.trim()) await psql(`CREATE DATABASE ${database} OWNER ${username}`);
}

/** A private PostgreSQL 15 cluster (Debian's packages) on loopback, for ThingsBoard. */
export const postgres: Service = {
  name: 'postgres',
  real: true,
  version: 'Debian 12 postgresql 15',
  startTimeoutSec: 60,
  async install(ctx) {
    await ensureDebian(ctx.log, [
      { bin: `${BIN}/postgres`, pkg: 'postgresql-15' },
      { bin: 'psql', pkg: 'postgresql-client-15' },
    ]);
  },
  async start(ctx) {
    if (!fs.existsSync(path.join(PG_DATA, 'PG_VERSION'))) {
      fs.mkdirSync(PG_DATA, { recursive: true });
      await execFileP('chown', ['-R', 'postgres:postgres', path.dirname(PG_DATA)]);
      await asPostgres(`${BIN}/initdb`, ['-D', PG_DATA, '--auth-local=peer', '--auth-host=scram-sha-256', '--encoding=UTF8', '--locale=C.UTF-8']);
    }
    spawnDetached(ctx, 'postgres', 'runuser', [
      '-u',
      'postgres',
      '--',
      `${BIN}/postgres`,
      '-D',
      PG_DATA,
      '-c',
      'listen_addresses=127.0.0.1',
      '-c',
      `port=${PORTS.postgres}`,
      '-c',
      `unix_socket_directories=${SOCKET_DIR}`,
      '-c',
      'max_connections=200',
      '-c',
      'shared_buffers=128MB',
    ]);
  },
  async healthy() {
    try {
      await execFileP('pg_isready', ['-q', '-h', '127.0.0.1', '-p', String(PORTS.postgres)]);
      return true;
    } catch {
      return false;
    }
  },
  /** Role and database for ThingsBoard, created once. */
  afterStart: () => ensureDatabase(PG_TB.database),
  endpoint: () => ({
    url: `postgresql://127.0.0.1:${PORTS.postgres}/${PG_TB.database}`,
    credentials: { username: PG_TB.username, password: PG_TB.password },
    extra: { dataDir: PG_DATA },
  }),
  stop: (ctx) => stopDetached(ctx, 'postgres', 30_000),
};

/**
 * A new empty database for a test of a bridge on PostgreSQL (the stack's cluster must run), as the
 * DATABASE_URL a bridge takes: every test starts from nothing and replicas in it share one.
 */
export async function freshDatabase(prefix: string): Promise<string> {
  if (!/^[a-z][a-z0-9_]*$/.test(prefix)) throw new Error(`invalid database prefix ${prefix}`);
  // Earlier ones of this prefix (earlier runs, earlier tests) go, unless still in use: the cluster
  // does not grow with every run.
  const old = await psql(`SELECT datname FROM pg_database WHERE datname LIKE '${prefix}\\_%'`);
  for (const db of old.stdout.split('\n').filter((d) => /^[a-z0-9_]+$/.test(d))) await psql(`DROP DATABASE IF EXISTS ${db}`).catch(() => undefined);
  const name = `${prefix}_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 8)}`;
  await ensureDatabase(name, PG_CDM);
  return `postgres://${PG_CDM.username}:${PG_CDM.password}@127.0.0.1:${PORTS.postgres}/${name}`;
}
