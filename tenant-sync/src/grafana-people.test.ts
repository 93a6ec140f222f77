import type { Server } from 'node:http';
import { GrafanaClient } from '@cdm/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGrafanaFake } from '../../stack/src/fakes/grafana/fake.ts';
import { listen } from '../../stack/src/fakes/server.ts';
import { person, tenant } from './fixtures.test-helpers.ts';
import { GrafanaSync } from './grafana-sync.ts';

/**
 * People into Grafana orgs against the Grafana contract fake (requests and answers checked against
 * Grafana's OpenAPI spec): the users are listed once per pass, not looked up twice per person.
 */
let server: Server;
let grafana: GrafanaClient;
const calls: string[] = [];
const tokens = {
  activeReadTokens: async () => new Map<string, string[]>(),
  mintReadToken: async (cdmId: string) => ({ id: `r-${cdmId}`, token: 't', org: 'cdm', bucket: `cdm-${cdmId}` }),
  deleteToken: async () => undefined,
  readTokenIds: async () => [],
};

beforeAll(async () => {
  const r = await listen(createGrafanaFake().app);
  server = r.server;
  // A page of 2 so the listing pages; the observer sees every request the client sends.
  grafana = new GrafanaClient({ baseURL: r.url, username: 'admin', password: 'admin', retries: 0, pageSize: 2, observer: (e) => calls.push(`${e.method} ${e.url.split('?')[0]}`) });
  for (const u of ['old-1', 'old-2', 'old-3']) await grafana.createUser({ login: u, email: `${u}@example.com`, password: 'x-x-x-x-x-x' });
});
afterAll(() => server?.close());

describe('GrafanaSync people', () => {
  it('lists the users once for a first pass, creates a new person once though two tenants add them, and finds the existing by login or email', async () => {
    const shared = person('new-shared');
    const byEmail = person('renamed', { email: 'old-2@example.com' }); // Grafana knows them by email only
    const acme = tenant('p-acme', 'acme', { operators: [shared, person('old-1'), byEmail] });
    const globex = tenant('p-globex', 'globex', { admins: [shared], operators: [person('old-3')] });
    const sync = new GrafanaSync({ grafana, tokens, adminLogin: 'admin', influxUrl: 'http://influx:8086', influxOrg: 'cdm', dashboards: [] });
    const plan = sync.plan([acme, globex], await sync.read(), new Set());
    calls.length = 0;
    for (const cdmId of ['p-acme', 'p-globex'])
      await sync.apply(
        cdmId,
        plan.filter((a) => a.cdmId === cdmId),
      );
    expect(calls.filter((c) => c.includes('/users/lookup'))).toEqual([]);
    // admin + 3 users at 2 a page: two full pages and the empty one that ends the listing, once in the pass.
    expect(calls.filter((c) => c === 'GET /users/search')).toHaveLength(3);
    expect(calls.filter((c) => c === 'POST /admin/users')).toHaveLength(1);
    const members = async (name: string) => (await grafana.orgUsers((await grafana.getOrgByName(name))!.id)).map((u) => u.login).sort();
    expect(await members('acme')).toEqual(['admin', 'new-shared', 'old-1', 'old-2']);
    expect(await members('globex')).toEqual(['admin', 'new-shared', 'old-3']);
  });
});
