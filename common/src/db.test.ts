import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { openDb, pgPlaceholders } from './db.ts';

const tick = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('db', () => {
  it('numbers placeholders for PostgreSQL, leaving quoted text alone', () => {
    expect(pgPlaceholders("SELECT * FROM t WHERE a = ? AND b = '?' AND c IN (?, ?)")).toBe("SELECT * FROM t WHERE a = $1 AND b = '?' AND c IN ($2, $3)");
  });

  it('SQLite: a statement from outside waits for an open transaction instead of joining it; a failed one leaves nothing', async () => {
    const db = await openDb({ dataDir: fs.mkdtempSync(path.join(os.tmpdir(), 'cdm-db-')), file: 't.sqlite', schema: { name: 't', sqlite: ['CREATE TABLE t (n INTEGER PRIMARY KEY)'], postgres: [] } });
    const tx = db.transaction(async (t) => {
      await t.run('INSERT INTO t (n) VALUES (?)', [1]);
      await tick(50); // another request's statement arrives meanwhile
      throw new Error('crash');
    });
    const outside = db.run('INSERT INTO t (n) VALUES (?)', [2]);
    await expect(tx).rejects.toThrow('crash');
    expect(await outside).toBe(1);
    expect(await db.all<{ n: number }>('SELECT n FROM t')).toEqual([{ n: 2 }]);
    expect(await db.transaction(async (t) => t.transaction(async (inner) => inner.get<{ c: number }>('SELECT count(*) AS c FROM t')))).toEqual({ c: 1 });
    await db.close();
  });

  it('SQLite: transactions that read, wait and write take turns (none sees another half-done)', async () => {
    const db = await openDb({
      dataDir: fs.mkdtempSync(path.join(os.tmpdir(), 'cdm-db-')),
      file: 't.sqlite',
      schema: { name: 't', sqlite: ['CREATE TABLE c (id INTEGER PRIMARY KEY, n INTEGER NOT NULL); INSERT INTO c VALUES (1, 0)'], postgres: [] },
    });
    await Promise.all(
      Array.from({ length: 20 }, () =>
        db.transaction(async (t) => {
          const { n } = (await t.get<{ n: number }>('SELECT n FROM c WHERE id = 1'))!;
          await tick(2);
          await t.run('UPDATE c SET n = ? WHERE id = 1', [n + 1]);
        }),
      ),
    );
    expect(await db.get('SELECT n FROM c WHERE id = 1')).toEqual({ n: 20 });
    await db.close();
  });
});
