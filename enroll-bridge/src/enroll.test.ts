import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createLogger, UpstreamError } from '@cdm/common';
import { createClaim } from './claims.ts';
import { Enroller } from './enroll.ts';
import { Refused, StepFailed } from './errors.ts';
import { httpAnswer } from './http-answer.ts';
import { Store, type Step } from './store.ts';
import type { Upstreams } from './steps.ts';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'enroller-'));
const openssl = (args: string[], input?: string) => execFileSync('openssl', args, { input, encoding: 'utf8', stdio: ['pipe', 'pipe', 'ignore'] });
const EC_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
openssl(['req', '-x509', ...EC_KEY, '-keyout', path.join(tmp, 'ca.key'), '-out', path.join(tmp, 'ca.pem'), '-subj', '/CN=test CA', '-days', '2']);

/** A CSR as enroll.sh makes one: a fresh challengePassword in each, so no two are the same bytes. */
function csr(id: string, key = path.join(tmp, `${id}.key`)): string {
  const conf = path.join(tmp, 'req.cnf');
  fs.writeFileSync(conf, `[req]\nprompt = no\ndistinguished_name = dn\nattributes = attrs\n[dn]\nCN = ${id}\n[attrs]\nchallengePassword = ${crypto.randomUUID()}\n`);
  const keyArgs = fs.existsSync(key) ? ['-key', key] : [...EC_KEY, '-keyout', key];
  return openssl(['req', '-new', ...keyArgs, '-config', conf]);
}
const wgKey = () => crypto.randomBytes(32).toString('base64');

/**
 * Upstreams in memory: what each holds, every call in order, and a switch to make one step's
 * upstream fail — the saga's decisions tested without servers (the e2e tests run the real ones).
 */
function upstreams() {
  const calls: string[] = [];
  const failing = new Set<string>();
  const held = { certs: new Set<string>(), revoked: new Set<string>(), tb: new Set<string>(), targets: new Map<string, { description: string; securityToken: string }>(), peers: new Set<string>() };
  const call = (name: string) => {
    calls.push(name);
    if (failing.has(name)) throw new UpstreamError(name.split('.')[0]!, name, 503, 'down for the test');
  };
  let serial = 1;
  const u = {
    stepca: {
      sign: async (pem: string) => {
        call('stepca.sign');
        fs.writeFileSync(path.join(tmp, 'req.pem'), pem);
        const crt = openssl(['x509', '-req', '-in', path.join(tmp, 'req.pem'), '-CA', path.join(tmp, 'ca.pem'), '-CAkey', path.join(tmp, 'ca.key'), '-days', '1', '-set_serial', String(serial++)]);
        held.certs.add(String(serial - 1));
        return { crt, certChain: [crt, fs.readFileSync(path.join(tmp, 'ca.pem'), 'utf8')] };
      },
      revoke: async (s: string) => {
        call('stepca.revoke');
        held.revoked.add(s);
      },
    },
    thingsboard: {
      ensure: async (_t: string, id: string) => {
        call('thingsboard.ensure');
        held.tb.add(id);
        return `tb-${id}`;
      },
      remove: async (_t: string, id: string) => {
        call('thingsboard.remove');
        held.tb.delete(id);
      },
    },
    hawkbit: {
      getTarget: async (id: string) => (call('hawkbit.getTarget'), held.targets.get(id)),
      createTargets: async (ts: { controllerId: string; description: string }[]) => {
        call('hawkbit.createTargets');
        return ts.map((t) => {
          const made = { ...t, securityToken: `tok${t.controllerId}` };
          held.targets.set(t.controllerId, made);
          return made;
        });
      },
      updateTarget: async (id: string, b: { securityToken: string }) => (call('hawkbit.updateTarget'), held.targets.set(id, { ...held.targets.get(id)!, ...b })),
      deleteTarget: async (id: string) => (call('hawkbit.deleteTarget'), held.targets.delete(id)),
    },
    wireguard: {
      setPeer: async (p: { publicKey: string }) => (call('wireguard.setPeer'), held.peers.add(p.publicKey)),
      removePeer: async (k: string) => (call('wireguard.removePeer'), held.peers.delete(k)),
      dump: async () => ({ publicKey: 'hub-key', peers: [] }),
    },
  };
  return { u: u as unknown as Upstreams, calls, failing, held };
}

