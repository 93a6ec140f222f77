import { execFile } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { decryptProvisionerKey, readEncryptedKey } from '@cdm/common';
import { defaultContext, PORTS } from '@cdm/stack';
import { describe, expect, it } from 'vitest';

/**
 * The init scripts compose runs inside the upstream images, run here natively against the same
 * programs: step (step-ca's CLI, as the local stack installs it) and PostgreSQL 15 (the stack's).
 */
const dir = path.resolve(import.meta.dirname, '..');
const exec = promisify(execFile);
const ctx = defaultContext();
const bin = path.join(ctx.cacheDir, 'bin');

describe('compose init scripts', () => {
  it('step-ca: CA keys and the bridges’ provisioner key get different passwords; the keys stay in secrets/', async () => {
    const steppath = fs.mkdtempSync(path.join(os.tmpdir(), 'cdm-stepinit-'));
    const env = { PATH: `${bin}:${process.env.PATH}`, STEPPATH: steppath, HOME: steppath, CDM_STEPCA_PASSWORD: 'ca-pw-Zk81', CDM_STEPCA_PROVISIONER_PASSWORD: 'prov-pw-Qm27' };
    await exec('bash', [path.join(dir, 'step-ca', 'init.sh'), '--init-only'], { env, timeout: 60_000 });
    const jwe = readEncryptedKey(path.join(steppath, 'config', 'ca.json'), 'cdm-bridge');
    await expect(decryptProvisionerKey('cdm-bridge', jwe, 'prov-pw-Qm27')).resolves.toBeDefined();
    await expect(decryptProvisionerKey('cdm-bridge', jwe, 'ca-pw-Zk81')).rejects.toThrow();
    // the intermediate key opens with the CA password only
    const key = path.join(steppath, 'secrets', 'intermediate_ca_key');
    await expect(
      exec(path.join(bin, 'step'), ['crypto', 'key', 'format', '--pem', '--no-password', '--insecure', '--password-file', pwFile(steppath, 'ca-pw-Zk81'), key], { env }),
    ).resolves.toBeDefined();
    await expect(
      exec(path.join(bin, 'step'), ['crypto', 'key', 'format', '--pem', '--no-password', '--insecure', '--password-file', pwFile(steppath, 'prov-pw-Qm27'), key], { env }),
    ).rejects.toThrow();
    // what enroll-bridge mounts (the volume without secrets/) holds no private key and no password
    const outside = walk(steppath).filter((f) => !f.startsWith(path.join(steppath, 'secrets')) && !f.includes('cdm-pw-'));
    for (const f of outside) {
      const text = fs.readFileSync(f).toString('latin1');
      expect(text, f).not.toMatch(/PRIVATE KEY|ca-pw-Zk81|prov-pw-Qm27/);
    }
    expect(fs.statSync(path.join(steppath, 'secrets')).mode & 0o077).toBe(0);
  });

  it('step-ca: refuses CHANGE_ME and one password for both', async () => {
    const steppath = fs.mkdtempSync(path.join(os.tmpdir(), 'cdm-stepinit-'));
    const run = (a: string, b: string) =>
      exec('bash', [path.join(dir, 'step-ca', 'init.sh'), '--init-only'], {
        env: { PATH: `${bin}:${process.env.PATH}`, STEPPATH: steppath, CDM_STEPCA_PASSWORD: a, CDM_STEPCA_PROVISIONER_PASSWORD: b },
      }).then(
        () => 0,
        (e: { code: number; stderr: string }) => e,
      );
    expect(await run('CHANGE_ME', 'x')).toMatchObject({ code: 78, stderr: expect.stringContaining('CDM_STEPCA_PASSWORD') });
    expect(await run('same-pw-1', 'same-pw-1')).toMatchObject({ code: 78, stderr: expect.stringContaining('must differ') });
    expect(fs.existsSync(path.join(steppath, 'config', 'ca.json'))).toBe(false);
  });

  it('attack: PostgreSQL init takes a password with quotes and SQL as a literal (no injection)', async () => {
    const db = `cdmt_${crypto.randomBytes(3).toString('hex')}`;
    const marker = `cdmx_${crypto.randomBytes(3).toString('hex')}`;
    const password = `pw'; CREATE ROLE ${marker}; --`;
    const asPostgres = (cmd: string, args: string[], env: Record<string, string> = {}) =>
      exec('runuser', ['-u', 'postgres', '--', 'env', ...Object.entries({ PGHOST: '/var/run/postgresql', PGPORT: String(PORTS.postgres), ...env }).map(([k, v]) => `${k}=${v}`), cmd, ...args]);
    try {
      // The postgres user runs it, and may not be able to enter the checkout (a private temp dir).
      const readable = fs.mkdtempSync(path.join(os.tmpdir(), 'cdm-pginit-'));
      fs.chmodSync(readable, 0o755);
      fs.copyFileSync(path.join(dir, 'postgres', 'init-databases.sh'), path.join(readable, 'init-databases.sh'));
      fs.chmodSync(path.join(readable, 'init-databases.sh'), 0o644);
      await asPostgres('sh', [path.join(readable, 'init-databases.sh')], { POSTGRES_USER: 'postgres', CDM_PG_DATABASES: db, [`CDM_PG_${db}_PASSWORD`]: password });
      const roles = (await asPostgres('psql', ['-d', 'postgres', '-tAc', `SELECT rolname FROM pg_roles WHERE rolname IN ('${db}', '${marker}') ORDER BY 1`])).stdout.trim().split('\n');
      expect(roles).toEqual([db]);
      // the role logs in with exactly that password, over TCP like the services do
      const who = await exec('psql', ['-h', '127.0.0.1', '-p', String(PORTS.postgres), '-U', db, '-d', db, '-tAc', 'SELECT current_user'], { env: { ...process.env, PGPASSWORD: password } });
      expect(who.stdout.trim()).toBe(db);
    } finally {
      await asPostgres('psql', ['-d', 'postgres', '-c', `DROP DATABASE IF EXISTS ${db}`]).catch(() => undefined);
      await asPostgres('psql', ['-d', 'postgres', '-c', `DROP ROLE IF EXISTS ${db}`]).catch(() => undefined);
      await asPostgres('psql', ['-d', 'postgres', '-c', `DROP ROLE IF EXISTS ${marker}`]).catch(() => undefined);
    }
  });
});

function pwFile(dir: string, pw: string): string {
  const f = path.join(dir, `cdm-pw-${crypto.randomBytes(3).toString('hex')}`);
  fs.writeFileSync(f, pw, { mode: 0o600 });
  return f;
}

function walk(d: string): string[] {
  return fs.readdirSync(d, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(path.join(d, e.name)) : [path.join(d, e.name)]));
}
