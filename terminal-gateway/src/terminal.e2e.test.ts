import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { chromium, type Browser } from 'playwright-core';
import { WebSocket } from 'ws';
import { DeviceDirectoryClient, KeycloakClient, KeycloakTokenVerifier, TenantAuthority, ThingsBoardClient, createLogger, loadConfig } from '@cdm/common';
import { composeEnrollBridge, createApi, createApiServer, createClaim, enrollBridgeConfig } from '@cdm/enroll-bridge';
import { serveDirectory } from '../../enroll-bridge/src/directory.test-helpers.ts';
import { HOST_FROM_DEVICES, addDeviceNs, bridgeEnv, createPerson, createTenantGroup, defaultContext, ensureTestTools, removeDeviceNs, thingsboardTenant, type TestTenant } from '@cdm/stack';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { AuditLog } from './audit.ts';
import { DirectoryDevices } from './devices.ts';
import { TerminalGateway } from './gateway.ts';
import { createTerminalServer } from './server.ts';

/**
 * The whole path an on-call engineer takes: headless Chromium signs in to the real Keycloak, opens
 * the terminal page, the gateway dials the device's WireGuard address from the real hub namespace,
 * and a real sshd inside the device's network namespace — a device enrolled by device/enroll.sh,
 * which sent its host key and installed the gateway's key — runs the command.
 */
const stack = inject('stack');
const ctx = defaultContext();
const run = crypto.randomBytes(3).toString('hex');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cdm-term-e2e-'));
const exec = promisify(execFile);
const DEV = 205;
const ns = `cdm-dev-${DEV}`;
const deviceId = `TERM${run.toUpperCase()}01`;
const group = `e2e-term-${run}`;
const password = `pw-${crypto.randomBytes(6).toString('hex')}`;
const kcUrl = stack.keycloak!.url;
const kcAdmin = new KeycloakClient({ baseURL: kcUrl, realm: 'cdm', authRealm: 'master', clientId: 'admin-cli', username: 'admin', password: 'admin' });
const people: string[] = [];
let groupId = '';
let sshd: ChildProcess | undefined;
let browser: Browser | undefined;
let gatewayUrl = '';
const auditFile = path.join(tmp, 'audit.jsonl');
const closers: (() => unknown)[] = [];
/** What the test reads in the page. */
type Page = {
  document: { getElementById(id: string): { textContent: string | null } | null };
  cdmTerminal: { buffer: { active: { length: number; getLine(i: number): { translateToString(trim: boolean): string } | undefined } } };
};

for (const k of ['gateway', 'host']) execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', k, '-f', path.join(tmp, k)]);
fs.mkdirSync(path.join(tmp, 'tokens'));
const env = {
  ...bridgeEnv(stack, ctx.stateDir)['enroll-bridge'],
  DATA_DIR: path.join(tmp, 'data'),
  TENANT_TOKEN_DIR: path.join(tmp, 'tokens'),
  TERMINAL_GATEWAY_PUBLIC_KEY_FILE: path.join(tmp, 'gateway.pub'),
  LOG_LEVEL: 'warn',
};
const config = loadConfig(enrollBridgeConfig, env);
const bridge = await composeEnrollBridge(config, createLogger('term-e2e', { level: 'silent' }));
const tb = new ThingsBoardClient({ baseURL: config.THINGSBOARD_URL, username: config.THINGSBOARD_USERNAME, password: config.THINGSBOARD_PASSWORD });

let otherGroupId = '';
const person = async (username: string, ...groups: string[]) => void people.push(await createPerson(kcAdmin, { username, password, groups }));

