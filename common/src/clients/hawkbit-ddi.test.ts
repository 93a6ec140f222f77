import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { http, HttpResponse } from 'msw';
import { afterAll, describe, expect, it } from 'vitest';
import { UpstreamError } from '../errors.ts';
import { HawkbitDdiClient, ddiSleepMs, type DdiArtifact } from './hawkbit-ddi.ts';
import { record, useMsw, type Recorded } from './testing.ts';

const base = 'http://hawkbit.test';
const root = `${base}/DEFAULT/controller/v1/dev%201`;
const server = useMsw();
const token = 'tok-5ecret';
const client = new HawkbitDdiClient({ baseURL: base, controllerId: 'dev 1', securityToken: token, retries: 1 });
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ddi-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const bytes = crypto.randomBytes(100_000);
const sha256 = crypto.createHash('sha256').update(bytes).digest('hex');
const artifact = (hashes: DdiArtifact['hashes'] = { sha256 }): DdiArtifact => ({
  filename: 'fw.bin',
  size: bytes.length,
  hashes,
  _links: { 'download-http': { href: `${root}/softwaremodules/3/artifacts/fw.bin` } },
});

describe('HawkbitDdiClient', () => {
  it('polls with the target token and reads sleep and the links', async () => {
    let seen: Recorded | undefined;
    server.use(
      http.get(root, async ({ request }) => {
        seen = await record(request);
        return HttpResponse.json({
          config: { polling: { sleep: '00:01:30' } },
          _links: { deploymentBase: { href: `${root}/deploymentBase/17?c=-2129030598` }, configData: { href: `${root}/configData` }, installedBase: { href: `${root}/installedBase/9` } },
        });
      }),
    );
    const p = await client.poll();
    expect(p).toMatchObject({ sleepMs: 90_000, deploymentActionId: 17, installedActionId: 9, configDataRequested: true, cancelActionId: undefined });
    expect(seen?.headers.get('authorization')).toBe(`TargetToken ${token}`);
  });

  it('uses the gateway token when given one instead', async () => {
    let header: string | null = null;
    server.use(
      http.get(`${base}/T1/controller/v1/gw-dev`, ({ request }) => {
        header = request.headers.get('authorization');
        return HttpResponse.json({ config: { polling: { sleep: '00:05:00' } } });
      }),
    );
    const gw = new HawkbitDdiClient({ baseURL: base, tenant: 'T1', controllerId: 'gw-dev', gatewayToken: 'gw' });
    expect((await gw.poll()).deploymentActionId).toBeUndefined();
    expect(header).toBe('GatewayToken gw');
  });

  it('turns 401 into an UpstreamError that names the call and never shows the token', async () => {
    server.use(http.get(root, () => new HttpResponse(null, { status: 401 })));
    const err = await client.poll().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UpstreamError);
    expect((err as Error).message).toMatch(/^hawkBit DDI: GET \/\{tenant\}\/controller\/v1\/\{controllerId\} failed \(HTTP 401\).*credentials/);
    expect((err as Error).message).not.toContain(token);
  });

  it('puts config data as {data, mode}', async () => {
    let seen: Recorded | undefined;
    server.use(
      http.put(`${root}/configData`, async ({ request }) => {
        seen = await record(request);
        return new HttpResponse(null, { status: 200 });
      }),
    );
    await client.putConfigData({ hw: 'rev-b' }, 'replace');
    expect(seen?.body).toEqual({ data: { hw: 'rev-b' }, mode: 'replace' });
  });

  it('reads a deployment (404 → undefined) and a cancel action', async () => {
    let query = '';
    server.use(
      http.get(`${root}/deploymentBase/17`, ({ request }) => {
        query = new URL(request.url).search;
        return HttpResponse.json({ id: '17', deployment: { download: 'forced', update: 'forced', chunks: [{ part: 'os', name: 'fw', version: '1', artifacts: [artifact()] }] } });
      }),
      http.get(`${root}/deploymentBase/18`, () => new HttpResponse(null, { status: 404 })),
      http.get(`${root}/cancelAction/19`, () => HttpResponse.json({ id: '19', cancelAction: { stopId: '19' } })),
    );
    expect((await client.getDeploymentBase(17, { actionHistory: 5 }))?.deployment.chunks[0]?.artifacts?.[0]?.filename).toBe('fw.bin');
    expect(query).toBe('?actionHistory=5');
    expect(await client.getDeploymentBase(18)).toBeUndefined();
    expect(await client.getCancelAction(19)).toEqual({ id: '19', cancelAction: { stopId: '19' } });
  });

  it('sends feedback in the spec shape; a closed action (410) answers false', async () => {
    const bodies: unknown[] = [];
    server.use(
      http.post(`${root}/deploymentBase/17/feedback`, async ({ request }) => {
        bodies.push(await request.json());
        return new HttpResponse(null, { status: 200 });
      }),
      http.post(`${root}/deploymentBase/18/feedback`, () => new HttpResponse(null, { status: 410 })),
      http.post(`${root}/cancelAction/19/feedback`, async ({ request }) => {
        bodies.push(await request.json());
        return new HttpResponse(null, { status: 200 });
      }),
    );
    expect(await client.sendFeedback(17, { execution: 'proceeding', finished: 'none', progress: { cnt: 2, of: 5 }, details: ['writing'], timestamp: 1700000000000 })).toBe(true);
    expect(await client.sendFeedback(18, { execution: 'closed', finished: 'success' })).toBe(false);
    await client.sendCancelFeedback(19, { execution: 'closed', finished: 'success', code: 0 });
    expect(bodies).toEqual([
      { timestamp: 1700000000000, status: { execution: 'proceeding', result: { finished: 'none', progress: { cnt: 2, of: 5 } }, details: ['writing'] } },
      { status: { execution: 'closed', result: { finished: 'success' }, code: 0 } },
    ]);
  });

  it('does not retry feedback that got a 5xx (it may have been recorded)', async () => {
    let n = 0;
    server.use(
      http.post(`${root}/deploymentBase/17/feedback`, () => {
        n++;
        return HttpResponse.json({ message: 'db down' }, { status: 503 });
      }),
    );
    await expect(client.sendFeedback(17, { execution: 'closed', finished: 'success' })).rejects.toThrow(/HTTP 503.*db down/);
    expect(n).toBe(1);
  });

  it('streams an artifact to a file, checks sha256 and reports progress', async () => {
    server.use(http.get(`${root}/softwaremodules/3/artifacts/fw.bin`, () => new HttpResponse(bytes, { headers: { 'Content-Type': 'application/octet-stream' } })));
    const dest = path.join(tmp, 'ok', 'fw.bin');
    let last = 0;
    const got = await client.downloadArtifact(artifact(), dest, { onProgress: (n) => (last = n) });
    expect(got).toEqual({ path: dest, size: bytes.length, sha256 });
    expect(fs.readFileSync(dest).equals(bytes)).toBe(true);
    expect(fs.existsSync(`${dest}.part`)).toBe(false);
    expect(last).toBe(bytes.length);
  });

  it('discards a download whose hash does not match', async () => {
    server.use(http.get(`${root}/softwaremodules/3/artifacts/fw.bin`, () => new HttpResponse(bytes)));
    const dest = path.join(tmp, 'bad', 'fw.bin');
    const err = await client.downloadArtifact(artifact({ sha1: 'ab'.repeat(20) }), dest).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UpstreamError);
    expect((err as Error).message).toContain('sha1 mismatch');
    expect(fs.existsSync(dest) || fs.existsSync(`${dest}.part`)).toBe(false);
  });

  it('returns undefined for a 404 download and refuses an artifact without a link', async () => {
    server.use(http.get(`${root}/softwaremodules/3/artifacts/fw.bin`, () => new HttpResponse(null, { status: 404 })));
    expect(await client.downloadArtifact(artifact(), path.join(tmp, 'gone.bin'))).toBeUndefined();
    await expect(client.downloadArtifact({ filename: 'x' }, path.join(tmp, 'x'))).rejects.toThrow(/no download link/);
  });
});

describe('ddiSleepMs', () => {
  it('reads HH:MM:SS', () => {
    expect(ddiSleepMs('00:05:00')).toBe(300_000);
    expect(ddiSleepMs('01:00:01')).toBe(3_601_000);
    expect(ddiSleepMs(undefined)).toBe(0);
  });
});
