import crypto from 'node:crypto';
import fs from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import { PORTS } from '../paths.ts';
import { execFileP, spawnDetached, stopDetached } from '../proc.ts';
import type { Service, StackContext } from '../types.ts';
import { binDir, ensureGoBinary } from './gobuild.ts';

export const STEP_CA = { name: 'step-ca', module: 'github.com/smallstep/certificates/cmd/step-ca', version: 'v0.30.2' };
const STEP = { name: 'step', module: 'github.com/smallstep/cli/cmd/step', version: 'v0.30.6' };
export const PROVISIONER = 'cdm-bridge';
const url = `https://127.0.0.1:${PORTS.stepca}`;

export const stepPath = (ctx: StackContext) => path.join(ctx.stateDir, 'stepca');
const files = (ctx: StackContext) => ({
  password: path.join(stepPath(ctx), 'secrets', 'password'),
  caJson: path.join(stepPath(ctx), 'config', 'ca.json'),
  root: path.join(stepPath(ctx), 'certs', 'root_ca.crt'),
  intermediate: path.join(stepPath(ctx), 'certs', 'intermediate_ca.crt'),
  fingerprint: path.join(stepPath(ctx), 'root_fingerprint'),
});

export function rootFingerprint(ctx: StackContext): string {
  const f = files(ctx);
  return fs.existsSync(f.fingerprint) ? fs.readFileSync(f.fingerprint, 'utf8').trim() : '';
}

/** `step ca init` once per state dir: root, intermediate and the bridge's JWK provisioner. */
async function initCa(ctx: StackContext): Promise<void> {
  const f = files(ctx);
  if (fs.existsSync(f.caJson)) return;
  fs.mkdirSync(path.dirname(f.password), { recursive: true, mode: 0o700 });
  // Development CA: a random password kept in the state dir (never in the repo).
  fs.writeFileSync(f.password, crypto.randomBytes(24).toString('base64url'), { mode: 0o600 });
  await execFileP(
    path.join(binDir(ctx), 'step'),
    [
      'ca',
      'init',
      '--deployment-type=standalone',
      '--name=cdm dev CA',
      '--dns=127.0.0.1',
      '--dns=localhost',
      `--address=127.0.0.1:${PORTS.stepca}`,
      `--provisioner=${PROVISIONER}`,
      `--password-file=${f.password}`,
      `--provisioner-password-file=${f.password}`,
    ],
    { env: { ...process.env, STEPPATH: stepPath(ctx) } },
  );
  // Device certificates: a day by default, renewable, bounded to 30 days.
  const ca = JSON.parse(fs.readFileSync(f.caJson, 'utf8'));
  ca.authority.claims = { minTLSCertDuration: '5m', maxTLSCertDuration: '720h', defaultTLSCertDuration: '24h', disableRenewal: false };
  fs.writeFileSync(f.caJson, JSON.stringify(ca, null, 2));
  const der = new crypto.X509Certificate(fs.readFileSync(f.root)).raw;
  fs.writeFileSync(f.fingerprint, crypto.createHash('sha256').update(der).digest('hex'));
}

export const stepca: Service = {
  name: 'stepca',
  real: true,
  version: `step-ca ${STEP_CA.version}, step ${STEP.version}`,
  startTimeoutSec: 30,
  async install(ctx) {
    await ensureGoBinary(ctx, STEP_CA);
    await ensureGoBinary(ctx, STEP);
  },
  async start(ctx) {
    await initCa(ctx);
    const f = files(ctx);
    spawnDetached(ctx, 'stepca', path.join(binDir(ctx), 'step-ca'), [f.caJson, `--password-file=${f.password}`], {
      env: { STEPPATH: stepPath(ctx) },
    });
  },
  async healthy(ctx) {
    const f = files(ctx);
    if (!fs.existsSync(f.root)) return false;
    return new Promise((resolve) => {
      const req = https.get(`${url}/health`, { ca: fs.readFileSync(f.root), timeout: 3000 }, (res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d));
        res.on('end', () => resolve(res.statusCode === 200 && body.includes('"ok"')));
      });
      req.on('error', () => resolve(false));
      req.on('timeout', () => req.destroy());
    });
  },
  endpoint(ctx) {
    const f = files(ctx);
    return {
      url,
      extra: {
        rootFingerprint: rootFingerprint(ctx),
        rootCert: f.root,
        intermediateCert: f.intermediate,
        provisioner: PROVISIONER,
        provisionerPasswordFile: f.password,
        caJson: f.caJson,
        stepPath: stepPath(ctx),
        stepBin: path.join(binDir(ctx), 'step'),
      },
    };
  },
  stop: (ctx) => stopDetached(ctx, 'stepca'),
};

/**
 * A TLS server certificate for `host` from the stack's step-ca (for the servers devices connect
 * to), in `dir`: server.crt (leaf + intermediate), server.key, and ca-chain.crt (root +
 * intermediate, what client chains are checked against). Re-issued when under a week is left.
 */
export async function serverCertificate(ctx: StackContext, dir: string, host = '127.0.0.1'): Promise<{ cert: string; key: string; cafile: string }> {
  const out = { cert: path.join(dir, 'server.crt'), key: path.join(dir, 'server.key'), cafile: path.join(dir, 'ca-chain.crt') };
  const ca = stepca.endpoint(ctx).extra!;
  const existing = fs.existsSync(out.cert) ? new crypto.X509Certificate(fs.readFileSync(out.cert)) : undefined;
  // Reissued when it expires within a week, or does not name the address it is now served on.
  const fresh = existing && Date.parse(existing.validTo) - Date.now() > 7 * 86_400_000 && (existing.subjectAltName ?? '').split(', ').includes(`IP Address:${host}`);
  if (!fresh) {
    fs.mkdirSync(dir, { recursive: true });
    await execFileP(
      ca.stepBin!,
      [
        'ca',
        'certificate',
        host,
        out.cert,
        out.key,
        `--san=${host}`,
        ...(host === '127.0.0.1' ? ['--san=localhost'] : []),
        '--not-after=720h',
        `--provisioner=${ca.provisioner}`,
        `--password-file=${ca.provisionerPasswordFile}`,
        `--ca-url=${url}`,
        `--root=${ca.rootCert}`,
        '--force',
      ],
      { env: { ...process.env, STEPPATH: ca.stepPath } },
    );
  }
  fs.writeFileSync(out.cafile, fs.readFileSync(ca.rootCert!, 'utf8') + fs.readFileSync(ca.intermediateCert!, 'utf8'));
  return out;
}
