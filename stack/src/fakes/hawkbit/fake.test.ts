import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Server } from 'node:http';
import { HawkbitClient, HawkbitDdiClient, UpstreamError, type MgmtRolloutCreate } from '@cdm/common';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { listen } from '../server.ts';
import { createHawkbitFake } from './fake.ts';
import { parseFiql } from './fiql.ts';

let server: Server;
let url: string;
let hb: HawkbitClient;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hb-fake-'));
const auth = `Basic ${Buffer.from('admin:admin').toString('base64')}`;
const mgmt = (p: string, init: RequestInit = {}) => fetch(`${url}${p}`, { ...init, headers: { Authorization: auth, 'Content-Type': 'application/json', ...init.headers } });
const ddi = (id: string, token: string) => new HawkbitDdiClient({ baseURL: url, controllerId: id, securityToken: token, retries: 0 });

let fake: ReturnType<typeof createHawkbitFake>;
beforeAll(async () => {
  fake = createHawkbitFake({ schedulerMs: 25 });
  ({ server, url } = await listen(fake.app));
  hb = new HawkbitClient({ baseURL: url, username: 'admin', password: 'admin', retries: 0, pageSize: 2 });
});
afterAll(() => {
  fake.stop();
  server.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});
beforeEach(async () => {
  await fetch(`${url}/__fake/reset`, { method: 'POST' });
});

/** An OS module with one artifact in an "os" set, and targets whose tokens the DDI API accepts. */
async function release(ids: string[], bytes = crypto.randomBytes(300_000)) {
  await hb.setConfig('authentication.targettoken.enabled', true);
  const file = path.join(tmp, `fw-${crypto.randomUUID()}.bin`);
  fs.writeFileSync(file, bytes);
  const sm = await hb.createSoftwareModule({ name: 'fw', version: '1.0.0', type: 'os', vendor: 'cdm' });
  const sha256 = crypto.createHash('sha256').update(bytes).digest('hex');
  const art = await hb.uploadArtifact(sm.id, file, { filename: 'fw.bin', sha256 });
  const ds = await hb.createDistributionSet({ name: 'fw', version: '1.0.0', type: 'os', modules: [{ id: sm.id }] });
  const targets = await hb.createTargets(ids.map((id) => ({ controllerId: id, name: id })));
  return { bytes, sha256, sm, art, ds, tokens: Object.fromEntries(targets.map((t) => [t.controllerId, t.securityToken!])) };
}

/** Waits for what hawkBit's rollout scheduler does on its next runs (every 25 ms here). */
async function until<T>(read: () => Promise<T>, ok: (v: T) => boolean): Promise<T> {
  for (const deadline = Date.now() + 5000; ; await new Promise((r) => setTimeout(r, 10))) {
    const v = await read();
    if (ok(v) || Date.now() > deadline) return v;
  }
}
const rolloutStatus = async (id: number) => (await hb.getRollout(id))?.status;
const eventually = (id: number, status: string) =>
  until(
    () => rolloutStatus(id),
    (s) => s === status,
  );

async function startedRollout(body: MgmtRolloutCreate) {
  const r = await hb.createRollout(body);
  expect(r.status).toBe('creating');
  expect(await eventually(r.id, 'ready')).toBe('ready');
  await hb.startRollout(r.id);
  expect(await eventually(r.id, 'running')).toBe('running');
  return r;
}

