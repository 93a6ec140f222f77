// Not in the package index: devices bundle @cdm/common (the agent) and have no SQLite; services import "@cdm/common/sqlite".
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';

/** One step of a store's schema: SQL, or a function for what SQL alone cannot say. */
export type Migration = string | ((db: Database.Database) => void);

/**
 * The one way cdm's services keep state in SQLite: a private directory, WAL with
 * synchronous=FULL (a committed change survives a power cut), a wait for the lock (a CLI opens the
 * file while the daemon runs), and numbered migrations — `migrations[i]` takes the database to
 * version i+1 (PRAGMA user_version), each in its own transaction, each run once. A database newer
 * than this code is refused rather than misread.
 */
export function openStore(dataDir: string, file: string, migrations: readonly Migration[]): Database.Database {
  fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const db = new Database(path.join(dataDir, file), { timeout: 5000 });
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    const at = db.pragma('user_version', { simple: true }) as number;
    if (at > migrations.length)
      throw new Error(`${path.join(dataDir, file)} is at schema version ${at}, newer than this release knows (${migrations.length}): run the release that wrote it, or restore a backup`);
    for (let v = at; v < migrations.length; v++) {
      const m = migrations[v]!;
      db.transaction(() => {
        if (typeof m === 'string') db.exec(m);
        else m(db);
        db.pragma(`user_version = ${v + 1}`);
      })();
    }
    return db;
  } catch (err) {
    db.close();
    throw err;
  }
}

/**
 * The statements of one database, each compiled once: better-sqlite3 compiles SQL on every
 * prepare(), which at hundreds of enrollments a second was a measurable share of the event loop.
 */
export function preparedStatements(db: Database.Database): (sql: string) => Database.Statement {
  const cache = new Map<string, Database.Statement>();
  return (sql) => {
    let s = cache.get(sql);
    if (!s) cache.set(sql, (s = db.prepare(sql)));
    return s;
  };
}
