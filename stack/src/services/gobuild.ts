import fs from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';
import type { StackContext } from '../types.ts';

export const binDir = (ctx: StackContext) => path.join(ctx.cacheDir, 'bin');

/**
 * `go install module@version` into the cache, skipped when the binary carries the same version
 * stamp. Builds take minutes on 2 cores, so elapsed time is printed while it runs.
 */
export async function ensureGoBinary(ctx: StackContext, spec: { name: string; module: string; version: string }): Promise<string> {
  const bin = path.join(binDir(ctx), spec.name);
  const stamp = `${bin}.version`;
  const want = `${spec.module}@${spec.version}`;
  if (fs.existsSync(bin) && fs.existsSync(stamp) && fs.readFileSync(stamp, 'utf8').trim() === want) return bin;
  fs.mkdirSync(binDir(ctx), { recursive: true });
  ctx.log(`[install] go install ${want} (a few minutes on first run)`);
  const started = Date.now();
  const tick = setInterval(() => ctx.log(`[install]   ... ${spec.name} still building (${Math.round((Date.now() - started) / 1000)} s)`), 30_000);
  try {
    await new Promise<void>((resolve, reject) => {
      const child = spawn('go', ['install', want], {
        env: { ...process.env, GOBIN: binDir(ctx), CGO_ENABLED: '0', GOFLAGS: '-mod=mod' },
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      let err = '';
      child.stderr.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-4000)));
      child.on('error', reject);
      child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`go install ${want} failed (exit ${code}). Is Go >= 1.22 installed and the Go module proxy reachable?\n${err}`))));
    });
  } finally {
    clearInterval(tick);
  }
  fs.writeFileSync(stamp, want);
  return bin;
}
