import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { openStore, type Migration } from './sqlite.ts';

const dir = () => fs.mkdtempSync(path.join(os.tmpdir(), 'cdm-sqlite-'));
const version = (d: string) => {
  const db = openStore(d, 's.sqlite', []);
  return db;
};

describe('openStore', () => {
  it('applies numbered migrations once, in order, and only the new ones on the next open', () => {
    const d = dir();
    const ran: number[] = [];
    const m: Migration[] = ['CREATE TABLE t (a TEXT)', (db) => (ran.push(2), db.exec('ALTER TABLE t ADD COLUMN b TEXT'))];
    openStore(d, 's.sqlite', m).close();
    openStore(d, 's.sqlite', m).close();
    expect(ran).toEqual([2]);
    const db = openStore(d, 's.sqlite', [...m, "INSERT INTO t (a, b) VALUES ('x', 'y')"]);
    expect(db.pragma('user_version', { simple: true })).toBe(3);
    expect(db.prepare('SELECT a, b FROM t').all()).toEqual([{ a: 'x', b: 'y' }]);
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    db.close();
  });

  it('a failing migration changes nothing: the database stays at the version before it', () => {
    const d = dir();
    expect(() => openStore(d, 's.sqlite', ['CREATE TABLE t (a TEXT)', 'INSERT INTO t VALUES (1); INSERT INTO nowhere VALUES (2)'])).toThrow(/no such table: nowhere/);
    const db = openStore(d, 's.sqlite', ['CREATE TABLE t (a TEXT)']);
    expect(db.pragma('user_version', { simple: true })).toBe(1);
    expect(db.prepare('SELECT count(*) AS n FROM t').get()).toEqual({ n: 0 });
    db.close();
  });

  it('refuses a database written by a newer release', () => {
    const d = dir();
    openStore(d, 's.sqlite', ['CREATE TABLE t (a TEXT)', 'CREATE TABLE u (a TEXT)']).close();
    expect(() => version(d)).toThrow(/schema version 2, newer than this release knows \(0\)/);
  });
});
