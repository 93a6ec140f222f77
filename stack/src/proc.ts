import net from 'node:net';
import { spawn, execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import type { StackContext } from './types.ts';

export const execFileP = promisify(execFile);

const pidFile = (ctx: StackContext, name: string) => path.join(ctx.stateDir, 'pids', `${name}.pid`);
export const logFile = (ctx: StackContext, name: string) => path.join(ctx.stateDir, 'logs', `${name}.log`);

/** Starts a long-running process detached from us, output appended to logs/<name>.log. */
export function spawnDetached(ctx: StackContext, name: string, cmd: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): number {
  fs.mkdirSync(path.dirname(pidFile(ctx, name)), { recursive: true });
  fs.mkdirSync(path.dirname(logFile(ctx, name)), { recursive: true });
  const out = fs.openSync(logFile(ctx, name), 'a');
  const child = spawn(cmd, args, {
    cwd: opts.cwd,
    env: { ...process.env, ...opts.env },
    detached: true,
    stdio: ['ignore', out, out],
  });
  fs.closeSync(out);
  if (!child.pid) throw new Error(`${name}: could not start ${cmd}`);
  child.unref();
  fs.writeFileSync(pidFile(ctx, name), String(child.pid));
  return child.pid;
}

export function readPid(ctx: StackContext, name: string): number | undefined {
  try {
    const pid = Number(fs.readFileSync(pidFile(ctx, name), 'utf8'));
    process.kill(pid, 0);
    return pid;
  } catch {
    return undefined;
  }
}

/** Stops the process group started by spawnDetached: SIGTERM, then SIGKILL after a grace period. */
export async function stopDetached(ctx: StackContext, name: string, graceMs = 15_000): Promise<void> {
  const pid = readPid(ctx, name);
  if (pid) {
    try {
      process.kill(-pid, 'SIGTERM');
    } catch {
      /* already gone */
    }
    const deadline = Date.now() + graceMs;
    while (Date.now() < deadline && alive(pid)) await sleep(200);
    if (alive(pid)) {
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
  }
  fs.rmSync(pidFile(ctx, name), { force: true });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** GET url and report whether it answered with an accepted status (no throw). */
/** True when something accepts TCP connections at host:port (a listener on the expected address). */
export function tcpOpen(host: string, port: number, timeoutMs = 2000): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = net.connect({ host, port });
    const done = (ok: boolean) => (sock.destroy(), resolve(ok));
    sock.setTimeout(timeoutMs, () => done(false));
    sock.once('connect', () => done(true));
    sock.once('error', () => done(false));
  });
}

export async function httpOk(url: string, accept: (status: number) => boolean = (s) => s < 500): Promise<boolean> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(3000) });
    return accept(res.status);
  } catch {
    return false;
  }
}

/** Last lines of a service log, for a loud failure message. */
export function tailLog(ctx: StackContext, name: string, lines = 30): string {
  try {
    return fs.readFileSync(logFile(ctx, name), 'utf8').split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

/** Resident memory (MiB) of the process group a service was started in, from ps. */
export async function groupRssMiB(ctx: StackContext, name: string): Promise<number | undefined> {
  const pid = readPid(ctx, name);
  if (!pid) return undefined;
  try {
    const { stdout } = await execFileP('ps', ['-o', 'rss=', '-g', String(pid)]);
    return Math.round(stdout.split('\n').reduce((sum, l) => sum + (Number(l.trim()) || 0), 0) / 1024);
  } catch {
    return undefined;
  }
}

/**
 * A server process owned by the caller (benchmarks, tests), not by the stack: started, waited for
 * until `ready()` answers true, stopped with the returned function or when this process exits.
 */
export async function startOwned(
  name: string,
  cmd: string,
  args: string[],
  o: { cwd?: string; env?: NodeJS.ProcessEnv; ready: () => Promise<boolean>; timeoutMs: number; onStop?: () => void },
): Promise<{ stop: () => Promise<void> }> {
  const child = spawn(cmd, args, { cwd: o.cwd, env: { ...process.env, ...o.env }, stdio: ['ignore', 'pipe', 'pipe'] });
  // The last lines it printed, to say why when it does not come up.
  const tail: string[] = [];
  const keep = (d: Buffer) => tail.push(...d.toString().split('\n').filter(Boolean)) > 40 && tail.splice(0, tail.length - 40);
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const kill = () => child.kill('SIGTERM');
  process.once('exit', kill);
  for (const deadline = Date.now() + o.timeoutMs; !(await o.ready()); await sleep(500)) {
    if (Date.now() > deadline || child.exitCode !== null) {
      kill();
      const why = tail.filter((l) => /ERROR|Exception|Caused by/.test(l)).slice(-8);
      throw new Error(`${name} did not start within ${o.timeoutMs / 1000} s (exit ${child.exitCode}). Last lines:\n${(why.length ? why : tail.slice(-15)).join('\n')}`);
    }
  }
  // Running: stop keeping its output.
  child.stdout?.removeListener('data', keep).resume();
  child.stderr?.removeListener('data', keep).resume();
  return {
    stop: () =>
      new Promise<void>((resolve) => {
        process.removeListener('exit', kill);
        child.once('exit', () => {
          o.onStop?.();
          resolve();
        });
        kill();
      }),
  };
}
