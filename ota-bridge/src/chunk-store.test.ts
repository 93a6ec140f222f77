import fs from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chunkStoreApp } from './chunk-store.ts';

const id = 'ab12' + 'c'.repeat(60);

describe('chunk store', () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'cdm-chunk-store-'));
  const dir = path.join(root, 'store');
  const served = { requests: 0, bytes: 0 };
  let server: Server;
  let url: string;
  beforeAll(async () => {
    fs.mkdirSync(path.join(dir, 'ab12'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'ab12', `${id}.cacnk`), 'chunk bytes');
    fs.writeFileSync(path.join(dir, 'ab12', 'notes.txt'), 'not a chunk');
    fs.writeFileSync(path.join(root, 'secret'), 'outside the store');
    server = chunkStoreApp({ dir, served }).listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => server.close());

  it('serves a chunk by its id, cacheable for good, and counts the bytes', async () => {
    const res = await fetch(`${url}/ab12/${id}.cacnk`);
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toMatch(/immutable/);
    expect(await res.text()).toBe('chunk bytes');
    expect(served).toEqual({ requests: 1, bytes: 11 });
    expect((await fetch(`${url}/ab12/${'ab12' + 'd'.repeat(60)}.cacnk`)).status).toBe(404);
  });

  it.each([
    ['a listing of the store', '/'],
    ['a listing of a prefix directory', '/ab12/'],
    ['another file in the store', '/ab12/notes.txt'],
    ['a chunk under the wrong prefix', `/ab13/${id}.cacnk`],
    ['an upper-case id', `/AB12/${id.toUpperCase()}.cacnk`],
    ['a path out of the store', '/../secret'],
    ['an encoded path out of the store', '/ab12/..%2F..%2Fsecret'],
  ])('attack: %s is a 404', async (_what, p) => {
    const before = { ...served };
    const res = await fetch(`${url}${p}`);
    expect(res.status).toBe(404);
    expect(await res.text()).not.toMatch(/outside the store|not a chunk$|chunk bytes/);
    expect(served).toEqual(before);
  });

  it('answers HEAD with the size and counts nothing', async () => {
    const before = { ...served };
    const res = await fetch(`${url}/ab12/${id}.cacnk`, { method: 'HEAD' });
    expect([res.status, res.headers.get('content-length')]).toEqual([200, '11']);
    expect(served).toEqual(before);
  });
});
