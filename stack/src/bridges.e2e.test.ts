import { execFile, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { TenantDirectory, ThingsBoardClient } from '@cdm/common';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { BRIDGES, bridgeEnv } from './bridge-env.ts';
import { defaultContext } from './paths.ts';
import { startBridge } from './run.ts';

/** `npm start`'s bridges against the local stack: each reports every upstream healthy. */
const stack = inject('stack');
const ctx = defaultContext();
const children: ChildProcess[] = [];
const exec = promisify(execFile);
afterAll(() => children.forEach((c) => c.kill('SIGTERM')));

async function healthz(port: number, timeoutMs = 30_000): Promise<{ status: number; body: { status: string; checks: Record<string, { ok: boolean; error?: string }> } }> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const res = await fetch(`http://127.0.0.1:${port}/healthz`);
      return { status: res.status, body: (await res.json()) as never };
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}

describe('bridges on the local stack', () => {
  it('start from their composition roots and see every upstream', async () => {
    const envs = bridgeEnv(stack, ctx.stateDir);
    const ports = { 'tenant-sync': 29101, 'enroll-bridge': 29102, 'ota-bridge': 29103, 'fleet-api': 29105, 'fleet-monitor': 29106 } as const;
    // ota-bridge asks enroll-bridge's device directory, served on enroll-bridge's health port.
    const directory = { DIRECTORY_URL: `http://127.0.0.1:${ports['enroll-bridge']}` };
    const chunks = fs.mkdtempSync(path.join(os.tmpdir(), 'cdm-bridges-chunks-'));
    const own = { 'fleet-api': { ...directory, LISTEN_PORT: '0' }, 'ota-bridge': { CHUNK_STORE_DIR: chunks, CHUNK_STORE_PORT: '29114' } } as Record<string, Record<string, string>>;
    for (const b of BRIDGES) children.push(startBridge(ctx.repoDir, b, { ...envs[b], ...(b === 'ota-bridge' ? directory : {}), ...own[b], HEALTH_PORT: String(ports[b]), LOG_LEVEL: 'warn' }));
    for (const b of BRIDGES) {
      const h = await healthz(ports[b]);
      expect(h.body.status, `${b}: ${JSON.stringify(h.body.checks)}`).toBe('ok');
      expect(h.status).toBe(200);
    }
    expect(Object.keys((await healthz(ports['tenant-sync'])).body.checks)).toEqual(['keycloak', 'thingsboard', 'grafana', 'influxdb', 'reconcile']);
    expect(Object.keys((await healthz(ports['fleet-api'])).body.checks)).toEqual(['keycloak', 'thingsboard', 'hawkbit', 'directory']);
    expect(Object.keys((await healthz(ports['fleet-monitor'])).body.checks)).toEqual(['thingsboard', 'influxdb']);
    // ota-bridge's daemon serves the delta-update chunk store: a chunk by its id, nothing else, counted in /metrics.
    const id = `0a1b${'2'.repeat(60)}`;
    fs.mkdirSync(path.join(chunks, '0a1b'));
    fs.writeFileSync(path.join(chunks, '0a1b', `${id}.cacnk`), 'chunk');
    expect((await fetch('http://127.0.0.1:29114/')).status).toBe(404);
    expect(await (await fetch(`http://127.0.0.1:29114/0a1b/${id}.cacnk`)).text()).toBe('chunk');
    expect(await (await fetch(`http://127.0.0.1:${ports['ota-bridge']}/metrics`)).text()).toMatch(/^cdm_chunk_store_bytes_total 5$/m);
  });

  it('a person enrolls a device by hand: stack device <n> enroll --tenant acme, then the device reaches the hub through its tunnel', async () => {
    // tenant-sync's first pass makes the dev realm's tenant acme downstream.
    const tb = new ThingsBoardClient({ baseURL: stack.thingsboard!.url, username: 'sysadmin@thingsboard.org', password: 'sysadmin' });
    const tenants = new TenantDirectory(tb, 0);
    for (const deadline = Date.now() + 60_000; !(await tenants.find('acme')); await new Promise((r) => setTimeout(r, 500))) {
      if (Date.now() > deadline) throw new Error('tenant-sync did not make acme in ThingsBoard within 60 s');
    }
    const serial = `HAND${crypto.randomBytes(3).toString('hex').toUpperCase()}`;
    const cli = (...args: string[]) =>
      exec(process.execPath, ['--import', 'tsx', path.join(ctx.repoDir, 'stack', 'src', 'cli.ts'), ...args], { cwd: ctx.repoDir, timeout: 120_000 }).then(
        (r) => ({ code: 0, out: r.stdout + r.stderr }),
        (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, out: e.stdout + e.stderr }),
      );
    try {
      const r = await cli('device', '77', 'enroll', '--tenant', 'acme', '--serial', serial);
      expect(r.code, r.out).toBe(0);
      expect(r.out).toMatch(new RegExp(`enrolled ${serial}: 10\\.77\\.`));
      expect((await exec('ip', ['netns', 'exec', 'cdm-dev-77', 'ping', '-c', '1', '-W', '3', '10.77.0.1'])).stdout).toContain('1 received');
    } finally {
      await cli('device', '77', 'remove');
      await exec(process.execPath, ['--import', 'tsx', path.join(ctx.repoDir, 'enroll-bridge', 'src', 'main.ts'), 'decommission', serial], {
        cwd: ctx.repoDir,
        env: { ...process.env, ...bridgeEnv(stack, ctx.stateDir)['enroll-bridge'] },
      }).catch(() => undefined);
    }
  });

  it('report a failing upstream by name (503), without leaking the secret', async () => {
    const env = { ...bridgeEnv(stack, ctx.stateDir)['ota-bridge'], THINGSBOARD_PASSWORD: 'wrong-pass-x9', HEALTH_PORT: '29113', CHUNK_STORE_PORT: '0', LOG_LEVEL: 'warn' };
    children.push(startBridge(ctx.repoDir, 'ota-bridge', env));
    const h = await healthz(29113);
    expect(h.status).toBe(503);
    expect(h.body.checks.thingsboard?.ok).toBe(false);
    expect(h.body.checks.thingsboard?.error).toContain('ThingsBoard: POST /api/auth/login failed (HTTP 401)');
    expect(JSON.stringify(h.body)).not.toContain('wrong-pass-x9');
    expect(h.body.checks.hawkbit?.ok).toBe(true);
  });

  it('refuse to start with a missing or invalid variable, naming it', async () => {
    const env = { ...bridgeEnv(stack, ctx.stateDir)['enroll-bridge'], STEPCA_ROOT_FINGERPRINT: 'not-a-fingerprint', HEALTH_PORT: '29122' };
    const child = startBridge(ctx.repoDir, 'enroll-bridge', env);
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    const code = await new Promise<number | null>((r) => child.on('exit', r));
    expect(code).toBe(1);
    expect(stderr).toContain('STEPCA_ROOT_FINGERPRINT: a lowercase hex SHA-256 fingerprint');
  });
});