beforeAll(async () => {
  await ensureTestTools('sshd', 'chromium');
  // The tenant as tenant-sync leaves it, and an on-call engineer in it.
  const mine: TestTenant = await createTenantGroup(kcAdmin, group);
  const other: TestTenant = await createTenantGroup(kcAdmin, `${group}-other`);
  groupId = mine.id;
  otherGroupId = other.id;
  await person(`oncall-${run}`, mine.roles.oncall);
  await person(`admin-${run}`, mine.roles.admin); // admin of the tenant, but no terminal role
  await person(`other-${run}`, other.roles.oncall); // on call, for another tenant
  await person(`mallory-${run}`, other.roles.oncall, other.roles.admin, groupId); // on call elsewhere, a plain member here
  await thingsboardTenant(tb, groupId, group);
  fs.writeFileSync(path.join(tmp, 'tokens', `${groupId}.json`), JSON.stringify({ cdmId: groupId, org: 'cdm', bucket: `cdm-${groupId}`, token: 't' }));

  // enroll-bridge's API over TLS on the devices' LAN, as in device/src/enroll-sh.e2e.test.ts.
  const key = path.join(tmp, 'api.key');
  const csr = execFileSync(
    'openssl',
    ['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', key, '-subj', `/CN=${HOST_FROM_DEVICES}`, '-addext', `subjectAltName=IP:${HOST_FROM_DEVICES}`],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] },
  );
  const cert = await bridge.clients.stepca.sign(csr, HOST_FROM_DEVICES, { sans: [HOST_FROM_DEVICES] });
  const api = createApiServer(
    createApi({ enroller: bridge.enroller, logger: createLogger('api', { level: 'silent' }), rootPem: bridge.clients.stepca.rootPem, perAddressPerMinute: 100, perClaimPerMinute: 100 }),
    { cert: [cert.crt, ...cert.certChain.slice(1)].join('\n'), key: fs.readFileSync(key), rootPem: bridge.clients.stepca.rootPem },
  );
  await new Promise<void>((r) => api.listen(0, HOST_FROM_DEVICES, r));
  closers.push(() => api.close());

  // The device: enroll.sh sends its host key and authorises the gateway's key, then sshd runs.
  await addDeviceNs(DEV);
  const etc = path.join(tmp, 'etc');
  fs.mkdirSync(etc);
  fs.writeFileSync(path.join(tmp, 'serial'), `${deviceId}\n`);
  fs.writeFileSync(path.join(etc, 'claim'), (await createClaim(bridge.store, { tenantId: groupId, uses: 1, expires: '1h' })).token);
  fs.writeFileSync(
    path.join(etc, 'device-config'),
    [
      `BRIDGE_API_URL=https://${HOST_FROM_DEVICES}:${(api.address() as AddressInfo).port}`,
      `ROOT_FINGERPRINT=${stack.stepca!.extra!.rootFingerprint}`,
      `SERIAL_SOURCE=${path.join(tmp, 'serial')}`,
      `SSH_HOST_KEY_FILE=${path.join(tmp, 'host.pub')}`,
      `AUTHORIZED_KEYS_FILE=${path.join(tmp, 'ssh', 'authorized_keys')}`,
      '',
    ].join('\n'),
  );
  const enrolled = await exec('ip', ['netns', 'exec', ns, 'bash', path.resolve(import.meta.dirname, '..', '..', 'device', 'enroll.sh'), 'enroll'], {
    env: { PATH: process.env.PATH!, CDM_ETC: etc, CDM_STATE: path.join(tmp, 'state'), CDM_WG_IF: `cdm${DEV}` },
    timeout: 120_000,
  });
  expect(enrolled.stderr).toContain('terminal gateway key authorised from 10.77.0.1');
  fs.writeFileSync(
    path.join(tmp, 'sshd_config'),
    [
      'Port 22',
      `HostKey ${path.join(tmp, 'host')}`,
      `AuthorizedKeysFile ${path.join(tmp, 'ssh', 'authorized_keys')}`,
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
  sshd = spawn('ip', ['netns', 'exec', ns, '/usr/sbin/sshd', '-D', '-e', '-f', path.join(tmp, 'sshd_config')], { stdio: 'ignore' });

  // The gateway beside the hub: it dials from the hub's namespace, so the device sees 10.77.0.1.
  const bridgeKc = new KeycloakClient({ baseURL: kcUrl, realm: 'cdm', clientId: config.KEYCLOAK_CLIENT_ID, clientSecret: config.KEYCLOAK_CLIENT_SECRET });
  // enroll-bridge's device directory, as its health port serves it; the gateway asks it with its service token.
  const directory = await serveDirectory(bridge.store, `${kcUrl}/realms/cdm`);
  const devices = new DirectoryDevices(new DeviceDirectoryClient({ baseURL: directory.url, token: () => bridgeKc.accessToken() }));
  const gateway = new TerminalGateway({
    verifier: new KeycloakTokenVerifier({ issuer: `${kcUrl}/realms/cdm`, audience: 'cdm-terminal' }),
    devices,
    authority: new TenantAuthority(bridgeKc, { parentPath: '/tenants', ttlMs: 0 }),
    audit: new AuditLog(auditFile),
    logger: createLogger('gateway', { level: 'silent' }),
    ssh: { user: 'root', port: 22, privateKey: fs.readFileSync(path.join(tmp, 'gateway')), netns: config.WG_NETNS },
    idleTimeoutMs: 60_000,
    maxSessionMs: 300_000,
    maxSessionsPerUser: 2,
  });
  const server = createTerminalServer(gateway, { issuer: `${kcUrl}/realms/cdm`, clientId: 'cdm-terminal' });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  gatewayUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  closers.push(
    () => gateway.close(),
    () => server.close(),
    () => directory.close(),
  );
  browser = await chromium.launch({ executablePath: '/usr/lib/chromium/chromium', args: ['--no-sandbox'] });
}, 300_000);

afterAll(async () => {
  await browser?.close();
  sshd?.kill();
  for (const c of closers) await c();
  await bridge.enroller.decommission(deviceId).catch(() => undefined);
  await bridge.store.close();
  await removeDeviceNs(DEV);
  for (const id of people) await kcAdmin.deleteUser(id).catch(() => undefined);
  for (const g of [groupId, otherGroupId]) if (g) await kcAdmin.deleteGroup(g).catch(() => undefined);
});