async function scene() {
  const store = await Store.open({ dataDir: fs.mkdtempSync(path.join(tmp, 'store-')), poolCidr: '10.77.0.0/24' });
  const up = upstreams();
  const enroller = new Enroller({
    store,
    ...up.u,
    tokens: { get: () => ({ org: 'o', bucket: 'b', token: 't' }) },
    wgEndpoint: 'hub.example:51820',
    logger: createLogger('test', { level: 'silent' }),
  });
  const claim = async (deviceId?: string) => (await createClaim(store, { tenantId: 'tenant-a', uses: 5, expires: '1h', deviceId })).token;
  return { store, enroller, claim, ...up };
}

describe('Enroller saga over the step table', () => {
  it('an upstream failing at one step: StepFailed names step and upstream, the others are recorded done, a retry runs only that step', async () => {
    const s = await scene();
    const token = await s.claim();
    s.failing.add('hawkbit.createTargets');
    const err = await s.enroller.enroll({ deviceId: 'dev-1', csr: csr('dev-1'), wgPublicKey: wgKey(), claimToken: token }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StepFailed);
    expect(err).toMatchObject({ step: 'hawkbit', upstream: 'hawkbit' });
    expect(await s.store.getDevice('dev-1')).toMatchObject({ status: 'enrolling', done: ['certificate', 'thingsboard', 'wireguard'], lastError: expect.stringContaining('down for the test') });
    // The device's answer names the step and upstream, not the upstream's words.
    expect(httpAnswer(err)).toEqual({ status: 502, error: 'hawkbit step failed at hawkbit; retry later (the bridge logged the details)' });

    s.failing.clear();
    s.calls.length = 0;
    const wg = (await s.store.getDevice('dev-1'))!.wgPublicKey;
    const done = await s.enroller.enroll({ deviceId: 'dev-1', csr: csr('dev-1'), wgPublicKey: wg, claimToken: token });
    expect(done.hawkbit.securityToken).toBe('tokdev-1');
    expect(s.calls.filter((c) => !c.endsWith('getTarget'))).toEqual(['hawkbit.createTargets']);
    expect(await s.store.getDevice('dev-1')).toMatchObject({ status: 'active', done: ['certificate', 'thingsboard', 'hawkbit', 'wireguard'] });
  });

  it('decommission undoes every step in reverse, also one the crash left unmarked, and resumes after a failed undo', async () => {
    const s = await scene();
    const r = await s.enroller.enroll({ deviceId: 'dev-2', csr: csr('dev-2'), wgPublicKey: wgKey(), claimToken: await s.claim() });
    await s.store.markDone('dev-2', ['hawkbit'], false); // as if the bridge died after creating the target, before the mark
    s.failing.add('thingsboard.remove');
    s.calls.length = 0;
    const err = await s.enroller.decommission('dev-2').catch((e: unknown) => e);
    expect(err).toMatchObject({ step: 'thingsboard', action: 'decommission' });
    expect(await s.store.getDevice('dev-2')).toMatchObject({ status: 'decommissioning', done: ['certificate', 'thingsboard'] });
    expect(s.held.targets.has('dev-2')).toBe(false);

    s.failing.clear();
    s.calls.length = 0;
    expect(await s.enroller.decommission('dev-2')).toMatchObject({ status: 'decommissioned', done: [], wgIp: '' });
    expect(s.calls).toEqual(['wireguard.removePeer', 'hawkbit.deleteTarget', 'thingsboard.remove', 'stepca.revoke']);
    expect(s.held).toMatchObject({ tb: new Set(), peers: new Set(), revoked: new Set([r.certificate.serial]) });
  });

  it('each refusal is a Refused with its reason; nothing is signed or created for it', async () => {
    const s = await scene();
    const token = await s.claim();
    const refusal = (req: Parameters<Enroller['enroll']>[0]) =>
      s.enroller.enroll(req).then(
        () => undefined,
        (e: unknown) => httpAnswer(e) ?? e,
      );
    expect(await refusal({ deviceId: '../x', csr: csr('dev-3'), wgPublicKey: wgKey(), claimToken: token })).toMatchObject({ status: 400 });
    expect(await refusal({ deviceId: 'dev-3', csr: csr('dev-3'), wgPublicKey: 'nope', claimToken: token })).toMatchObject({ status: 400, error: expect.stringContaining('wgPublicKey') });
    expect(await refusal({ deviceId: 'dev-3', csr: csr('dev-3'), wgPublicKey: wgKey(), claimToken: 'cdm_claim_forged' })).toMatchObject({ status: 401 });
    expect(await refusal({ deviceId: 'dev-3', csr: csr('dev-3'), wgPublicKey: wgKey(), claimToken: await s.claim('dev-9') })).toMatchObject({
      status: 403,
      error: 'enrollment claim is for another device',
    });
    expect(await refusal({ deviceId: 'dev-3', csr: csr('dev-4'), wgPublicKey: wgKey(), claimToken: token })).toMatchObject({ status: 400, error: expect.stringContaining('CN must be the device id') });
    s.held.targets.set('dev-3', { description: 'made by hand', securityToken: 'x' });
    expect(await refusal({ deviceId: 'dev-3', csr: csr('dev-3'), wgPublicKey: wgKey(), claimToken: token })).toMatchObject({ status: 409, error: expect.stringContaining('not this tenant') });
    expect(s.calls.filter((c) => !c.endsWith('getTarget'))).toEqual([]);
    expect(await s.store.getDevice('dev-3')).toBeUndefined();

    // A request used once proves possession once.
    s.held.targets.delete('dev-3');
    const once = { deviceId: 'dev-3', csr: csr('dev-3'), wgPublicKey: wgKey(), claimToken: token };
    await s.enroller.enroll(once);
    const replay = await s.enroller.enroll(once).catch((e: unknown) => e);
    expect(replay).toBeInstanceOf(Refused);
    expect(httpAnswer(replay)).toMatchObject({ status: 409, error: expect.stringContaining('used before') });
  });
});