describe('hawkBit fake management API through the real client', () => {
  it('creates, pages with FIQL, updates and deletes targets', async () => {
    await hb.createTargets(['dev-1', 'dev-2', 'dev-3', 'other-1'].map((id) => ({ controllerId: id, name: id })));
    expect((await hb.listTargets({ q: 'controllerId==dev-*', sort: 'controllerId:DESC' })).map((t) => t.controllerId)).toEqual(['dev-3', 'dev-2', 'dev-1']);
    // A target made through the API is "unknown" until its device polls (JpaTargetCreate).
    expect((await hb.getTarget('dev-1'))?.updateStatus).toBe('unknown');
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
    // An unknown key is InvalidTenantConfigurationKeyException, which hawkBit maps to 400.
    await expect(hb.setConfig('no.such.key', true)).rejects.toThrow(/HTTP 400/);
  });

  it('keeps modules, artifacts (checksums, download) and sets; locks what was assigned', async () => {
    const { bytes, sha256, sm, art, ds } = await release(['dev-1']);
    expect(art).toMatchObject({ providedFilename: 'fw.bin', size: bytes.length, hashes: { sha256 } });
    expect(await hb.findSoftwareModule('fw', '1.0.0')).toMatchObject({ id: sm.id, type: 'os' });
    const dl = await mgmt(`/rest/v1/softwaremodules/${sm.id}/artifacts/${art.id}/download`);
    expect(Buffer.from(await dl.arrayBuffer()).equals(bytes)).toBe(true);
    expect(ds).toMatchObject({ complete: true, locked: false, modules: [{ id: sm.id }] });
    expect((await hb.findDistributionSet('fw', '1.0.0'))?.id).toBe(ds.id);
    const file = path.join(tmp, 'again.bin');
    fs.writeFileSync(file, bytes);
    await expect(hb.uploadArtifact(sm.id, file, { filename: 'fw.bin' })).rejects.toThrow(/HTTP 409/);
    await expect(hb.uploadArtifact(sm.id, file, { filename: 'x.bin', sha256: '00'.repeat(32) })).rejects.toThrow(/HTTP 400.*SHA256/);
    const assign = await mgmt(`/rest/v1/distributionsets/${ds.id}/assignedTargets`, { method: 'POST', body: JSON.stringify([{ id: 'dev-1', type: 'soft' }]) });
    expect(await assign.json()).toMatchObject({ assigned: 1, alreadyAssigned: 0, total: 1 });
    expect(await hb.getDistributionSet(ds.id)).toMatchObject({ locked: true });
    expect((await hb.getAssignedDistributionSet('dev-1'))?.id).toBe(ds.id);
    expect((await hb.getTarget('dev-1'))?.updateStatus).toBe('pending');
    expect((await mgmt(`/rest/v1/distributionsets/${ds.id}/assignedSM`, { method: 'POST', body: JSON.stringify([{ id: sm.id }]) })).status).toBe(423);
  });
});

