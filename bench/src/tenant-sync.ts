/**
 * tenant-sync at fleet scale: 200 tenants × 20 people in the real Keycloak; a second real
 * ThingsBoard (same build, its own database and port, so the dev stack's tenants stay untouched;
 * its tenants are removed before each run); Grafana and InfluxDB 2 as fresh contract fakes, InfluxDB
 * data behind them in the real influxd. Prints, for a first full pass and two no-op passes: wall
 * time, calls per upstream as tenant-sync's clients sent them (reads vs writes), changes, memory.
 *
 *   npm run bench -- tenant-sync [--tenants 200] [--people 20]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { KeycloakClient, RequestCounts, ThingsBoardClient, createLogger, loadConfig } from '@cdm/common';
import { PORTS, bridgeEnv, defaultContext, repoDir, startThingsBoardInstance, up } from '@cdm/stack';
import { composeTenantSync, tenantSyncConfig, Triggers, type PassResult } from '@cdm/tenant-sync';

const arg = (name: string, dflt: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const TENANTS = arg('tenants', 200);
const PEOPLE = arg('people', 20);
const PARENT = `bench-${TENANTS}x${PEOPLE}`;
const FAKE_PORTS = { grafana: 28030, influxdb2: 28087 } as const;
const TB_PORT = 28090;

const children: ChildProcess[] = [];
process.on('exit', () => children.forEach((c) => c.kill('SIGTERM')));

async function pool<T>(items: T[], n: number, fn: (t: T, i: number) => Promise<void>, label: string): Promise<void> {
  let next = 0;
  let done = 0;
  const started = Date.now();
  const tick = setInterval(() => process.stderr.write(`\r  ${label}: ${done}/${items.length} (${((Date.now() - started) / 1000).toFixed(0)} s)   `), 1000);
  await Promise.all(
    Array.from({ length: n }, async () => {
      while (next < items.length) {
        const i = next++;
        await fn(items[i]!, i);
        done++;
      }
    }),
  );
  clearInterval(tick);
  process.stderr.write(`\r  ${label}: ${done}/${items.length} in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
}

async function startFake(name: keyof typeof FAKE_PORTS): Promise<string> {
  const url = `http://127.0.0.1:${FAKE_PORTS[name]}`;
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(repoDir, 'stack', 'src', 'fakes', 'main.ts'), name, String(FAKE_PORTS[name])], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  children.push(child);
  for (const deadline = Date.now() + 30_000; Date.now() < deadline; await new Promise((r) => setTimeout(r, 200))) {
    if (
      await fetch(`${url}/__fake/info`).then(
        (r) => r.ok,
        () => false,
      )
    )
      return url;
  }
  throw new Error(`${name} fake did not start on ${url}`);
}

/** Keycloak is reached through fetch (keycloak-admin-client); count what tenant-sync sends it. */
const kcCalls = { reads: 0, writes: 0, on: false };
const realFetch = globalThis.fetch;
globalThis.fetch = (async (input: Parameters<typeof fetch>[0], init?: RequestInit) => {
  const url = String(input instanceof Request ? input.url : input);
  if (kcCalls.on && url.startsWith(`http://127.0.0.1:${PORTS.keycloak}/admin/`)) {
    if ((init?.method ?? 'GET') === 'GET') kcCalls.reads++;
    else kcCalls.writes++;
  }
  return realFetch(input, init);
}) as typeof fetch;

async function seedKeycloak(kc: KeycloakClient): Promise<void> {
  const parent = await kc.getGroupByPath(`/${PARENT}`);
  const parentId = parent?.id ?? (await kc.createGroup(PARENT));
  const existing = await kc.listSubGroups(parentId);
  if (existing.length === TENANTS) {
    console.log(`Keycloak: reusing /${PARENT} (${TENANTS} groups)`);
    return;
  }
  console.log(`Keycloak: seeding /${PARENT} with ${TENANTS} tenants × ${PEOPLE} people (once; reused by later runs)`);
  const have = new Set(existing.map((g) => g.name));
  const todo = Array.from({ length: TENANTS }, (_, t) => t).filter((t) => !have.has(`t${String(t).padStart(3, '0')}`));
  await pool(
    todo,
    8,
    async (t) => {
      const name = `t${String(t).padStart(3, '0')}`;
      const gid = await kc.createGroup(name, parentId);
      // A role is membership of the tenant's role subgroup (TENANT_ROLE_GROUPS): 2 admins, 14 operators, the rest on call.
      const roles = { admins: await kc.createGroup('admins', gid), operators: await kc.createGroup('operators', gid), oncall: await kc.createGroup('oncall', gid) };
      for (let p = 0; p < PEOPLE; p++) {
        const username = `b${TENANTS}-${name}-p${String(p).padStart(2, '0')}`;
        const uid = await kc.createUser({ username, email: `${username}@bench.example`, firstName: name, lastName: `p${p}` });
        await kc.addUserToGroup(uid, p < 2 ? roles.admins : p < 16 ? roles.operators : roles.oncall);
      }
    },
    'tenants seeded',
  );
}