describe('Enroller: a crash between steps', () => {
  it('counts as that step failing (502 naming it), not as a bug (500)', async () => {
    const s = await scene();
    const enroller = new Enroller({
      store: s.store,
      ...s.u,
      tokens: { get: () => ({ org: 'o', bucket: 'b', token: 't' }) },
      wgEndpoint: 'hub.example:51820',
      logger: createLogger('test', { level: 'silent' }),
      beforeStep: (step) => {
        if (step === 'wireguard') throw new Error('killed before wireguard');
      },
    });
    const err = await enroller.enroll({ deviceId: 'dev-5', csr: csr('dev-5'), wgPublicKey: wgKey(), claimToken: await s.claim() }).catch((e: unknown) => e);
    expect(httpAnswer(err)).toMatchObject({ status: 502, error: expect.stringContaining('wireguard step failed') });
    expect(await s.store.getDevice('dev-5')).toMatchObject({ done: ['certificate', 'thingsboard', 'hawkbit'], lastError: 'wireguard: killed before wireguard' });
  });
});

describe('httpAnswer: the API edge', () => {
  it('maps every refusal reason and keeps upstream words out of the answer', () => {
    const statuses = (['invalid', 'unauthenticated', 'forbidden', 'not-found', 'conflict', 'unavailable'] as const).map((r) => httpAnswer(new Refused(r, 'why'))!.status);
    expect(statuses).toEqual([400, 401, 403, 404, 409, 503]);
    expect(httpAnswer(new Refused('unavailable', 'later', 60))).toEqual({ status: 503, error: 'later', retryAfterSec: 60 });
    const failed = new StepFailed('thingsboard' satisfies Step, 'ThingsBoard', 'enroll', new Error('secret internals of the upstream'));
    expect(JSON.stringify(httpAnswer(failed))).not.toContain('secret internals');
    expect(httpAnswer(new Error('a bug'))).toBeUndefined();
  });
});
