import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { http, HttpResponse, delay } from 'msw';
import { describe, expect, it } from 'vitest';
import { UpstreamError } from './errors.ts';
import { HttpClient, RequestCounts } from './http.ts';
import { useMsw } from './clients/testing.ts';

const base = 'http://upstream.test';
const server = useMsw();
const client = (opts: Partial<ConstructorParameters<typeof HttpClient>[0]> = {}) =>
  new HttpClient({ upstream: 'Example', baseURL: base, retries: 2, timeoutMs: 2000, headers: { Authorization: 'Bearer s3cr3t-token' }, ...opts });

describe('HttpClient', () => {
  it('tells its observer of every request sent, retries included; RequestCounts splits reads and writes', async () => {
    let n = 0;
    server.use(
      http.get(`${base}/thing`, () => (++n < 2 ? new HttpResponse(null, { status: 503 }) : HttpResponse.json({}))),
      http.post(`${base}/thing`, () => HttpResponse.json({})),
      http.post(`${base}/api/auth/login`, () => HttpResponse.json({})),
    );
    const counts = new RequestCounts();
    const c = client({ observer: counts.observer });
    await c.request('GET /thing', { url: '/thing' });
    await c.request('POST /thing', { method: 'POST', url: '/thing', data: {} });
    await c.request('POST /api/auth/login', { method: 'POST', url: '/api/auth/login', data: {} });
    expect(counts.take()).toEqual({ Example: { reads: 3, writes: 1 } }); // the 503, its retry, the login
    expect(counts.take()).toEqual({});
  });

  it('retries a GET that got 503 and returns the later success', async () => {
    let n = 0;
    server.use(http.get(`${base}/thing`, () => (++n < 3 ? new HttpResponse(null, { status: 503 }) : HttpResponse.json({ ok: true }))));
    expect(await client().request('GET /thing', { url: '/thing' })).toEqual({ ok: true });
    expect(n).toBe(3);
  });

  it('never retries a POST that reached the server', async () => {
    let n = 0;
    server.use(http.post(`${base}/thing`, () => (n++, new HttpResponse(null, { status: 500 }))));
    await expect(client().request('POST /thing', { method: 'POST', url: '/thing', data: {} })).rejects.toThrow('Example: POST /thing failed (HTTP 500)');
    expect(n).toBe(1);
  });

  it('maps 404 to undefined, or to an error with requireRequest', async () => {
    server.use(http.get(`${base}/gone`, () => HttpResponse.json({ message: 'nope' }, { status: 404 })));
    expect(await client().request('GET /gone', { url: '/gone' })).toBeUndefined();
    await expect(client().requireRequest('GET /gone', { url: '/gone' })).rejects.toThrow('Example: GET /gone failed (HTTP 404): nope');
  });

  it('turns a timeout into an UpstreamError with a reachability hint', async () => {
    server.use(
      http.get(`${base}/slow`, async () => {
        await delay(1000);
        return HttpResponse.json({});
      }),
    );
    const err = await client({ timeoutMs: 100, retries: 0 })
      .request('GET /slow', { url: '/slow' })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UpstreamError);
    expect((err as Error).message).toBe('Example: GET /slow failed: ECONNABORTED — is Example running and reachable at the configured URL?');
  });

  it('sends a timed-out GET again with a fresh timeout, but never a timed-out POST', async () => {
    let gets = 0;
    let posts = 0;
    server.use(
      http.get(`${base}/slow-once`, async () => {
        if (++gets === 1) await delay(1000);
        return HttpResponse.json({ ok: true });
      }),
      http.post(`${base}/slow-once`, async () => {
        posts++;
        await delay(1000);
        return HttpResponse.json({});
      }),
    );
    expect(await client({ timeoutMs: 200 }).request('GET /slow-once', { url: '/slow-once' })).toEqual({ ok: true });
    expect(gets).toBe(2);
    await expect(client({ timeoutMs: 200 }).request('POST /slow-once', { method: 'POST', url: '/slow-once', data: {} })).rejects.toThrow('ECONNABORTED');
    expect(posts).toBe(1);
  });

  it('keeps at most maxInFlight requests on the wire; the rest wait without using up their timeout', async () => {
    let now = 0;
    let most = 0;
    server.use(
      http.get(`${base}/busy`, async () => {
        most = Math.max(most, ++now);
        await delay(100);
        now--;
        return HttpResponse.json({ ok: true });
      }),
    );
    // 40 requests of 100 ms, 4 at a time: ~1 s in all, each far inside its 300 ms timeout once sent.
    const c = client({ maxInFlight: 4, timeoutMs: 300, retries: 0 });
    const all = await Promise.all(Array.from({ length: 40 }, () => c.request('GET /busy', { url: '/busy' })));
    expect(all.every((r) => (r as { ok: boolean }).ok)).toBe(true);
    expect(most).toBe(4);
  });

  it('retries a POST whose connection was refused (it never reached the server)', async () => {
    // A port that was just closed refuses connections.
    const s = createServer();
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
    const port = (s.address() as AddressInfo).port;
    await new Promise((r) => s.close(r));
    server.close(); // let this request reach the real network stack
    try {
      const c = new HttpClient({ upstream: 'Example', baseURL: `http://127.0.0.1:${port}`, retries: 1, headers: { Authorization: 'Bearer s3cr3t-token' } });
      let attempts = 0;
      c.axios.interceptors.request.use((cfg) => (attempts++, cfg));
      const err = await c.request('POST /thing', { method: 'POST', url: '/thing', data: {} }).catch((e: unknown) => e);
      expect((err as Error).message).toContain('Example: POST /thing failed: ECONNREFUSED');
      expect(attempts).toBe(2);
      expect(JSON.stringify((err as Error).cause)).not.toContain('s3cr3t-token');
    } finally {
      server.listen({ onUnhandledRequest: 'error' });
    }
  });

  it('never puts the Authorization header value into an error', async () => {
    server.use(http.get(`${base}/x`, () => HttpResponse.json({ error: 'forbidden' }, { status: 403 })));
    const err = (await client()
      .request('GET /x', { url: '/x' })
      .catch((e: unknown) => e)) as UpstreamError;
    expect(err.message).toBe('Example: GET /x failed (HTTP 403): forbidden — the Example account lacks the permission for this call');
    expect(JSON.stringify({ message: err.message, stack: err.stack })).not.toContain('s3cr3t-token');
  });
});