/** After a full GC (node --expose-gc), so the heap figure is what a pass keeps, not garbage. */
/** hawkBit rights live in Keycloak, which outlives a run: strip them so the first pass grants them again. */
async function resetHawkbitRoles(kc: KeycloakClient): Promise<void> {
  const client = await kc.findClient('hawkbit');
  if (!client) throw new Error('Keycloak: client hawkbit missing (stack/keycloak/cdm-realm.json)');
  const roles = await kc.clientRoles(client.id);
  const holders = new Map<string, { id: string; name: string }[]>();
  for (const r of roles) {
    for (const u of await kc.usersWithClientRole(client.id, r.name!)) {
      if (u.username?.startsWith(`b${TENANTS}-`)) holders.set(u.id!, [...(holders.get(u.id!) ?? []), { id: r.id!, name: r.name! }]);
    }
  }
  await pool([...holders], 8, ([id, rs]) => kc.removeClientRoles(id, client.id, rs), 'hawkBit roles of bench people reset');
}

function mem(): string {
  (globalThis as { gc?: () => void }).gc?.();
  const m = process.memoryUsage();
  return `rss ${(m.rss / 2 ** 20).toFixed(0)} MiB, heap ${(m.heapUsed / 2 ** 20).toFixed(0)} MiB`;
}

