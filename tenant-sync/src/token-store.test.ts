import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { TokenStore } from './token-store.ts';

describe('TokenStore', () => {
  it('keeps one owner-only file per tenant and lists, replaces and deletes them', () => {
    const dir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'tok-')), 'tokens');
    const s = new TokenStore(dir);
    expect(s.get('g1')).toBeUndefined();
    s.put({ cdmId: 'g1', org: 'cdm', bucket: 'cdm-g1', authId: 'a1', token: 'secret' });
    s.put({ cdmId: 'g1', org: 'cdm', bucket: 'cdm-g1', authId: 'a2', token: 'secret2' });
    expect(s.get('g1')?.authId).toBe('a2');
    expect(fs.statSync(path.join(dir, 'g1.json')).mode & 0o777).toBe(0o600);
    expect(fs.statSync(dir).mode & 0o777).toBe(0o700);
    expect(s.list()).toEqual(['g1']);
    s.delete('g1');
    expect(s.list()).toEqual([]);
  });

  it('refuses an id that could escape the directory', () => {
    expect(() => new TokenStore('/tmp/x').get('../etc/passwd')).toThrow('invalid tenant id');
  });
});
