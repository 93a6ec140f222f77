import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { InfluxClient } from '@cdm/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listen } from '../server.ts';
import { OPERATOR_TOKEN, createInfluxFake, dbOf } from './fake.ts';

/** Stands in for influxd 1.8 here; the e2e tests use the real one. */
const seen: { method?: string; url?: string; body: string }[] = [];
let backend: Server;
let fake: Server;
let url: string;
let op: InfluxClient;

beforeAll(async () => {
  backend = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      seen.push({ method: req.method, url: req.url, body });
      if (req.url?.startsWith('/api/v2/query'))
        res.writeHead(200, { 'Content-Type': 'text/csv' }).end('#datatype,string,long,double\n#group,false,false,false\n#default,_result,,\n,result,table,_value\n,,0,42\n\n');
      else if (req.url?.startsWith('/api/v2/write')) res.writeHead(204).end();
      else res.writeHead(200, { 'Content-Type': 'application/json' }).end('{"results":[{"statement_id":0}]}');
    });
  });
  await new Promise<void>((r) => backend.listen(0, '127.0.0.1', r));
  ({ server: fake, url } = await listen(createInfluxFake({ backend: `http://127.0.0.1:${(backend.address() as AddressInfo).port}` }).app));
  op = new InfluxClient({ baseURL: url, token: OPERATOR_TOKEN, retries: 0 });
});
afterAll(() => {
  fake.close();
  backend.close();
});

describe('InfluxDB fake through the real client', () => {
  it('creates a bucket backed by a 1.8 database, a write token scoped to it, and proxies writes and queries', async () => {
    const org = (await op.findOrg('cdm'))!;
    const bucket = await op.createBucket({ orgID: org.id, name: 'acme', retentionSeconds: 3600 * 24 * 30 });
    expect(seen.some((s) => s.url?.includes(encodeURIComponent(`CREATE DATABASE "${dbOf(bucket.id)}"`)))).toBe(true);
    const auth = await op.createAuthorization({ orgID: org.id, description: 'acme devices', permissions: [{ action: 'write', resource: { type: 'buckets', id: bucket.id, orgID: org.id } }] });
    const device = new InfluxClient({ baseURL: url, token: auth.token!, retries: 0 });
    await device.write('cdm', 'acme', ['health,device=d1 battery=80i 1700000000000']);
    const w = seen.find((s) => s.url?.startsWith('/api/v2/write'))!;
    expect(w.url).toContain(`bucket=${encodeURIComponent(`${dbOf(bucket.id)}/autogen`)}`);
    expect(w.body).toBe('health,device=d1 battery=80i 1700000000000');
    // Over 1 KB the client gzips the body; the backend gets it inflated.
    const many = Array.from({ length: 100 }, (_, i) => `health,device=d${i} battery=80i 1700000000000`);
    await device.write('cdm', 'acme', many);
    expect(seen.filter((s) => s.url?.startsWith('/api/v2/write')).at(-1)!.body).toBe(many.join('\n'));
    const rows = await op.query<{ _value: number }>('cdm', 'from(bucket: "acme") |> range(start: -1h)');
    expect(rows[0]?._value).toBe(42);
    expect(JSON.parse(seen.find((s) => s.url?.startsWith('/api/v2/query'))!.body).query).toContain(`from(bucket: "${dbOf(bucket.id)}/autogen")`);
  });

  it('enforces token permissions: a write-only token cannot read, another bucket is out of reach, bad tokens get 401', async () => {
    const org = (await op.findOrg('cdm'))!;
    const beta = await op.createBucket({ orgID: org.id, name: 'beta' });
    const acme = (await op.findBucket(org.id, 'acme'))!;
    const auth = await op.createAuthorization({ orgID: org.id, description: 'acme devices', permissions: [{ action: 'write', resource: { type: 'buckets', id: acme.id, orgID: org.id } }] });
    const device = new InfluxClient({ baseURL: url, token: auth.token!, retries: 0 });
    await expect(device.write('cdm', 'beta', ['m v=1'])).rejects.toThrow(/HTTP 403/);
    await expect(device.query('cdm', 'from(bucket: "acme") |> range(start: -1h)')).rejects.toThrow(/could not find bucket/);
    await expect(device.listBuckets(org.id)).resolves.toEqual([]);
    expect(beta.name).toBe('beta');
    const nobody = new InfluxClient({ baseURL: url, token: 'wrong', retries: 0 });
    await expect(nobody.ping()).rejects.toThrow(/HTTP 401/);
    await op.setAuthorizationStatus(auth.id, 'inactive');
    await expect(device.write('cdm', 'acme', ['m v=1'])).rejects.toThrow(/HTTP 401/);
  });
});

describe('InfluxDB fake rejects requests that violate the spec', () => {
  const post = (path: string, body: unknown, type = 'application/json') =>
    fetch(`${url}${path}`, { method: 'POST', headers: { Authorization: `Token ${OPERATOR_TOKEN}`, 'Content-Type': type }, body: typeof body === 'string' ? body : JSON.stringify(body) });

  it('400 for a bucket without a name, a write without bucket, an unknown precision; 415 for a JSON write', async () => {
    expect((await post('/api/v2/buckets', { orgID: 'x' })).status).toBe(400);
    expect((await post('/api/v2/write?org=cdm', 'm v=1', 'text/plain')).status).toBe(400);
    expect((await post('/api/v2/write?org=cdm&bucket=acme&precision=minutes', 'm v=1', 'text/plain')).status).toBe(400);
    expect((await post('/api/v2/write?org=cdm&bucket=acme', { m: 1 })).status).toBe(415);
    const body = (await (await post('/api/v2/buckets', { orgID: 'x' })).json()) as { code: string; message: string };
    expect(body.code).toBe('invalid');
    expect(body.message).toContain("must have required property 'name'");
  });
});