describe('hawkBit fake OTA through DDI', () => {
  it('rollout → poll → deploymentBase → download → proceeding → success → rollout finished', async () => {
    const { bytes, sha256, ds, tokens } = await release(['ota-1']);
    const r = await startedRollout({ name: 'r1', distributionSetId: ds.id, targetFilterQuery: 'controllerId==ota-*', amountGroups: 1 });
    const dev = ddi('ota-1', tokens['ota-1']!);

    const poll = await dev.poll();
    expect(poll).toMatchObject({ sleepMs: 300_000, configDataRequested: true });
    expect(poll.deploymentActionId).toBeGreaterThan(0);
    await dev.putConfigData({ hw: 'rev-b', fw: '0.9.0' });
    expect(await hb.getTargetAttributes('ota-1')).toEqual({ hw: 'rev-b', fw: '0.9.0' });
    expect((await hb.getTarget('ota-1'))?.updateStatus).toBe('pending');

    const base = (await dev.getDeploymentBase(poll.deploymentActionId!))!;
    expect(base.deployment).toMatchObject({ download: 'forced', update: 'forced' });
    const artifact = base.deployment.chunks[0]!.artifacts![0]!;
    expect(artifact).toMatchObject({ filename: 'fw.bin', size: bytes.length, hashes: { sha256 } });
    const got = await dev.downloadArtifact(artifact, path.join(tmp, 'ota-1', 'fw.bin'));
    expect(got?.sha256).toBe(sha256);
    expect(fs.readFileSync(got!.path).equals(bytes)).toBe(true);

    expect(await dev.sendFeedback(poll.deploymentActionId!, { execution: 'proceeding', finished: 'none', progress: { cnt: 1, of: 2 }, details: ['installing'] })).toBe(true);
    expect((await hb.getRollout(r.id))?.totalTargetsPerStatus).toMatchObject({ running: 1, finished: 0 });
    expect(await dev.sendFeedback(poll.deploymentActionId!, { execution: 'closed', finished: 'success', code: 0 })).toBe(true);

    expect(await eventually(r.id, 'finished')).toBe('finished');
    expect(await hb.getRollout(r.id)).toMatchObject({ status: 'finished', totalTargetsPerStatus: { finished: 1, running: 0 } });
    const [action] = await hb.targetActions('ota-1');
    expect(action).toMatchObject({ id: poll.deploymentActionId, status: 'finished', active: false, rollout: r.id, lastStatusCode: 0 });
    const history = (await hb.actionStatuses('ota-1', action!.id, 20))!.content.map((s) => s.type);
    expect(history.slice(0, 2)).toEqual(['finished', 'running']);
    expect(history).toContain('download');
    expect((await hb.getTarget('ota-1'))?.updateStatus).toBe('in_sync');
    expect((await hb.getInstalledDistributionSet('ota-1'))?.id).toBe(ds.id);

    const after = await dev.poll();
    expect(after.deploymentActionId).toBeUndefined();
    expect(after.installedActionId).toBe(action!.id);
    expect(await dev.sendFeedback(action!.id, { execution: 'closed', finished: 'success' })).toBe(false); // 410: closed
    expect(await violations()).toEqual([]);
  });

  it('failure: the action and target turn to error and the rollout pauses until resumed', async () => {
    const { ds, tokens } = await release(['bad-1']);
    const r = await startedRollout({ name: 'r-bad', distributionSetId: ds.id, targetFilterQuery: 'name==bad-1' });
    const dev = ddi('bad-1', tokens['bad-1']!);
    const id = (await dev.poll()).deploymentActionId!;
    await dev.sendFeedback(id, { execution: 'closed', finished: 'failure', details: ['signature check failed'], code: 42 });
    expect((await hb.targetActions('bad-1'))[0]).toMatchObject({ status: 'error', active: false, lastStatusCode: 42 });
    expect((await hb.getTarget('bad-1'))?.updateStatus).toBe('error');
    expect(await eventually(r.id, 'paused')).toBe('paused');
    expect((await hb.rolloutGroups(r.id))[0]).toMatchObject({ status: 'error', totalTargetsPerStatus: { error: 1 } });
    await hb.resumeRollout(r.id);
    expect(await eventually(r.id, 'finished')).toBe('finished');
    expect(await violations()).toEqual([]);
  });

  it('two groups: the second starts once the first reaches its success threshold', async () => {
    const { ds, tokens } = await release(['g-1', 'g-2', 'g-3', 'g-4']);
    const r = await startedRollout({ name: 'r-2', distributionSetId: ds.id, targetFilterQuery: 'controllerId==g-*', amountGroups: 2, successCondition: { condition: 'THRESHOLD', expression: '50' } });
    const groups = await hb.rolloutGroups(r.id);
    expect(groups.map((g) => [g.status, g.totalTargets])).toEqual([
      ['running', 2],
      ['scheduled', 2],
    ]);
    const first = await hb.rolloutGroupTargets(r.id, groups[0]!.id);
    const dev = ddi(first[0]!.controllerId, tokens[first[0]!.controllerId]!);
    await dev.sendFeedback((await dev.poll()).deploymentActionId!, { execution: 'closed', finished: 'success' });
    expect(
      (
        await until(
          () => hb.rolloutGroups(r.id),
          (gs) => gs[1]?.status === 'running',
        )
      ).map((g) => g.status),
    ).toEqual(['running', 'running']);
    const second = await hb.rolloutGroupTargets(r.id, groups[1]!.id);
    expect((await ddi(second[0]!.controllerId, tokens[second[0]!.controllerId]!).poll()).deploymentActionId).toBeGreaterThan(0);
  });

  it('cancel: the device sees cancelAction and confirms it', async () => {
    const { ds, tokens } = await release(['c-1']);
    await mgmt(`/rest/v1/targets/c-1/assignedDS`, { method: 'POST', body: JSON.stringify([{ id: ds.id, type: 'soft' }]) });
    const dev = ddi('c-1', tokens['c-1']!);
    const id = (await dev.poll()).deploymentActionId!;
    expect((await dev.getDeploymentBase(id))?.deployment).toMatchObject({ download: 'attempt', update: 'attempt' });
    expect((await mgmt(`/rest/v1/targets/c-1/actions/${id}`, { method: 'DELETE' })).status).toBe(204);
    const poll = await dev.poll();
    expect(poll).toMatchObject({ cancelActionId: id, deploymentActionId: undefined });
    expect(await dev.getDeploymentBase(id)).toBeUndefined();
    expect(await dev.getCancelAction(id)).toEqual({ id: String(id), cancelAction: { stopId: String(id) } });
    await dev.sendCancelFeedback(id, { execution: 'closed', finished: 'success' });
    expect((await hb.targetActions('c-1'))[0]).toMatchObject({ type: 'cancel', status: 'canceled', active: false });
    expect((await dev.poll()).cancelActionId).toBeUndefined();
    expect(await violations()).toEqual([]);
  });

  it('rollout verbs: approval when enabled, pause and resume, illegal states are 400', async () => {
    const { ds } = await release(['v-1', 'v-2']);
    await hb.setConfig('rollout.approval.enabled', true);
    const r = await hb.createRollout({ name: 'r-v', distributionSetId: ds.id, targetFilterQuery: 'controllerId==v-*', amountGroups: 2 });
    expect(await eventually(r.id, 'waiting_for_approval')).toBe('waiting_for_approval');
    await expect(hb.startRollout(r.id)).rejects.toThrow(/HTTP 400.*state ready/);
    expect((await mgmt(`/rest/v1/rollouts/${r.id}/approve?remark=ok`, { method: 'POST' })).status).toBe(204);
    expect(await hb.getRollout(r.id)).toMatchObject({ status: 'ready', approvalRemark: 'ok', approveDecidedBy: 'admin' });
    await hb.startRollout(r.id);
    expect(await eventually(r.id, 'running')).toBe('running');
    await hb.pauseRollout(r.id);
    expect((await hb.getRollout(r.id))?.status).toBe('paused');
    await expect(hb.pauseRollout(r.id)).rejects.toThrow(/HTTP 400/);
    await hb.resumeRollout(r.id);
    expect((await hb.listRollouts({ q: 'name==r-v' })).map((x) => x.status)).toEqual(['running']);
    expect((await mgmt(`/rest/v1/rollouts/${r.id}/triggerNextGroup`, { method: 'POST' })).status).toBe(204);
    expect(
      (
        await until(
          () => hb.rolloutGroups(r.id),
          (gs) => gs[1]?.status === 'running',
        )
      ).map((g) => g.status),
    ).toEqual(['running', 'running']);
  });

  it('a gateway token polls for a device hawkBit does not know yet and registers it', async () => {
    await hb.setConfig('authentication.gatewaytoken.enabled', true);
    await hb.setConfig('authentication.gatewaytoken.key', 'gw-secret');
    const gw = new HawkbitDdiClient({ baseURL: url, controllerId: 'pnp-1', gatewayToken: 'gw-secret', retries: 0 });
    expect((await gw.poll()).configDataRequested).toBe(true);
    expect(await hb.getTarget('pnp-1')).toMatchObject({ updateStatus: 'registered', description: 'Plug and Play target: pnp-1' });
  });
});

