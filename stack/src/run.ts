import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { BRIDGES, bridgeEnv, type Bridge } from './bridge-env.ts';
import { PORTS } from './paths.ts';
import { startWebhookReceiver } from './webhook-receiver.ts';
import type { Endpoint, StackContext } from './types.ts';

/** Starts one bridge as a child process; its output is prefixed with its name. */
export function startBridge(repoDir: string, name: Bridge, env: Record<string, string>): ChildProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(repoDir, name, 'src', 'main.ts')], {
    cwd: repoDir,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const prefix = (chunk: Buffer) =>
    chunk
      .toString()
      .split('\n')
      .filter(Boolean)
      .map((l) => `${name.padEnd(13)}| ${l}\n`)
      .join('');
  child.stdout?.on('data', (d: Buffer) => process.stdout.write(prefix(d)));
  child.stderr?.on('data', (d: Buffer) => process.stderr.write(prefix(d)));
  return child;
}

/**
 * `npm start`: the bridges and the fleet API against the local stack, in the foreground until Ctrl-C. With
 * upstream URLs already in the environment (ops' own servers), the caller skips the stack and the
 * bridges read that environment instead.
 */
export async function runBridges(ctx: StackContext, endpoints: Record<string, Endpoint> | undefined): Promise<number> {
  const envs = endpoints ? bridgeEnv(endpoints, ctx.stateDir) : undefined;
  // Where alarm notifications land locally (a paging gateway's place): shown here and kept in a file.
  const file = path.join(ctx.stateDir, 'notifications.jsonl');
  const receiver = envs
    ? await startWebhookReceiver({
        port: PORTS.notifyReceiver,
        file,
        onReceive: (n) => process.stdout.write(`${'notify'.padEnd(13)}| ${n.path}: ${summary(n.body)}\n`),
      })
    : undefined;
  const children = BRIDGES.map((b) => startBridge(ctx.repoDir, b, envs?.[b] ?? {}));
  ctx.log(
    envs
      ? `bridges running: ${BRIDGES.map((b) => `${b} :${envs[b].HEALTH_PORT}`).join(', ')} (/healthz, /metrics; the fleet API on http://127.0.0.1:${envs['fleet-api'].LISTEN_PORT}/v1, document /v1/openapi.json, device page /?device=<id>); alarm notifications (ThingsBoard escalation) arrive at ${receiver?.url}, logged here and in ${file}. Ctrl-C stops them; the stack keeps running (npm run stack -- down).`
      : `bridges running against the upstreams in the environment (ports: each bridge's HEALTH_PORT). Ctrl-C stops them.`,
  );
  return new Promise((resolve) => {
    let exited = 0;
    let failed = 0;
    const stop = () => children.forEach((c) => c.kill('SIGTERM'));
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    for (const c of children) {
      c.on('exit', (code) => {
        if (code) failed++;
        if (++exited === children.length) void (receiver?.close() ?? Promise.resolve()).then(() => resolve(failed ? 1 : 0));
      });
    }
  });
}

/** A Teams message card's subject and text (what ThingsBoard sends), else the body's start. */
function summary(body: unknown): string {
  const b = body as { summary?: string; sections?: { activitySubtitle?: string }[]; text?: string } | undefined;
  return b?.summary ? `${b.summary} — ${b.sections?.[0]?.activitySubtitle ?? b.text ?? ''}` : JSON.stringify(body).slice(0, 200);
}
