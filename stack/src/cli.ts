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
  env <bridge>  print one bridge's variables for the local stack (tenant-sync|enroll-bridge|ota-bridge|fleet-api|fleet-monitor)
  run       up, then run the bridges, the fleet API and fleet-monitor in the foreground against the stack
  device <n> enroll --tenant <t> | shell | remove
            a simulated device in its own network namespace, enrolled by device/enroll.sh`;

/** POSIX single quotes: safe for any value under eval/source (JSON.stringify leaves $ and ` live). */
export const shellQuote = (v: string) => `'${v.replace(/'/g, `'\\''`)}'`;

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

/**
 * Starts what is not already healthy (a running stack is reused) and waits for each. A service
 * starts as soon as the ones it needs are healthy, so the slow JVMs start side by side.
 */
export async function up(ctx: StackContext, list: Service[] = services): Promise<Record<string, Endpoint>> {
  await install(ctx, list);
  const started = new Map<string, Promise<void>>();
  const bring = (s: Service): Promise<void> => {
    let p = started.get(s.name);
    if (!p) {
      p = (async () => {
        await Promise.all(
          (s.needs ?? [])
            .map((n) => list.find((x) => x.name === n))
            .filter((x): x is Service => !!x)
            .map(bring),
        );
        await startOne(ctx, s);
      })();
      started.set(s.name, p);
    }
    return p;
  };
  await Promise.all(list.map(bring));
  const endpoints = Object.fromEntries(services.map((s) => [s.name, s.endpoint(ctx)]));
  fs.mkdirSync(ctx.stateDir, { recursive: true });
  fs.writeFileSync(stackJsonPath(ctx), JSON.stringify(endpoints, null, 2));
  return endpoints;
}

async function startOne(ctx: StackContext, s: Service): Promise<void> {
  if (await s.healthy(ctx)) {
    ctx.log(`[up] ${s.name} already running, reused`);
  } else {
    const t = Date.now();
    ctx.log(`[up] starting ${s.name} ...`);
    await s.start(ctx);
    const deadline = Date.now() + s.startTimeoutSec * 1000;
    while (!(await s.healthy(ctx))) {
      if (Date.now() > deadline) {
        throw new Error(`${s.name} did not become healthy within ${s.startTimeoutSec} s. Last log lines:\n${tailLog(ctx, s.name)}`);
      }
      await sleep(500);
    }
    ctx.log(`[up] ${s.name} healthy (${((Date.now() - t) / 1000).toFixed(1)} s)`);
  }
  await s.afterStart?.(ctx);
}

/** Stops one service and brings it back (upstream faults in the soak test); returns the ms it took. */
export async function restartService(ctx: StackContext, name: string): Promise<number> {
  const s = services.find((x) => x.name === name);
  if (!s) throw new Error(`no stack service ${name}`);
  const t = Date.now();
  ctx.log(`[restart] stopping ${name}`);
  await s.stop(ctx);
  await up(ctx, [s]);
  return Date.now() - t;
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
        console.log(
          `${s.name.padEnd(12)} ${(s.real ? 'real' : 'fake').padEnd(5)} ${ok ? 'healthy' : 'DOWN   '}  ${(rss === undefined ? '-' : `${rss} MiB`).padStart(8)}  ${s.endpoint(ctx).url.padEnd(42)} ${s.version}`,
        );
      }
      console.log(`${'total'.padEnd(12)}                ${`${total} MiB`.padStart(8)}`);
      return bad ? 1 : 0;
    }
    case 'run': {
      const { runBridges } = await import('./run.ts');
      // Upstream URLs in the environment mean ops' own servers: no local stack then.
      const external = ['KEYCLOAK_URL', 'THINGSBOARD_URL', 'HAWKBIT_URL'].some((v) => process.env[v]);
      return runBridges(ctx, external ? undefined : await up(ctx));
    }
    case 'device': {
      const { deviceCommand } = await import('./device-cli.ts');
      return deviceCommand(ctx, rest);
    }
    case 'env': {
      // One bridge per call: the bridges share variable names (DATA_DIR, HEALTH_PORT...) with
      // different values, so sourcing all of them would leave each bridge another one's.
      const { BRIDGES, bridgeEnv } = await import('./bridge-env.ts');
      const bridge = rest[0] as (typeof BRIDGES)[number] | undefined;
      if (!bridge || !BRIDGES.includes(bridge)) {
        console.error(`usage: stack env <${BRIDGES.join('|')}>   e.g.  eval "$(npm run --silent stack -- env ota-bridge)"`);
        return 2;
      }
      if (!fs.existsSync(stackJsonPath(ctx))) throw new Error('the local stack has not been started: run "npm run stack -- up" first');
      const endpoints = JSON.parse(fs.readFileSync(stackJsonPath(ctx), 'utf8')) as Record<string, Endpoint>;
      for (const [k, v] of Object.entries(bridgeEnv(endpoints, ctx.stateDir)[bridge])) console.log(`export ${k}=${shellQuote(v)}`);
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
