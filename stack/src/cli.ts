import fs from 'node:fs';
import { defaultContext, stackJsonPath } from './paths.ts';
import { services } from './services/index.ts';
import { groupRssMiB, sleep, tailLog } from './proc.ts';
import type { Endpoint, Service, StackContext } from './types.ts';

const usage = `usage: stack <command> [service...]
  install   download/build every pinned upstream into the cache (no start)
  up        install, start on loopback, wait until healthy, print URLs and credentials
  down      stop everything the stack started
  status    show which services are healthy
  env       print the stack endpoints as shell variables for the bridges
  run       up, then run the three bridges in the foreground against the stack`;

function pick(names: string[]): Service[] {
  if (names.length === 0) return services;
  const unknown = names.filter((n) => !services.some((s) => s.name === n));
  if (unknown.length) throw new Error(`unknown service(s): ${unknown.join(', ')}`);
  return services.filter((s) => names.includes(s.name));
}

export async function install(ctx: StackContext, list: Service[]): Promise<void> {
  for (const s of list) {
    const t = Date.now();
    ctx.log(`[install] ${s.name} ${s.version} ...`);
    await s.install(ctx);
    ctx.log(`[install] ${s.name} ready (${((Date.now() - t) / 1000).toFixed(1)} s)`);
  }
}

/** Starts what is not already healthy (a running stack is reused) and waits for each. */
export async function up(ctx: StackContext, list: Service[] = services): Promise<Record<string, Endpoint>> {
  await install(ctx, list);
  for (const s of list) {
    if (await s.healthy(ctx)) {
      ctx.log(`[up] ${s.name} already running, reused`);
    } else {
      const t = Date.now();
      ctx.log(`[up] starting ${s.name} ...`);
      await s.start(ctx);
      const deadline = Date.now() + s.startTimeoutSec * 1000;
      while (!(await s.healthy(ctx))) {
        if (Date.now() > deadline) {
          throw new Error(
            `${s.name} did not become healthy within ${s.startTimeoutSec} s. Last log lines:\n${tailLog(ctx, s.name)}`,
          );
        }
        await sleep(500);
      }
      ctx.log(`[up] ${s.name} healthy (${((Date.now() - t) / 1000).toFixed(1)} s)`);
    }
    await s.afterStart?.(ctx);
  }
  const endpoints = Object.fromEntries(services.map((s) => [s.name, s.endpoint(ctx)]));
  fs.mkdirSync(ctx.stateDir, { recursive: true });
  fs.writeFileSync(stackJsonPath(ctx), JSON.stringify(endpoints, null, 2));
  return endpoints;
}

export async function down(ctx: StackContext, list: Service[] = services): Promise<void> {
  for (const s of [...list].reverse()) {
    ctx.log(`[down] stopping ${s.name}`);
    await s.stop(ctx);
  }
}

function printEndpoints(endpoints: Record<string, Endpoint>): void {
  for (const [name, e] of Object.entries(endpoints)) {
    const svc = services.find((s) => s.name === name);
    console.log(`${name.padEnd(14)} ${svc?.real ? 'real' : 'fake'}  ${e.url}`);
    for (const [k, v] of Object.entries({ ...e.credentials, ...e.extra })) console.log(`${''.padEnd(20)}${k}: ${v}`);
  }
}

async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  const ctx = defaultContext();
  switch (cmd) {
    case 'install':
      await install(ctx, pick(rest));
      return 0;
    case 'up':
      printEndpoints(await up(ctx, pick(rest)));
      return 0;
    case 'down':
      await down(ctx, pick(rest));
      return 0;
    case 'status': {
      let bad = 0;
      let total = 0;
      for (const s of pick(rest)) {
        const ok = await s.healthy(ctx);
        if (!ok) bad++;
        const rss = await groupRssMiB(ctx, s.name);
        total += rss ?? 0;
        console.log(`${s.name.padEnd(14)} ${ok ? 'healthy' : 'DOWN   '}  ${(rss === undefined ? '-' : `${rss} MiB`).padStart(8)}  ${s.endpoint(ctx).url}`);
      }
      console.log(`${'total'.padEnd(14)}          ${`${total} MiB`.padStart(8)}`);
      return bad ? 1 : 0;
    }
    case 'run': {
      const { runBridges } = await import('./run.ts');
      // Upstream URLs in the environment mean ops' own servers: no local stack then.
      const external = ['KEYCLOAK_URL', 'THINGSBOARD_URL', 'HAWKBIT_URL'].some((v) => process.env[v]);
      return runBridges(ctx, external ? undefined : await up(ctx));
    }
    case 'env': {
      const { bridgeEnv } = await import('./bridge-env.ts');
      const endpoints = JSON.parse(fs.readFileSync(stackJsonPath(ctx), 'utf8')) as Record<string, Endpoint>;
      for (const [bridge, env] of Object.entries(bridgeEnv(endpoints, ctx.stateDir))) {
        console.log(`# ${bridge}`);
        for (const [k, v] of Object.entries(env)) console.log(`export ${k}=${JSON.stringify(v)}`);
      }
      return 0;
    }
    default:
      console.error(usage);
      return cmd ? 2 : 0;
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: Error) => {
      console.error(`stack: ${err.message}`);
      process.exit(1);
    },
  );
}
