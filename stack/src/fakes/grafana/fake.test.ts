import type { Server } from 'node:http';
import { GrafanaClient } from '@cdm/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listen } from '../server.ts';
import { createGrafanaFake } from './fake.ts';

let server: Server;
let url: string;
let admin: GrafanaClient;
beforeAll(async () => {
  ({ server, url } = await listen(createGrafanaFake().app));
  admin = new GrafanaClient({ baseURL: url, username: 'admin', password: 'admin', retries: 0 });
});
afterAll(() => server.close());

describe('Grafana fake through the real client', () => {
  it('org → user → datasource → folder → dashboard → alert rule', async () => {
    const orgId = await admin.createOrg('acme');
    expect((await admin.getOrgByName('acme'))?.id).toBe(orgId);
    const userId = await admin.createUser({ login: 'alice', email: 'alice@acme.example', password: 'x-dev-pw' });
    await admin.addOrgUser(orgId, 'alice', 'Editor');
    expect((await admin.orgUsers(orgId)).find((u) => u.userId === userId)?.role).toBe('Editor');
    const ds = await admin.createDataSource(orgId, {
      name: 'influxdb-acme',
      type: 'influxdb',
      url: 'http://influx:8086',
      jsonData: { version: 'Flux', organization: 'cdm', defaultBucket: 'acme' },
      secureJsonData: { token: 't0k' },
    });
    const read = await admin.getDataSourceByName(orgId, 'influxdb-acme');
    expect(read?.uid).toBe(ds.uid);
    expect(JSON.stringify(read)).not.toContain('t0k'); // secrets are write-only
    await admin.createFolder(orgId, 'cdm', 'cdm');
    const saved = await admin.saveDashboard(orgId, { uid: 'fleet', title: 'Fleet Health', panels: [] }, { folderUid: 'cdm' });
    expect(saved.version).toBe(1);
    expect((await admin.saveDashboard(orgId, { uid: 'fleet', title: 'Fleet Health', panels: [] }, { folderUid: 'cdm' })).version).toBe(2);
    const rule = await admin.createAlertRule(orgId, {
      orgID: orgId,
      folderUID: 'cdm',
      ruleGroup: 'fleet',
      title: 'battery low',
      condition: 'C',
      data: [],
      noDataState: 'OK',
      execErrState: 'Error',
      for: '5m',
    });
    expect((await admin.listAlertRules(orgId)).map((r) => r.uid)).toEqual([rule.uid]);
    // Org-scoped data stays in its org.
    expect(await admin.listDataSources(1)).toEqual([]);
  });

  it('contact points and the policy tree: a tree naming an unknown receiver is refused, and so is removing the last webhook of one it names', async () => {
    const orgId = await admin.createOrg('routes');
    expect((await admin.getPolicyTree(orgId)).receiver).toBe('grafana-default-email');
    await expect(admin.putPolicyTree(orgId, { receiver: 'cdm operators' })).rejects.toThrow(/receiver 'cdm operators' does not exist/);
    const a = await admin.createContactPoint(orgId, { name: 'cdm operators', type: 'webhook', settings: { url: 'http://hooks.example/a' } });
    const b = await admin.createContactPoint(orgId, { name: 'cdm operators', type: 'webhook', settings: { url: 'http://hooks.example/b' } });
    await admin.putPolicyTree(orgId, { receiver: 'cdm operators', routes: [{ receiver: 'cdm operators', object_matchers: [['severity', '=', 'critical']], continue: true }] });
    await admin.deleteContactPoint(orgId, a.uid!);
    await expect(admin.deleteContactPoint(orgId, b.uid!)).rejects.toThrow(/used by a notification policy/);
    expect((await admin.listContactPoints(orgId)).map((c) => c.settings.url)).toEqual(['http://hooks.example/b']);
    // Another org sees none of it.
    expect(await admin.listContactPoints(1)).toEqual([]);
  });

  it('refuses a stale dashboard version without overwrite (412) and unknown users (404 → undefined)', async () => {
    const orgId = await admin.createOrg('beta');
    await admin.saveDashboard(orgId, { uid: 'd', title: 'D' });
    await expect(admin.saveDashboard(orgId, { uid: 'd', title: 'D', version: 0 }, { overwrite: false })).rejects.toThrow(/HTTP 412/);
    expect(await admin.lookupUser('nobody')).toBeUndefined();
  });
});

describe('Grafana fake rejects requests that violate the spec', () => {
  const basic = `Basic ${Buffer.from('admin:admin').toString('base64')}`;
  it('401 on bad credentials, 403 for a non-admin on admin APIs', async () => {
    const bad = new GrafanaClient({ baseURL: url, username: 'admin', password: 'nope', retries: 0 });
    await expect(bad.ping()).rejects.toThrow(/HTTP 401/);
    await admin.createUser({ login: 'eve', email: 'eve@example.com', password: 'eve-pw' });
    const eve = new GrafanaClient({ baseURL: url, username: 'eve', password: 'eve-pw', retries: 0 });
    await expect(eve.createUser({ login: 'x', email: 'x@example.com', password: 'p' })).rejects.toThrow(/HTTP 403/);
  });

  it('400 for an unknown enum value or a wrong type', async () => {
    const orgId = await admin.createOrg('gamma');
    const post = (path: string, body: unknown) => fetch(`${url}${path}`, { method: 'POST', headers: { Authorization: basic, 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
    expect((await post(`/api/orgs/${orgId}/users`, { loginOrEmail: 'admin', role: 'Owner' })).status).toBe(400);
    expect((await post('/api/orgs', { name: 7 })).status).toBe(400);
    expect((await post('/api/v1/provisioning/alert-rules', { title: 'no folder' })).status).toBe(400);
  });
});
