import crypto from 'node:crypto';
import fs from 'node:fs';
import type { Server } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { HawkbitClient, HawkbitDdiClient, UpstreamError } from '@cdm/common';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { listen } from '../server.ts';
import { createHawkbitFake } from './fake.ts';

/**
 * The hawkBit fake is a claim about hawkBit: the same scenario runs through cdm's clients against
 * the fake and against the real hawkBit of the local stack, and what a client can observe must be
 * the same. Each run names its own targets, so the real server's history does not matter.
 */
const stack = inject('stack');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hb-parity-'));
let fake: ReturnType<typeof createHawkbitFake>;
let server: Server;
let fakeUrl: string;

beforeAll(async () => {
  fake = createHawkbitFake(); // the scheduler every 2 s, as hawkBit's default
  ({ server, url: fakeUrl } = await listen(fake.app));
});
afterAll(() => {
  fake.stop();
  server.close();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until<T>(read: () => Promise<T>, ok: (v: T) => boolean, ms = 30_000): Promise<T> {
  for (const deadline = Date.now() + ms; ; await sleep(200)) {
    const v = await read();
    if (ok(v) || Date.now() > deadline) return v;
  }
}
const status = (e: unknown) => (e instanceof UpstreamError ? e.status : 'ok');

/** What a client sees of targets, actions, DDI and rollouts, with ids and times taken out. */
async function scenario(baseURL: string) {
  const run = crypto.randomBytes(3).toString('hex');
  const hb = new HawkbitClient({ baseURL, username: 'admin', password: 'admin', retries: 0 });
  const seen: Record<string, unknown> = {};
  const put = await fetch(`${baseURL}/rest/v1/system/configs/authentication.targettoken.enabled`, {
    method: 'PUT',
    headers: { Authorization: `Basic ${Buffer.from('admin:admin').toString('base64')}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ value: true }),
  });
  seen.putConfig = { status: put.status, body: (await put.text()) === '' ? 'empty' : 'json' };
  const ids = ['a', 'b', 'c', 'd'].map((x) => `par-${run}-${x}`);
  const targets = await hb.createTargets(ids.map((id) => ({ controllerId: id, name: id, description: `parity ${run}` })));
  const token = (id: string) => targets.find((t) => t.controllerId === id)!.securityToken!;
  const ddi = (id: string) => new HawkbitDdiClient({ baseURL, controllerId: id, securityToken: token(id), retries: 0 });
  seen.created = (await hb.getTarget(ids[0]!))?.updateStatus;
  await ddi(ids[0]!).poll();
  seen.afterPoll = (await hb.getTarget(ids[0]!))?.updateStatus;
  seen.missingTarget = await hb.getTarget(`par-${run}-none`);

  const file = path.join(tmp, `${run}.bin`);
  fs.writeFileSync(file, crypto.randomBytes(4096));
  const sm = await hb.createSoftwareModule({ name: `par-${run}`, version: '1.0.0', type: 'os' });
  await hb.uploadArtifact(sm.id, file, { filename: 'fw.bin' });
  const ds = await hb.createDistributionSet({ name: `par-${run}`, version: '1.0.0', type: 'os', modules: [{ id: sm.id }] });

  // A direct assignment, then a device's success: state changes, lastModifiedAt does not.
  await hb.assignDistributionSet(ids[0]!, ds.id, 'forced');
  const [assigned] = await hb.targetActions(ids[0]!);
  seen.assigned = { type: assigned?.type, status: assigned?.status, active: assigned?.active, target: (await hb.getTarget(ids[0]!))?.updateStatus };
  const t0 = assigned!.lastModifiedAt!;
  seen.activeCountAfterAssign = await hb.countActions(`active==true;target.controllerId==par-${run}-*`);
  const a = ddi(ids[0]!);
  const actionId = (await a.poll()).deploymentActionId!;
  await a.getDeploymentBase(actionId);
  await a.sendFeedback(actionId, { execution: 'proceeding', finished: 'none', details: ['downloading'] });
  seen.proceeding = (await hb.actionsByIds([actionId])).map((x) => ({ status: x.status, active: x.active }));
  await a.sendFeedback(actionId, { execution: 'closed', finished: 'success' });
  const [done] = await hb.actionsByIds([actionId]);
  seen.closed = {
    status: done?.status,
    active: done?.active,
    stampMoved: done?.lastModifiedAt !== t0,
    target: (await hb.getTarget(ids[0]!))?.updateStatus,
    installed: (await hb.getInstalledDistributionSet(ids[0]!))?.version,
  };
  seen.cursorSeesIt = (await hb.changedActions(t0 + 1)).some((x) => x.id === actionId);
  seen.activeCountAfterSuccess = await hb.countActions(`active==true;target.controllerId==par-${run}-*`);
  seen.feedbackOnClosed = await a.sendFeedback(actionId, { execution: 'closed', finished: 'success' });

  // A rollout: created and started asynchronously by the scheduler.
  const rollout = await hb.createRollout({
    name: `par-${run}`,
    distributionSetId: ds.id,
    targetFilterQuery: `description=="parity ${run}";controllerId!=${ids[0]}`,
    groups: [50, 50].map((p, i) => ({
      name: `g${i + 1}`,
      targetPercentage: p,
      successCondition: { condition: 'THRESHOLD', expression: '50' },
      successAction: { action: 'NEXTGROUP', expression: '' },
      errorCondition: { condition: 'THRESHOLD', expression: '60' },
      errorAction: { action: 'PAUSE', expression: '' },
    })),
  });
  seen.rolloutCreated = rollout.status;
  seen.rolloutReady = await until(
    async () => (await hb.getRollout(rollout.id))?.status,
    (s) => s === 'ready',
  );
  await hb.startRollout(rollout.id);
  seen.rolloutRunning = await until(
    async () => (await hb.getRollout(rollout.id))?.status,
    (s) => s === 'running',
  );
  const groups = await hb.rolloutGroups(rollout.id);
  seen.groups = groups.map((g) => [g.status, g.totalTargets]);
  const first = (await hb.rolloutGroupTargets(rollout.id, groups[0]!.id)).map((t) => t.controllerId);
  const d = ddi(first[0]!);
  const failed = (await d.poll()).deploymentActionId!;
  await d.sendFeedback(failed, { execution: 'closed', finished: 'failure', details: ['rauc: signature check failed'] });
  const [f] = await hb.actionsByIds([failed]);
  seen.failure = {
    status: f?.status,
    active: f?.active,
    target: (await hb.getTarget(first[0]!))?.updateStatus,
    messages: ((await hb.actionStatuses(first[0]!, failed, 5))?.content ?? []).flatMap((s) => s.messages ?? []).filter((m) => m.startsWith('rauc')),
  };
  // 1 of 1 started devices failed (> 60 %): hawkBit's error action pauses the rollout.
  seen.afterFailure = await until(
    async () => (await hb.getRollout(rollout.id))?.status,
    (s) => s === 'paused',
  );
  seen.pauseWhilePaused = await hb.pauseRollout(rollout.id).then(() => 'ok', status);
  await hb.resumeRollout(rollout.id);
  seen.resumed = await until(
    async () => (await hb.getRollout(rollout.id))?.status,
    (s) => s !== 'paused',
  );
  seen.activeInRollout = (await hb.countActions(`active==true;rollout.id==${rollout.id}`)) > 0;
  // Leave nothing running on the stack's hawkBit (an ota-bridge there would keep reporting it).
  await hb.deleteRollout(rollout.id).catch(() => undefined);
  for (const id of ids) await hb.deleteTarget(id).catch(() => undefined);
  return seen;
}

describe('hawkBit fake and real hawkBit agree', () => {
  it('on targets, DDI feedback, the action fields mirrors read, rollout states and errors', async () => {
    const [onFake, onReal] = await Promise.all([scenario(fakeUrl), scenario(stack.hawkbit!.url)]);
    expect(onReal).toMatchObject({
      // the facts ota-bridge's change detection rests on
      closed: { status: 'finished', active: false, stampMoved: false, target: 'in_sync', installed: '1.0.0' },
      cursorSeesIt: false,
      rolloutCreated: 'creating',
    });
    expect(onFake).toEqual(onReal);
  });
});