describe('hawkBit fake rejects requests that violate the spec', () => {
  const feedback = { status: { execution: 'closed', result: { finished: 'success' } } };
  it('management: 401 without credentials, 400 for bad bodies and FIQL', async () => {
    expect((await fetch(`${url}/rest/v1/targets`)).status).toBe(401);
    const post = (body: unknown) => mgmt('/rest/v1/targets', { method: 'POST', body: JSON.stringify(body) });
    expect((await post([{ name: 'x' }])).status).toBe(400);
    expect((await post({ controllerId: 'x', name: 'x' })).status).toBe(400);
    expect((await mgmt('/rest/v1/targets?q=name%3D%3Dx%20AND')).status).toBe(400);
    expect((await mgmt('/rest/v1/targets?limit=ten')).status).toBe(400);
    expect((await mgmt('/rest/v1/rollouts', { method: 'POST', body: JSON.stringify({ name: 'r', distributionSetId: 1 }) })).status).toBe(400);
    expect((await mgmt('/rest/v1/softwaremodules/1/artifacts', { method: 'POST', body: '{}' })).status).toBe(415);
  });

  it('DDI: 401 without or with a wrong/disabled token or another tenant', async () => {
    const { tokens } = await release(['d-1']);
    const root = (headers: Record<string, string>, tenant = 'DEFAULT') => fetch(`${url}/${tenant}/controller/v1/d-1`, { headers });
    expect((await root({})).status).toBe(401);
    expect((await root({ Authorization: 'TargetToken wrong' })).status).toBe(401);
    expect((await root({ Authorization: auth })).status).toBe(401);
    expect((await root({ Authorization: `TargetToken ${tokens['d-1']}` }, 'OTHER')).status).toBe(401);
    expect((await root({ Authorization: `TargetToken ${tokens['d-1']}` })).status).toBe(200);
    await hb.setConfig('authentication.targettoken.enabled', false);
    const err = await ddi('d-1', tokens['d-1']!)
      .poll()
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UpstreamError);
    expect((err as UpstreamError).status).toBe(401);
    expect((err as Error).message).not.toContain(tokens['d-1']);
  });

  it('DDI: 400 for bodies outside the spec, 404/405 for unknown paths and methods, 415 for non-JSON', async () => {
    const { tokens } = await release(['d-2']);
    const h = { Authorization: `TargetToken ${tokens['d-2']}`, 'Content-Type': 'application/json' };
    const at = (p: string, init: RequestInit = {}) => fetch(`${url}/DEFAULT/controller/v1/d-2${p}`, { ...init, headers: { ...h, ...init.headers } });
    expect((await at('/deploymentBase/1/feedback', { method: 'POST', body: JSON.stringify({ status: { execution: 'done', result: { finished: 'success' } } }) })).status).toBe(400);
    expect((await at('/deploymentBase/1/feedback', { method: 'POST', body: JSON.stringify({ status: { execution: 'closed' } }) })).status).toBe(400);
    expect((await at('/deploymentBase/x/feedback', { method: 'POST', body: JSON.stringify(feedback) })).status).toBe(400);
    expect((await at('/deploymentBase/1/feedback', { method: 'POST', body: 'closed', headers: { 'Content-Type': 'text/plain' } })).status).toBe(415);
    expect((await at('/configData', { method: 'PUT', body: JSON.stringify({ data: { n: 1 } }) })).status).toBe(400);
    expect((await at('/deploymentBase/999/feedback', { method: 'POST', body: JSON.stringify(feedback) })).status).toBe(404);
    expect((await at('/nope')).status).toBe(404);
    expect((await at('', { method: 'DELETE' })).status).toBe(405);
    expect(await violations()).toEqual([]);
  });

  it('answers 501 for spec operations the fake does not implement', async () => {
    expect((await mgmt('/rest/v1/targettags')).status).toBe(501);
  });
});

