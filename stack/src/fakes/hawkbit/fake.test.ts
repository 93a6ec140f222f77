import type { Server } from 'node:http';
import { HawkbitClient } from '@cdm/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listen } from '../server.ts';
import { createHawkbitFake } from './fake.ts';
import { parseFiql } from './fiql.ts';

let server: Server;
let url: string;
let hb: HawkbitClient;
beforeAll(async () => {
  ({ server, url } = await listen(createHawkbitFake().app));
  hb = new HawkbitClient({ baseURL: url, username: 'admin', password: 'admin', retries: 0, pageSize: 2 });
});
afterAll(() => server.close());

describe('hawkBit fake through the real client', () => {
  it('creates, pages with FIQL, updates and deletes targets', async () => {
    await hb.createTargets(['dev-1', 'dev-2', 'dev-3', 'other-1'].map((id) => ({ controllerId: id, name: id })));
    expect((await hb.listTargets({ q: 'controllerId==dev-*', sort: 'controllerId:DESC' })).map((t) => t.controllerId)).toEqual(['dev-3', 'dev-2', 'dev-1']);
    const since = (await hb.getTarget('dev-2'))!.lastModifiedAt!;
    await hb.updateTarget('dev-2', { name: 'dev-2', description: 'changed' });
    expect((await hb.listTargets({ q: `lastModifiedAt=ge=${since}` })).map((t) => t.controllerId)).toContain('dev-2');
    expect(await hb.deleteTarget('dev-1')).toBe(true);
    expect(await hb.deleteTarget('dev-1')).toBe(false);
    expect(await hb.getTarget('dev-1')).toBeUndefined();
    await expect(hb.createTargets([{ controllerId: 'dev-2', name: 'dev-2' }])).rejects.toThrow(/HTTP 409/);
  });

  it('stores tenant configuration with type checks', async () => {
    await hb.setConfig('authentication.gatewaytoken.enabled', true);
    expect(await hb.getConfig('authentication.gatewaytoken.enabled')).toBe(true);
    await expect(hb.setConfig('authentication.gatewaytoken.enabled', 'yes')).rejects.toThrow(/HTTP 400/);
    await expect(hb.setConfig('no.such.key', true)).rejects.toThrow(/HTTP 404/);
  });
});

describe('hawkBit fake rejects requests that violate the spec', () => {
  const auth = `Basic ${Buffer.from('admin:admin').toString('base64')}`;
  it('401 without credentials, 400 for a target without controllerId or a non-array body, 400 for a bad FIQL', async () => {
    expect((await fetch(`${url}/rest/v1/targets`)).status).toBe(401);
    const post = (body: unknown) => fetch(`${url}/rest/v1/targets`, { method: 'POST', headers: { Authorization: auth, 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
    expect((await post([{ name: 'x' }])).status).toBe(400);
    expect((await post({ controllerId: 'x', name: 'x' })).status).toBe(400);
    expect((await fetch(`${url}/rest/v1/targets?q=name%3D%3Dx%20AND`, { headers: { Authorization: auth } })).status).toBe(400);
    expect((await fetch(`${url}/rest/v1/targets?limit=ten`, { headers: { Authorization: auth } })).status).toBe(400);
  });

  it('answers 501 for spec operations the fake does not implement yet', async () => {
    const res = await fetch(`${url}/rest/v1/rollouts`, { headers: { Authorization: auth } });
    expect(res.status).toBe(501);
  });
});

describe('parseFiql', () => {
  it('supports ==, wildcards, comparisons, and/or; refuses grouping', () => {
    const e = { controllerId: 'dev-7', lastModifiedAt: 100 };
    expect(parseFiql('controllerId==dev-*;lastModifiedAt=gt=50')(e)).toBe(true);
    expect(parseFiql('controllerId==x,lastModifiedAt=le=100')(e)).toBe(true);
    expect(parseFiql('controllerId!=dev-7')(e)).toBe(false);
    expect(() => parseFiql('(a==b)')).toThrow(/parentheses/);
  });
});
