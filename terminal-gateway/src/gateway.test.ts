import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { WebSocket } from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureTestTools } from '../../stack/src/test-tools.ts';
import { KeycloakTokenVerifier, createLogger } from '@cdm/common';
import { AuditLog } from './audit.ts';
import { CLOSE, TerminalGateway } from './gateway.ts';
import { createTerminalServer } from './server.ts';

/**
 * The gateway against a real OpenSSH server (Debian openssh-server on a loopback port, the
 * gateway's key authorised only from 127.0.0.1, host key pinned) and a local JWKS signing tokens
 * the way Keycloak does. The full path over WireGuard with a browser is the e2e test.
 */
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cdm-term-'));
const auditFile = path.join(tmp, 'audit.jsonl');
const sshdBin = '/usr/sbin/sshd';
let sshd: ChildProcess;
let sshPort = 0;
let jwks: http.Server;
let issuer = '';
let signKey: Awaited<ReturnType<typeof generateKeyPair>>['privateKey'];
let gatewayUrl = '';
let server: http.Server;
let gateway: TerminalGateway;
let devices: Record<string, { deviceId: string; tenantId: string; wgIp: string; sshHostKey?: string }> = {};
/** Keycloak's answer, per person id: tenant id → roles (TenantAuthority is unit-tested on its own). */
const grants = new Map<string, Map<string, string[]>>();
const grant = (sub: string, tenantId: string, ...roles: string[]) => grants.set(sub, (grants.get(sub) ?? new Map()).set(tenantId, roles));

const freePort = () =>
  new Promise<number>((r) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as net.AddressInfo).port;
      s.close(() => r(p));
    });
  });