/** A real Keycloak token by password grant (both public clients allow it in the dev realm). */
async function tokenFor(username: string, clientId: string): Promise<string> {
  const r = await fetch(`${kcUrl}/realms/cdm/protocol/openid-connect/token`, { method: 'POST', body: new URLSearchParams({ grant_type: 'password', client_id: clientId, username, password }) });
  const t = (await r.json()) as { access_token?: string; error_description?: string };
  if (!t.access_token) throw new Error(`Keycloak refused ${username}: ${t.error_description}`);
  return t.access_token;
}
function refusal(token: string, device = deviceId): Promise<{ code: number; reason: string }> {
  const ws = new WebSocket(`${gatewayUrl.replace('http:', 'ws:')}/v1/terminal`);
  ws.on('open', () => ws.send(JSON.stringify({ type: 'auth', token, deviceId: device, reason: 'e2e refusal', cols: 80, rows: 24 })));
  return new Promise((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })));
}

describe('remote terminal in a browser', () => {
  it('refuses real Keycloak tokens for another audience, without a terminal role, of another tenant, for an unknown device', async () => {
    expect(await refusal(await tokenFor(`oncall-${run}`, 'cdm-console'))).toMatchObject({ code: 4401, reason: expect.stringMatching(/aud/) });
    expect(await refusal(await tokenFor(`admin-${run}`, 'cdm-terminal'))).toMatchObject({ code: 4404, reason: expect.stringMatching(/on-call or operator/) });
    expect(await refusal(await tokenFor(`other-${run}`, 'cdm-terminal'))).toMatchObject({ code: 4404 });
    // attack: on-call and admin in another tenant, a plain member of this one (realm-wide roles gave a root shell)
    expect(await refusal(await tokenFor(`mallory-${run}`, 'cdm-terminal'))).toMatchObject({ code: 4404 });
    expect(await refusal(await tokenFor(`oncall-${run}`, 'cdm-terminal'), 'NO-SUCH-DEVICE')).toMatchObject({ code: 4404 });
  });

  it('signs in with Keycloak, opens a shell on the device over WireGuard, runs echo cdm-$RANDOM, and audits the session', async () => {
    expect((await bridge.store.getDevice(deviceId))?.sshHostKey).toBe(fs.readFileSync(path.join(tmp, 'host.pub'), 'utf8').split(' ').slice(0, 2).join(' '));
    const page = await browser!.newPage();
    // A failure says what the page saw (console, errors, status line, address), not just "timeout".
    const seen: string[] = [];
    page.on('console', (m) => seen.push(`console: ${m.text()}`));
    page.on('pageerror', (e) => seen.push(`error: ${e.message}`));
    const explain = async (err: unknown) => {
      const status = await page
        .locator('#status')
        .textContent()
        .catch(() => '?');
      throw new Error(`${(err as Error).message}\npage: ${page.url().replace(/code=[^&]+/, 'code=…')}\nstatus: ${status}\n${seen.join('\n')}`);
    };
    await page.goto(`${gatewayUrl}/?device=${deviceId}`);
    await page.waitForSelector('#username', { timeout: 30_000 }); // Keycloak's login form
    await page.fill('#username', `oncall-${run}`);
    await page.fill('#password', password);
    await page.click('#kc-login');
    // These functions run in the page (under its CSP: no string eval); this file has no DOM types.
    await page.waitForFunction(() => (globalThis as unknown as Page).document.getElementById('status')?.textContent === 'signed in', undefined, { timeout: 30_000 }).catch(explain);
    expect(page.url()).not.toContain('code='); // the authorization code left the address bar
    await page.fill('input[name=reason]', 'e2e: checking the device after alarm');
    await page.click('button');
    await page.waitForFunction(() => (globalThis as unknown as Page).document.getElementById('status')?.textContent?.startsWith('connected'), undefined, { timeout: 30_000 }).catch(explain);
    await page.keyboard.type('echo cdm-$RANDOM\n');
    // The output line (not the typed command): exactly cdm-<digits>.
    const line = await page
      .waitForFunction(
        () => {
          const b = (globalThis as unknown as Page).cdmTerminal.buffer.active;
          for (let i = 0; i < b.length; i++) {
            const m = /^cdm-\d+$/.exec((b.getLine(i)?.translateToString(true) ?? '').trim());
            if (m) return m[0];
          }
          return false;
        },
        undefined,
        { timeout: 30_000 },
      )
      .catch(explain);
    const echoed = await line.jsonValue();
    expect(echoed).toMatch(/^cdm-\d+$/);
    await page.close();
    for (const end = Date.now() + 10_000; !fs.existsSync(auditFile) || !fs.readFileSync(auditFile, 'utf8').includes('"event":"session"'); await new Promise((r) => setTimeout(r, 100))) {
      if (Date.now() > end) throw new Error('no session in the audit log');
    }
    const rec = fs
      .readFileSync(auditFile, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .find((r) => r.event === 'session');
    expect(rec).toMatchObject({ user: `oncall-${run}`, deviceId, tenant: group, reason: 'e2e: checking the device after alarm', closedBy: 'browser' });
    expect(Number(rec!.bytesIn)).toBeGreaterThan(0);
    expect(fs.readFileSync(auditFile, 'utf8')).not.toContain('eyJ');
  }, 180_000);
});
