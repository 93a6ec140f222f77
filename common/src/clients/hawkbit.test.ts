import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { http, HttpResponse } from 'msw';
import { describe, expect, it } from 'vitest';
import { UpstreamError } from '../errors.ts';
import { HawkbitClient, fiqlValue } from './hawkbit.ts';
import { record, useMsw, type Recorded } from './testing.ts';

const base = 'http://hawkbit.test';
const server = useMsw();
const client = new HawkbitClient({ baseURL: base, username: 'admin', password: 'pw', retries: 2, pageSize: 2 });
const basic = `Basic ${Buffer.from('admin:pw').toString('base64')}`;

describe('HawkbitClient', () => {
  it('creates targets with an array body and HTTP Basic auth', async () => {
    let seen: Recorded | undefined;
    server.use(
      http.post(`${base}/rest/v1/targets`, async ({ request }) => {
        seen = await record(request);
        return HttpResponse.json([{ controllerId: 'dev-1', name: 'dev-1' }], { status: 201 });
      }),
    );
    const created = await client.createTargets([{ controllerId: 'dev-1', name: 'dev-1' }]);
    expect(created[0]?.controllerId).toBe('dev-1');
    expect(seen?.headers.get('authorization')).toBe(basic);
    expect(seen?.body).toEqual([{ controllerId: 'dev-1', name: 'dev-1' }]);
  });

  it('reads target attributes: {} for 204 (none reported yet), undefined for an unknown target', async () => {
    server.use(
      http.get(`${base}/rest/v1/targets/quiet/attributes`, () => new HttpResponse(null, { status: 204 })),
      http.get(`${base}/rest/v1/targets/chatty/attributes`, () => HttpResponse.json({ sw_version: '1.2.0' })),
      http.get(`${base}/rest/v1/targets/gone/attributes`, () => HttpResponse.json({ errorCode: 'hawkbit.server.error.repo.entitiyNotFound' }, { status: 404 })),
    );
    expect(await client.getTargetAttributes('quiet')).toEqual({});
    expect(await client.getTargetAttributes('chatty')).toEqual({ sw_version: '1.2.0' });
    expect(await client.getTargetAttributes('gone')).toBeUndefined();
  });

  it('lists targets by pages with the FIQL filter on every page', async () => {
    const calls: string[] = [];
    server.use(
      http.get(`${base}/rest/v1/targets`, ({ request }) => {
        const u = new URL(request.url);
        calls.push(u.search);
        const offset = Number(u.searchParams.get('offset'));
        const all = ['a', 'b', 'c'].map((id) => ({ controllerId: id, name: id }));
        return HttpResponse.json({ content: all.slice(offset, offset + 2), total: 3, size: 2 });
      }),
    );
    const targets = await client.listTargets({ q: 'lastModifiedAt=ge=100', sort: 'lastModifiedAt:ASC' });
    expect(targets.map((t) => t.controllerId)).toEqual(['a', 'b', 'c']);
    expect(calls).toHaveLength(2);
    for (const c of calls) expect(new URLSearchParams(c).get('q')).toBe('lastModifiedAt=ge=100');
    expect(new URLSearchParams(calls[1]).get('offset')).toBe('2');
  });

  it('returns undefined for an unknown target and false when deleting one', async () => {
    server.use(
      http.get(`${base}/rest/v1/targets/nope`, () => HttpResponse.json({ errorCode: 'hawkbit.server.error.repo.entitiyNotFound' }, { status: 404 })),
      http.delete(`${base}/rest/v1/targets/nope`, () => new HttpResponse(null, { status: 404 })),
    );
    expect(await client.getTarget('nope')).toBeUndefined();
    expect(await client.deleteTarget('nope')).toBe(false);
  });

  it('turns 401 into an UpstreamError that points at the credentials', async () => {
    server.use(http.get(`${base}/rest/v1/targets/x`, () => new HttpResponse(null, { status: 401 })));
    const err = await client.getTarget('x').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UpstreamError);
    expect((err as UpstreamError).status).toBe(401);
    expect((err as Error).message).toMatch(/^hawkBit: GET \/rest\/v1\/targets\/\{id\} failed \(HTTP 401\).*credentials/);
    expect((err as Error).message).not.toContain('pw');
  });

  it('retries a 5xx on GET, then reports the upstream and call', async () => {
    let n = 0;
    server.use(
      http.get(`${base}/rest/v1/rollouts/7`, () => {
        n++;
        return HttpResponse.json({ message: 'db down' }, { status: 503 });
      }),
    );
    const err = await client.getRollout(7).catch((e: unknown) => e);
    expect(n).toBe(3);
    expect((err as Error).message).toContain('hawkBit: GET /rest/v1/rollouts/{id} failed (HTTP 503): db down');
  });

  it('does not retry a POST that got a 5xx (it may have been applied)', async () => {
    let n = 0;
    server.use(
      http.post(`${base}/rest/v1/rollouts`, () => {
        n++;
        return new HttpResponse(null, { status: 500 });
      }),
    );
    await expect(client.createRollout({ name: 'r', distributionSetId: 1, targetFilterQuery: 'id==*' })).rejects.toThrow(/HTTP 500/);
    expect(n).toBe(1);
  });

  it('uploads an artifact as multipart with the expected checksum and reports progress', async () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'hb-')), 'fw.raucb');
    fs.writeFileSync(file, Buffer.alloc(4096, 7));
    let form: FormData | undefined;
    let query: URLSearchParams | undefined;
    server.use(
      http.post(`${base}/rest/v1/softwaremodules/5/artifacts`, async ({ request }) => {
        query = new URL(request.url).searchParams;
        form = await request.formData();
        return HttpResponse.json({ id: 9, size: 4096, providedFilename: 'fw.raucb', hashes: { sha256: 'abc' } }, { status: 201 });
      }),
    );
    const progress: number[] = [];
    const art = await client.uploadArtifact(5, file, { sha256: 'abc', onProgress: (sent) => progress.push(sent) });
    expect(art.hashes?.sha256).toBe('abc');
    expect(query?.get('sha256sum')).toBe('abc');
    expect(query?.get('filename')).toBe('fw.raucb');
    const part = form?.get('file') as File;
    expect(part.name).toBe('fw.raucb');
    expect(part.size).toBe(4096);
  });

  it('creates a rollout with groups and conditions as the spec shapes them', async () => {
    let seen: Recorded | undefined;
    server.use(
      http.post(`${base}/rest/v1/rollouts`, async ({ request }) => {
        seen = await record(request);
        return HttpResponse.json({ id: 3, name: 'r', status: 'creating', totalTargets: 10 }, { status: 201 });
      }),
    );
    await client.createRollout({
      name: 'r',
      distributionSetId: 1,
      targetFilterQuery: 'name==*',
      groups: [{ name: 'g1', targetPercentage: 5 }],
      successCondition: { condition: 'THRESHOLD', expression: '95' },
      successAction: { action: 'NEXTGROUP' },
      errorCondition: { condition: 'THRESHOLD', expression: '5' },
      errorAction: { action: 'PAUSE' },
    });
    expect(seen?.body).toMatchObject({ groups: [{ name: 'g1', targetPercentage: 5 }], errorAction: { action: 'PAUSE' } });
  });
});

describe('fiqlValue', () => {
  it('quotes values that could change a FIQL expression', () => {
    expect(fiqlValue('fw-1.2')).toBe('fw-1.2');
    expect(fiqlValue('a;name==x')).toBe('"a;name==x"');
    expect(fiqlValue('say "hi"')).toBe('"say \\"hi\\""');
  });
});