/** Realm-wide roles and group names in a token must not matter: they are always the mightiest here. */
async function token(o: { aud?: string; exp?: number; sub?: string } = {}): Promise<string> {
  return new SignJWT({ preferred_username: o.sub ?? 'oscar', realm_access: { roles: ['cdm-oncall', 'cdm-operator', 'cdm-admin'] }, groups: ['/tenants/acme', '/tenants/beta'] })
    .setProtectedHeader({ alg: 'RS256', kid: 'k1' })
    .setIssuer(issuer)
    .setAudience(o.aud ?? 'cdm-terminal')
    .setSubject(o.sub ?? 'oscar')
    .setExpirationTime(o.exp ?? Math.floor(Date.now() / 1000) + 300)
    .sign(signKey);
}
/** A browser's side of the protocol: open, authenticate, collect output until closed or told to stop. */
function connect(auth: Record<string, unknown>, url = `${gatewayUrl}/v1/terminal`, headers: Record<string, string> = {}) {
  const ws = new WebSocket(url, { headers });
  let output = '';
  const ready = new Promise<string>((resolve, reject) => {
    ws.on('open', () => ws.send(JSON.stringify({ type: 'auth', deviceId: 'dev-0001', reason: 'investigating alarm 42', cols: 80, rows: 24, ...auth })));
    ws.on('message', (m, binary) => {
      if (binary) output += m.toString();
      else if (JSON.parse(m.toString()).type === 'ready') resolve('ready');
    });
    ws.on('error', reject);
  });
  const closed = new Promise<{ code: number; reason: string }>((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  return { ws, ready, closed, output: () => output, send: (data: string) => ws.send(JSON.stringify({ type: 'input', data })) };
}
const audit = () =>
  fs
    .readFileSync(auditFile, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
async function until(fn: () => boolean, ms = 10_000) {
  for (const end = Date.now() + ms; !fn(); await new Promise((r) => setTimeout(r, 50))) if (Date.now() > end) throw new Error('timed out');
}

beforeAll(async () => {
  await ensureTestTools('sshd');
  for (const k of ['host', 'gateway']) execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', k, '-f', path.join(tmp, k)]);
  fs.writeFileSync(
    path.join(tmp, 'authorized_keys'),
    `from="127.0.0.1",restrict,pty ${fs.readFileSync(path.join(tmp, 'gateway.pub'), 'utf8').split(' ').slice(0, 2).join(' ')} cdm-terminal-gateway\n`,
    { mode: 0o600 },
  );
  sshPort = await freePort();
  fs.writeFileSync(
    path.join(tmp, 'sshd_config'),
    [
      `Port ${sshPort}`,
      'ListenAddress 127.0.0.1',
      `HostKey ${path.join(tmp, 'host')}`,
      `AuthorizedKeysFile ${path.join(tmp, 'authorized_keys')}`,
      `PidFile ${path.join(tmp, 'sshd.pid')}`,
      'UsePAM no',
      'StrictModes no',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'PermitRootLogin prohibit-password',
      '',
    ].join('\n'),
  );
  fs.mkdirSync('/run/sshd', { recursive: true });
  sshd = spawn(sshdBin, ['-D', '-e', '-f', path.join(tmp, 'sshd_config')], { stdio: ['ignore', 'ignore', 'pipe'] });
  await until(() => {
    try {
      execFileSync('ssh-keyscan', ['-p', String(sshPort), '127.0.0.1'], { stdio: 'pipe' });
      return true;
    } catch {
      return false;
    }
  });

  const { publicKey, privateKey } = await generateKeyPair('RS256');
  signKey = privateKey;
  const jwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
  jwks = http.createServer((_req, res) => void res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ keys: [jwk] }))).listen(0, '127.0.0.1');
  await new Promise((r) => jwks.once('listening', r));
  issuer = `http://127.0.0.1:${(jwks.address() as net.AddressInfo).port}/realms/cdm`;

  const hostKey = fs.readFileSync(path.join(tmp, 'host.pub'), 'utf8').trim();
  devices = {
    'dev-0001': { deviceId: 'dev-0001', tenantId: 'g-acme', wgIp: '127.0.0.1', sshHostKey: hostKey },
    'dev-beta': { deviceId: 'dev-beta', tenantId: 'g-beta', wgIp: '127.0.0.1', sshHostKey: hostKey },
    'dev-fake': { deviceId: 'dev-fake', tenantId: 'g-acme', wgIp: '127.0.0.1', sshHostKey: fs.readFileSync(path.join(tmp, 'gateway.pub'), 'utf8').trim() },
  };
  gateway = new TerminalGateway({
    verifier: new KeycloakTokenVerifier({ issuer, audience: 'cdm-terminal' }),
    devices: { find: async (id) => devices[id] },
    authority: {
      may: async (sub, roles, tenantId) => roles.some((r) => grants.get(sub)?.get(tenantId)?.includes(r)),
      tenants: async () =>
        new Map([
          ['g-acme', { name: 'acme' }],
          ['g-beta', { name: 'beta' }],
        ]),
    },
    recheckMs: 200,
    maxPendingPerAddress: 3,
    authTimeoutMs: 1500,
    audit: new AuditLog(auditFile),
    logger: createLogger('terminal-test', { level: 'silent' }),
    ssh: { user: os.userInfo().username, port: sshPort, privateKey: fs.readFileSync(path.join(tmp, 'gateway')) },
    idleTimeoutMs: 1500,
    maxSessionMs: 60_000,
    maxSessionsPerUser: 1,
    transcriptDir: tmp,
  });
  grant('oscar', 'g-acme', 'oncall');
  grant('mallory', 'g-acme', 'admin', 'oncall');
  grant('mallory', 'g-beta', 'member');
  grant('adam', 'g-acme', 'admin');
  server = createTerminalServer(gateway, { issuer, clientId: 'cdm-terminal' });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  gatewayUrl = `ws://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
}, 300_000);

afterAll(() => {
  gateway?.close();
  server?.close();
  jwks?.close();
  sshd?.kill();
});

describe('terminal gateway', () => {
  it('opens a shell on the device: typed command echoes back, resize applies, audit has who/what/bytes/reason', async () => {
    const s = connect({ token: await token() });
    await s.ready;
    s.ws.send(JSON.stringify({ type: 'resize', cols: 120, rows: 40 }));
    s.send('stty size; echo cdm-$((6*7))-ok\r');
    await until(() => s.output().includes('cdm-42-ok') && s.output().includes('40 120'));
    s.send('exit\r');
    expect((await s.closed).code).toBe(1000);
    await until(() => audit().some((r) => r.event === 'session'));
    const rec = audit().find((r) => r.event === 'session')!;
    expect(rec).toMatchObject({ user: 'oscar', deviceId: 'dev-0001', tenant: 'acme', reason: 'investigating alarm 42', closedBy: 'device' });
    expect(rec.bytesIn).toBeGreaterThan(10);
    expect(rec.bytesOut).toBeGreaterThan(10);
    expect(fs.readFileSync(String(rec.transcript), 'utf8')).toContain('cdm-42-ok');
    expect(fs.readFileSync(auditFile, 'utf8')).not.toMatch(/eyJ/); // no token in the audit log
  });

  it.each([
    ['an expired token', async () => ({ token: await token({ exp: Math.floor(Date.now() / 1000) - 120 }) }), CLOSE.unauthenticated, /expired/],
    ['a token for another audience', async () => ({ token: await token({ aud: 'cdm-enroll' }) }), CLOSE.unauthenticated, /aud/],
    ['a person of another tenant', async () => ({ token: await token(), deviceId: 'dev-beta' }), CLOSE.unknownDevice, /no device dev-beta/],
    ['attack: on-call in one tenant, plain member of another', async () => ({ token: await token({ sub: 'mallory' }), deviceId: 'dev-beta' }), CLOSE.unknownDevice, /no device dev-beta/],
    ['an admin without a terminal role', async () => ({ token: await token({ sub: 'adam' }) }), CLOSE.unknownDevice, /on-call or operator/],
    ['an unknown device', async () => ({ token: await token(), deviceId: 'dev-none' }), CLOSE.unknownDevice, /no device dev-none/],
    ['no reason given', async () => ({ token: await token(), reason: '' }), CLOSE.badRequest, /reason/],
  ])('refuses %s, and audits it', async (_what, auth, code, why) => {
    const s = connect(await auth());
    const c = await s.closed;
    expect(c.code).toBe(code);
    expect(c.reason).toMatch(why);
    expect(audit().at(-1)).toMatchObject({ event: 'denied', status: code - 4000 });
  });

  it('refuses a token in the URL before upgrading, and a device whose host key does not match the pinned one', async () => {
    const s = connect({ token: await token() }, `${gatewayUrl}/v1/terminal?access_token=abc`);
    await expect(s.ready).rejects.toThrow(/400/);
    expect(audit().at(-1)).toMatchObject({ event: 'denied', status: 400, why: 'token in URL' });
    const spoofed = connect({ token: await token(), deviceId: 'dev-fake' });
    expect((await spoofed.closed).code).toBe(CLOSE.deviceUnreachable);
  });

  it('serves the page with a strict CSP, and refuses a code exchange for another page', async () => {
    const base = gatewayUrl.replace('ws:', 'http:');
    const page = await fetch(`${base}/?device=dev-0001`);
    expect(page.headers.get('content-security-policy')).toContain("default-src 'self'");
    expect(await page.text()).toContain('/xterm/xterm.js');
    expect((await fetch(`${base}/xterm/xterm.js`)).status).toBe(200);
    const exchange = (body: unknown) => fetch(`${base}/v1/oidc/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    expect((await exchange({ code: 'c', codeVerifier: 'v'.repeat(43), redirectUri: 'https://evil.example/' })).status).toBe(400);
    expect((await exchange({ code: 'c' })).status).toBe(400);
  });

  it('limits sessions per person and closes idle sessions', async () => {
    const first = connect({ token: await token() });
    await first.ready;
    const second = connect({ token: await token() });
    expect((await second.closed).code).toBe(CLOSE.tooMany);
    const c = await first.closed; // nothing typed: idle timeout (1.5 s here)
    expect(c).toMatchObject({ code: CLOSE.timeout, reason: 'idle timeout' });
  });

  it('ends a session when its token expires, unless the page sends a fresh token of the same person', async () => {
    const exp = Math.floor(Date.now() / 1000) + 3;
    const short = connect({ token: await token({ exp }) });
    await short.ready;
    const typing = setInterval(() => short.send(':\r'), 300); // not idle (1.5 s here)
    try {
      expect(await short.closed).toMatchObject({ code: CLOSE.unauthenticated, reason: expect.stringMatching(/token expired/) });
    } finally {
      clearInterval(typing);
    }
    expect(Math.abs(Date.now() - exp * 1000)).toBeLessThan(1000);

    const kept = connect({ token: await token({ exp: Math.floor(Date.now() / 1000) + 2 }) });
    await kept.ready;
    kept.ws.send(JSON.stringify({ type: 'token', token: await token({ exp: Math.floor(Date.now() / 1000) + 60 }) }));
    // typing keeps it from idling out (1.5 s here) while it outlives the first token's 2 s
    for (let i = 0; i < 7; i++) {
      kept.send(`echo tick-${i}-$((40+2))\r`);
      await new Promise((r) => setTimeout(r, 500));
    }
    await until(() => kept.output().includes('tick-6-42'));
    expect(kept.ws.readyState).toBe(WebSocket.OPEN);
    kept.ws.send(JSON.stringify({ type: 'token', token: await token({ sub: 'mallory', exp: Math.floor(Date.now() / 1000) + 60 }) }));
    expect(await kept.closed).toMatchObject({ code: CLOSE.forbidden, reason: expect.stringMatching(/another person/) });
  }, 20_000);

  it('closes an open session when the person loses the role, or the device is decommissioned', async () => {
    grant('olga', 'g-acme', 'oncall');
    const s = connect({ token: await token({ sub: 'olga' }) });
    await s.ready;
    grant('olga', 'g-acme', 'member');
    expect(await s.closed).toMatchObject({ code: CLOSE.forbidden, reason: expect.stringMatching(/no longer on-call/) });

    const d = connect({ token: await token() });
    await d.ready;
    const saved = devices['dev-0001']!;
    delete devices['dev-0001'];
    try {
      expect(await d.closed).toMatchObject({ code: CLOSE.unknownDevice, reason: expect.stringMatching(/decommissioned/) });
    } finally {
      devices['dev-0001'] = saved;
    }
    const started = audit().filter((r) => r.event === 'session-start' && r.user === 'olga');
    expect(started).toHaveLength(1);
    expect(started[0]).toMatchObject({ deviceId: 'dev-0001', tenantId: 'g-acme', reason: 'investigating alarm 42' });
  });

  it("attack: a page on another site cannot open a terminal with the engineer's browser (Origin checked)", async () => {
    const host = new URL(gatewayUrl).host;
    const evil = connect({ token: await token() }, undefined, { Origin: 'https://evil.example' });
    await expect(evil.ready).rejects.toThrow(/403/);
    expect(audit().at(-1)).toMatchObject({ event: 'denied', status: 403, why: expect.stringMatching(/origin https:\/\/evil.example/) });
    const own = connect({ token: await token() }, undefined, { Origin: `http://${host}` });
    await own.ready;
    own.ws.close();
    await own.closed;
  });

  it('attack: connections that never authenticate are capped per address and timed out', async () => {
    const idle = Array.from({ length: 3 }, () => new WebSocket(`${gatewayUrl}/v1/terminal`));
    await Promise.all(idle.map((w) => new Promise((r) => w.once('open', r))));
    const fourth = new WebSocket(`${gatewayUrl}/v1/terminal`);
    const refused = await new Promise<string>((resolve) => fourth.once('unexpected-response', (_q, res) => resolve(String(res.statusCode))).once('open', () => resolve('open')));
    expect(refused).toBe('503');
    const codes = await Promise.all(idle.map((w) => new Promise<number>((r) => w.once('close', (c) => r(c)))));
    expect(codes).toEqual([CLOSE.unauthenticated, CLOSE.unauthenticated, CLOSE.unauthenticated]);
    // freed once they timed out
    const s = connect({ token: await token() });
    await s.ready;
    s.ws.close();
    await s.closed;
  });
});
