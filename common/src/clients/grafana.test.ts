import { http, HttpResponse } from 'msw';
import { describe, expect, it } from 'vitest';
import { UpstreamError } from '../errors.ts';
import { GrafanaClient } from './grafana.ts';
import { record, useMsw, type Recorded } from './testing.ts';

const base = 'http://grafana.test';
const server = useMsw();
const client = () => new GrafanaClient({ baseURL: base, username: 'admin', password: 'adminpw', retries: 1, pageSize: 2 });

describe('GrafanaClient', () => {
  it('creates an org with basic auth and returns its id', async () => {
    let seen: Recorded | undefined;
    server.use(
      http.post(`${base}/api/orgs`, async ({ request }) => {
        seen = await record(request);
        return HttpResponse.json({ orgId: 7, message: 'Organization created' });
      }),
    );
    expect(await client().createOrg('acme')).toBe(7);
    expect(seen?.headers.get('authorization')).toBe(`Basic ${Buffer.from('admin:adminpw').toString('base64')}`);
    expect(seen?.body).toEqual({ name: 'acme' });
  });

  it('sends X-Grafana-Org-Id on org-scoped calls and the provenance header on alert rules', async () => {
    const seen: Recorded[] = [];
    server.use(
      http.post(`${base}/api/datasources`, async ({ request }) => {
        seen.push(await record(request));
        return HttpResponse.json({ datasource: { uid: 'ds1', name: 'influx', type: 'influxdb', url: 'http://i' }, id: 1, message: 'Datasource added', name: 'influx' });
      }),
      http.post(`${base}/api/v1/provisioning/alert-rules`, async ({ request }) => {
        seen.push(await record(request));
        return HttpResponse.json({ uid: 'r1' }, { status: 201 });
      }),
    );
    const g = client();
    const ds = await g.createDataSource(7, { name: 'influx', type: 'influxdb', url: 'http://i', secureJsonData: { token: 't' } });
    expect(ds.uid).toBe('ds1');
    await g.createAlertRule(7, {
      orgID: 7,
      folderUID: 'f',
      ruleGroup: 'g',
      title: 'battery',
      condition: 'C',
      data: [],
      noDataState: 'OK',
      execErrState: 'Error',
      for: '5m',
    });
    expect(seen.map((s) => s.headers.get('x-grafana-org-id'))).toEqual(['7', '7']);
    expect(seen[1]?.headers.get('x-disable-provenance')).toBe('true');
  });

  it('lists orgs by pages', async () => {
    const pages: string[] = [];
    server.use(
      http.get(`${base}/api/orgs`, ({ request }) => {
        const u = new URL(request.url);
        pages.push(`${u.searchParams.get('page')}/${u.searchParams.get('perpage')}`);
        return HttpResponse.json(
          u.searchParams.get('page') === '1'
            ? [
                { id: 1, name: 'Main Org.' },
                { id: 2, name: 'acme' },
              ]
            : [{ id: 3, name: 'beta' }],
        );
      }),
    );
    expect((await client().listOrgs()).map((o) => o.name)).toEqual(['Main Org.', 'acme', 'beta']);
    expect(pages).toEqual(['1/2', '2/2']);
  });

  it('returns undefined for a missing org or user', async () => {
    server.use(
      http.get(`${base}/api/orgs/name/nope`, () => HttpResponse.json({ message: 'Organization not found' }, { status: 404 })),
      http.get(`${base}/api/users/lookup`, () => HttpResponse.json({ message: 'user not found' }, { status: 404 })),
    );
    expect(await client().getOrgByName('nope')).toBeUndefined();
    expect(await client().lookupUser('ghost@example.com')).toBeUndefined();
  });

  it('names Grafana and the call on 401, without the password', async () => {
    server.use(http.get(`${base}/api/user`, () => HttpResponse.json({ message: 'invalid username or password' }, { status: 401 })));
    const err = await client()
      .ping()
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UpstreamError);
    expect((err as Error).message).toBe('Grafana: GET /api/user failed (HTTP 401): invalid username or password — check the Grafana credentials in the configuration');
  });

  it('retries 5xx on reads, then fails', async () => {
    let n = 0;
    server.use(
      http.get(`${base}/api/datasources`, () => {
        n++;
        return HttpResponse.json({ message: 'database is locked' }, { status: 500 });
      }),
    );
    await expect(client().listDataSources(1)).rejects.toThrow(/Grafana: GET \/api\/datasources failed \(HTTP 500\): database is locked/);
    expect(n).toBe(2);
  });
});
