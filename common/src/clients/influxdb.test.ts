import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { http, HttpResponse } from 'msw';
import { describe, expect, it } from 'vitest';
import { UpstreamError } from '../errors.ts';
import { InfluxClient } from './influxdb.ts';
import { record, useMsw, type Recorded } from './testing.ts';

const base = 'http://influx.test';
const server = useMsw();
const client = () => new InfluxClient({ baseURL: base, token: 'op-token', retries: 1, pageSize: 2 });

describe('InfluxClient', () => {
  it('creates a bucket and a write-only token scoped to it', async () => {
    const seen: Recorded[] = [];
    server.use(
      http.post(`${base}/api/v2/buckets`, async ({ request }) => {
        seen.push(await record(request));
        return HttpResponse.json({ id: 'b1', name: 'acme', orgID: 'o1', retentionRules: [] }, { status: 201 });
      }),
      http.post(`${base}/api/v2/authorizations`, async ({ request }) => {
        seen.push(await record(request));
        return HttpResponse.json({ id: 'a1', token: 'tok', status: 'active' }, { status: 201 });
      }),
    );
    const c = client();
    const b = await c.createBucket({ orgID: 'o1', name: 'acme', retentionSeconds: 86400 * 30 });
    const a = await c.createAuthorization({
      orgID: 'o1',
      description: 'cdm devices acme',
      permissions: [{ action: 'write', resource: { type: 'buckets', id: b.id, orgID: 'o1' } }],
    });
    expect(a.token).toBe('tok');
    expect(seen[0]?.headers.get('authorization')).toBe('Token op-token');
    expect(seen[0]?.body).toEqual({ orgID: 'o1', name: 'acme', retentionRules: [{ type: 'expire', everySeconds: 2592000 }] });
    expect(seen[1]?.body).toMatchObject({ status: 'active', permissions: [{ action: 'write', resource: { type: 'buckets', id: 'b1' } }] });
  });

  it('lists buckets by offset pages', async () => {
    const offsets: string[] = [];
    server.use(
      http.get(`${base}/api/v2/buckets`, ({ request }) => {
        const off = new URL(request.url).searchParams.get('offset') ?? '';
        offsets.push(off);
        return HttpResponse.json({
          buckets:
            off === '0'
              ? [
                  { id: '1', name: 'a' },
                  { id: '2', name: 'b' },
                ]
              : [{ id: '3', name: 'c' }],
        });
      }),
    );
    expect((await client().listBuckets('o1')).map((b) => b.name)).toEqual(['a', 'b', 'c']);
    expect(offsets).toEqual(['0', '2']);
  });

  it('finds nothing when a bucket or org is absent (404 or empty list)', async () => {
    server.use(
      http.get(`${base}/api/v2/buckets`, () => HttpResponse.json({ buckets: [] })),
      http.get(`${base}/api/v2/orgs`, () => HttpResponse.json({ code: 'not found', message: 'organization name "x" not found' }, { status: 404 })),
    );
    expect(await client().findBucket('o1', 'nope')).toBeUndefined();
    expect(await client().findOrg('x')).toBeUndefined();
  });

  // @influxdata/influxdb-client binds node's http.request before msw can patch it, so the data
  // path is tested against a real local HTTP server instead.
  async function dataServer(handler: (req: IncomingMessage, body: string, res: ServerResponse) => void) {
    const srv = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => handler(req, body, res));
    });
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(srv.address() as AddressInfo).port}`;
    return { client: new InfluxClient({ baseURL: url, token: 'op-token', retries: 0 }), close: () => srv.close() };
  }

  it('writes line protocol with the token and flushes', async () => {
    let seen: { url: URL; auth?: string; body: string } | undefined;
    const s = await dataServer((req, body, res) => {
      seen = { url: new URL(req.url ?? '', 'http://x'), auth: req.headers.authorization, body };
      res.writeHead(204).end();
    });
    try {
      await s.client.write('cdm', 'acme', ['health,device=d1 battery=80i 1700000000000']);
    } finally {
      s.close();
    }
    expect(seen?.url.pathname).toBe('/api/v2/write');
    expect(seen?.url.searchParams.get('bucket')).toBe('acme');
    expect(seen?.url.searchParams.get('org')).toBe('cdm');
    expect(seen?.auth).toBe('Token op-token');
    expect(seen?.body).toBe('health,device=d1 battery=80i 1700000000000');
  });

  it('turns a rejected write (401) into an UpstreamError naming InfluxDB', async () => {
    const s = await dataServer((_req, _body, res) => {
      res.writeHead(401, { 'Content-Type': 'application/json' }).end(JSON.stringify({ code: 'unauthorized', message: 'unauthorized access' }));
    });
    const err = await s.client.write('cdm', 'acme', ['m v=1']).catch((e: unknown) => e);
    s.close();
    expect(err).toBeInstanceOf(UpstreamError);
    expect((err as Error).message).toMatch(/^InfluxDB: POST \/api\/v2\/write failed \(HTTP 401\): unauthorized access — check the InfluxDB credentials/);
  });

  it('queries Flux and returns rows', async () => {
    let query = '';
    const s = await dataServer((_req, body, res) => {
      query = (JSON.parse(body) as { query: string }).query;
      res
        .writeHead(200, { 'Content-Type': 'text/csv' })
        .end('#datatype,string,long,double,string\n#group,false,false,false,true\n#default,_result,,,\n,result,table,_value,_field\n,,0,80,battery\n\n');
    });
    const rows = await s.client.query<{ _value: number; _field: string }>('cdm', 'from(bucket: "acme") |> range(start: -1h)');
    s.close();
    expect(query).toContain('from(bucket: "acme")');
    expect(rows).toEqual([{ result: '_result', table: 0, _value: 80, _field: 'battery' }]);
  });

  it('retries 5xx on management reads, then fails', async () => {
    let n = 0;
    server.use(
      http.get(`${base}/api/v2/authorizations`, () => {
        n++;
        return HttpResponse.json({ code: 'internal error', message: 'oops' }, { status: 500 });
      }),
    );
    await expect(client().listAuthorizations('o1')).rejects.toThrow('InfluxDB: GET /api/v2/authorizations failed (HTTP 500): oops');
    expect(n).toBe(2);
  });
});