describe('parseFiql', () => {
  it('supports ==, wildcards, comparisons, and/or, nested fields; refuses grouping', () => {
    const e = { controllerId: 'dev-7', lastModifiedAt: 100, attribute: { hw: 'rev-b' } };
    expect(parseFiql('controllerId==dev-*;lastModifiedAt=gt=50')(e)).toBe(true);
    expect(parseFiql('controllerId==x,lastModifiedAt=le=100')(e)).toBe(true);
    expect(parseFiql('controllerId!=dev-7')(e)).toBe(false);
    expect(parseFiql('attribute.hw==rev-*')(e)).toBe(true);
    expect(() => parseFiql('(a==b)')).toThrow(/parentheses/);
  });

  it('supports =in= and =out= value lists, alone and joined', () => {
    const e = { id: 7, active: true };
    expect(parseFiql('id=in=(3,7,9)')(e)).toBe(true);
    expect(parseFiql('id=in=(3,9)')(e)).toBe(false);
    expect(parseFiql('id=out=(3,9);active==true')(e)).toBe(true);
    expect(parseFiql('active==false,id=in=(7)')(e)).toBe(true);
    expect(() => parseFiql('id=in=(1,2);(active==true)')).toThrow(/parentheses/);
  });
});

async function violations(): Promise<string[]> {
  return ((await (await fetch(`${url}/__fake/requests`)).json()) as { violations: string[] }).violations;
}