async function main(): Promise<void> {
  const ctx = defaultContext(() => {});
  console.log('local stack: starting or reusing…');
  const stack = await up(ctx);
  const kcAdmin = new KeycloakClient({ baseURL: stack.keycloak!.url, realm: 'cdm', authRealm: 'master', clientId: 'admin-cli', username: 'admin', password: 'admin' });
  await seedKeycloak(kcAdmin);

  await resetHawkbitRoles(kcAdmin);
  const fakes = { grafana: await startFake('grafana'), influxdb2: await startFake('influxdb2') };
  console.log('ThingsBoard: starting a second instance for the bench (its schema is installed on the first run)…');
  const tbBench = await startThingsBoardInstance(ctx, { port: TB_PORT, database: 'thingsboard_bench' });
  const sys = new ThingsBoardClient({ baseURL: tbBench.url, username: stack.thingsboard!.credentials!.username!, password: stack.thingsboard!.credentials!.password! });
  const old: string[] = [];
  for await (const page of sys.tenantPages()) old.push(...page.filter((t) => (t.additionalInfo as { cdmId?: string } | undefined)?.cdmId).map((t) => t.id!.id));
  await pool(old, 4, (id) => sys.deleteTenant(id), 'ThingsBoard tenants of an earlier run removed');
  const tokenDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cdm-bench-tokens-'));
  const env = {
    ...bridgeEnv(stack, ctx.stateDir)['tenant-sync'],
    THINGSBOARD_URL: tbBench.url,
    GRAFANA_URL: fakes.grafana,
    INFLUXDB_URL: fakes.influxdb2,
    TENANT_PARENT_GROUP: `/${PARENT}`,
    TOKEN_STORE_DIR: tokenDir,
  };
  const config = loadConfig(tenantSyncConfig, env);
  const logger = createLogger('bench', { level: 'silent' });
  const counts = new RequestCounts();
  const { sync, keycloak } = composeTenantSync(config, logger, { observer: counts.observer });
  // The daemon's triggers: a change-driven pass is a check of Keycloak's admin events that names tenants.
  let last: PassResult | undefined;
  const triggers = new Triggers({
    keycloak,
    logger,
    schedule: '0 0 1 1 *',
    fullEveryMs: 3_600_000,
    eventsPollMs: 3_600_000,
    index: () => sync.index(),
    pass: async (tenants) => (last = await sync.apply(tenants)),
    ownClientUser: await keycloak.whoAmI(),
  });
  // One person's on-call membership toggles between runs: a change in one tenant, as an admin makes it.
  const changeOneMembership = async () => {
    const oncall = (await kcAdmin.getGroupByPath(`/${PARENT}/t007/oncall`))?.id;
    const [person] = await kcAdmin.kc.users.find({ realm: 'cdm', username: `b${TENANTS}-t007-p01`, exact: true });
    if (!oncall || !person?.id) throw new Error(`Keycloak: /${PARENT}/t007/oncall or its person p01 missing (reseed: delete /${PARENT})`);
    const isMember = (await kcAdmin.listMembers(oncall)).some((u) => u.id === person.id);
    await (isMember ? kcAdmin.removeUserFromGroup(person.id, oncall) : kcAdmin.addUserToGroup(person.id, oncall));
  };

  const rows: string[][] = [];
  const passes: [string, () => Promise<PassResult | undefined>][] = [
    ['first full pass', () => sync.apply()],
    ['no-op pass', () => sync.apply()],
    ['no-op pass (again)', () => sync.apply()],
    ['scheduled pass between full ones (listings only)', () => sync.apply(new Set())],
    ['event check, nothing new', async () => (await triggers.checkEvents(), { runId: '-', tenants: TENANTS, applied: 0, failed: [], ms: 0 })],
    ['pass after one membership change', async () => (await triggers.checkEvents(), last)],
  ];
  for (const [label, pass] of passes) {
    if (label === 'event check, nothing new') await triggers.catchUp();
    if (label === 'pass after one membership change') await changeOneMembership();
    last = undefined;
    kcCalls.reads = kcCalls.writes = 0;
    counts.take();
    kcCalls.on = true;
    const started = process.hrtime.bigint();
    const r = await pass();
    if (!r) throw new Error(`${label}: no pass ran`);
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    if (label === 'pass after one membership change' && r.touched?.length !== 1) throw new Error(`${label}: expected one tenant read again, got ${JSON.stringify(r.touched)}`);
    kcCalls.on = false;
    if (r.failed.length) throw new Error(`${label}: ${r.failed.length} failures, first: ${JSON.stringify(r.failed[0])}`);
    const sent = counts.take();
    const calls = {
      keycloak: { reads: kcCalls.reads, writes: kcCalls.writes },
      thingsboard: sent.ThingsBoard ?? { reads: 0, writes: 0 },
      grafana: sent.Grafana ?? { reads: 0, writes: 0 },
      influxdb2: sent.InfluxDB ?? { reads: 0, writes: 0 },
    };
    const total = Object.values(calls).reduce((n, c) => n + c.reads + c.writes, 0);
    const writes = Object.values(calls).reduce((n, c) => n + c.writes, 0);
    rows.push([
      label,
      `${(ms / 1000).toFixed(2)} s`,
      String(r.applied),
      String(total),
      String(writes),
      Object.entries(calls)
        .map(([k, c]) => `${k} ${c.reads}r/${c.writes}w`)
        .join(', '),
      mem(),
    ]);
    console.log(`${label}: ${(ms / 1000).toFixed(2)} s, ${r.applied} changes, ${total} calls (${writes} writes)`);
  }
  const people = TENANTS * PEOPLE;
  console.log(`\ntenant-sync, ${TENANTS} tenants × ${PEOPLE} people (${people} people), ${os.cpus().length} cores, Node ${process.version}`);
  console.log(['pass', 'time', 'changes', 'calls', 'writes', 'calls per upstream (reads/writes)', 'memory'].join(' | '));
  for (const r of rows) console.log(r.join(' | '));
  const noop = rows[1]!;
  console.log(`\nno-op pass: ${(Number(noop[3]) / TENANTS).toFixed(1)} calls per tenant, ${(Number(noop[3]) / people).toFixed(2)} per person (listings by page, never a GET per person)`);
  console.log(`no-op / first pass time: ${(parseFloat(noop[1]!) / parseFloat(rows[0]![1]!)).toFixed(3)}`);
  const changed = rows.find((r) => r[0] === 'pass after one membership change')!;
  const listings = rows.find((r) => r[0]!.startsWith('scheduled pass'))!;
  console.log(`scheduled pass (listings only) / full no-op pass: ${(Number(listings[3]) / Number(noop[3])).toFixed(4)} of the calls`);
  console.log(`pass after one change / full no-op pass: ${(Number(changed[3]) / Number(noop[3])).toFixed(4)} of the calls, ${(parseFloat(changed[1]!) / parseFloat(noop[1]!)).toFixed(3)} of the time`);
  await tbBench.stop();
}

main().then(
  () => process.exit(0),
  (err: Error) => {
    console.error(`bench tenant-sync: ${err.message}`);
    process.exit(1);
  },
);
