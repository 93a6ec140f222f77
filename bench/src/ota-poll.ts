/**
 * ota-bridge's poll at fleet scale: N hawkBit targets (all with an update action from one started
 * rollout) and N ThingsBoard devices. Measures the first pass (catching up on all N actions), one
 * pass after 100 devices reported over DDI (download, then success), and a pass with nothing
 * changed: wall time and requests per upstream, counted by the mirror's own clients.
 *
 * --against real (default): a fresh real hawkBit per size (same jar as the stack's, in-memory
 * database, own port) and the stack's real ThingsBoard (a tenant per size). --against fake: the
 * contract fakes in their own processes, for comparison.
 *
 *   npm run bench:ota [-- --sizes 1000,10000 --changed 100 --against real|fake]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import os from 'node:os';
import fs from 'node:fs';
import path from 'node:path';
import { HawkbitClient, HawkbitDdiClient, RequestCounts, TenantActors, ThingsBoardClient, createLogger, targetDescription, type DirectoryDevice, type InfluxClient } from '@cdm/common';
import { defaultContext, repoDir, startFreshHawkbit, thingsboardTenant, up } from '@cdm/stack';
import { OtaMirror } from '../../ota-bridge/src/mirror.ts';
import { OtaStore } from '../../ota-bridge/src/store.ts';
import { ThingsBoardOta } from '../../ota-bridge/src/tb-ota.ts';
import { tenantTargetFilter } from '@cdm/common';

const arg = (name: string, dflt: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1]! : dflt;
};
const SIZES = arg('sizes', '1000,10000').split(',').map(Number);
const CHANGED = Number(arg('changed', '100'));
const AGAINST = arg('against', 'real');
if (!['real', 'fake'].includes(AGAINST)) throw new Error('--against is real or fake');
const FAKE_PORTS = { hawkbit: 28081, thingsboard: 28091 } as const;
const children: ChildProcess[] = [];
process.on('exit', () => children.forEach((c) => c.kill('SIGTERM')));
const log = (m: string) => process.stderr.write(`  ${m}\n`);

async function startFake(name: keyof typeof FAKE_PORTS): Promise<{ url: string; stop: () => Promise<void> }> {
  const url = `http://127.0.0.1:${FAKE_PORTS[name]}`;
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(repoDir, 'stack', 'src', 'fakes', 'main.ts'), name, String(FAKE_PORTS[name])], { stdio: ['ignore', 'ignore', 'inherit'] });
  children.push(child);
  const stop = () => new Promise<void>((resolve) => (child.once('exit', () => resolve()), child.kill('SIGTERM')));
  for (const deadline = Date.now() + 30_000; Date.now() < deadline; await new Promise((r) => setTimeout(r, 200))) {
    if (
      await fetch(`${url}/__fake/info`).then(
        (r) => r.ok,
        () => false,
      )
    )
      return { url, stop };
  }
  throw new Error(`${name} fake did not start on ${url}`);
}

/** hawkBit and ThingsBoard for one size: fresh servers where that is possible. */
async function upstreams(size: number) {
  if (AGAINST === 'fake') {
    const [hb, tb] = await Promise.all([startFake('hawkbit'), startFake('thingsboard')]);
    return { hawkbitUrl: hb.url, thingsboardUrl: tb.url, stop: async () => void (await Promise.all([hb.stop(), tb.stop()])) };
  }
  const ctx = defaultContext(() => {});
  const stack = await up(ctx);
  log(`${size}: starting a fresh hawkBit ...`);
  const hb = await startFreshHawkbit(ctx, 28081);
  return { hawkbitUrl: hb.url, thingsboardUrl: stack.thingsboard!.url, stop: hb.stop };
}

async function pool<T>(items: T[], n: number, fn: (t: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: n }, async () => {
      while (next < items.length) await fn(items[next++]!);
    }),
  );
}

async function measure(size: number) {
  const u = await upstreams(size);
  const counts = new RequestCounts();
  const hawkbit = new HawkbitClient({ baseURL: u.hawkbitUrl, username: 'admin', password: 'admin', pageSize: 100, observer: counts.observer });
  const sys = new ThingsBoardClient({ baseURL: u.thingsboardUrl, username: 'sysadmin@thingsboard.org', password: 'sysadmin', observer: counts.observer });
  const cdmId = `bench-ota-${size}-${Date.now().toString(36)}`;
  const t0 = Date.now();
  const { tenant: t, as } = await thingsboardTenant(sys, cdmId);
  const ids = Array.from({ length: size }, (_, i) => `dev-${String(i).padStart(6, '0')}`);
  await hawkbit.setConfig('authentication.targettoken.enabled', true);
  const tokens = new Map<string, string>();
  for (let i = 0; i < size; i += 500) {
    for (const x of await hawkbit.createTargets(ids.slice(i, i + 500).map((id) => ({ controllerId: id, name: id, description: targetDescription(cdmId) }))))
      tokens.set(x.controllerId, x.securityToken!);
  }
  log(`${size}: ${size} hawkBit targets (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
  // enroll-bridge's device directory, in process: the bench measures ota-bridge against hawkBit and ThingsBoard.
  const owners = new Map<string, DirectoryDevice>();
  await pool(ids, 16, async (id) => void owners.set(id, { deviceId: id, tenantId: cdmId, status: 'active', tbDeviceId: (await as.saveDevice({ name: id, type: 'default' })).id!.id }));
  log(`${size}: ${size} ThingsBoard devices (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
  const sm = await hawkbit.createSoftwareModule({ name: 'rauc-bench', version: '2.0.0', type: 'os' });
  const ds = await hawkbit.createDistributionSet({ name: 'firmware-bench', version: '2.0.0', type: 'os', modules: [{ id: sm.id }] });
  const rollout = await hawkbit.createRollout({
    name: `bench ${size}`,
    description: targetDescription(cdmId),
    distributionSetId: ds.id,
    targetFilterQuery: tenantTargetFilter(cdmId),
    amountGroups: 1,
  });
  for (let s = rollout.status; s !== 'ready'; s = (await hawkbit.getRollout(rollout.id))!.status) await new Promise((r) => setTimeout(r, 500));
  await hawkbit.startRollout(rollout.id);
  // Every target has its (active) action once the first group runs.
  for (; (await hawkbit.countActions('active==true')) < size;) await new Promise((r) => setTimeout(r, 500));
  log(`${size}: fleet of ${size} targets and devices with one update action each made in ${((Date.now() - t0) / 1000).toFixed(1)} s`);

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cdm-bench-ota-'));
  const store = await OtaStore.open({ dataDir: dir });
  let influxWrites = 0;
  const influx = { write: async () => void influxWrites++ } as unknown as InfluxClient;
  // The sweep interval is long here so "idle" measures what every pass costs, not the periodic sweep.
  const directory = { lookup: async (asked: readonly string[]) => new Map(asked.flatMap((id) => (owners.has(id) ? [[id, owners.get(id)!] as const] : []))) };
  const mirror = new OtaMirror({
    store,
    hawkbit,
    directory,
    tb: new ThingsBoardOta(new TenantActors(sys)),
    influx,
    influxOrg: 'cdm',
    logger: createLogger('bench', { level: 'silent' }),
    bootWindowMs: 3600_000,
    gateThresholdPct: 100,
    sweepIntervalMs: 3600_000,
  });
  const pass = async () => {
    counts.take();
    const started = process.hrtime.bigint();
    const r = await mirror.pass();
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    const c = counts.take();
    return { ms: Math.round(ms), changes: r.changes, failed: r.failed, swept: r.swept, hawkbit: c.hawkBit ?? { reads: 0, writes: 0 }, thingsboard: c.ThingsBoard ?? { reads: 0, writes: 0 } };
  };
  const first = await pass();
  // 100 devices report: download, then success (two changes each, as a device sends them).
  for (const id of ids.slice(0, CHANGED)) {
    const ddi = new HawkbitDdiClient({ baseURL: u.hawkbitUrl, controllerId: id, securityToken: tokens.get(id) });
    const action = (await ddi.poll()).deploymentActionId!;
    await ddi.sendFeedback(action, { execution: 'proceeding', finished: 'none' });
    await ddi.sendFeedback(action, { execution: 'closed', finished: 'success' });
  }
  const changed = await pass();
  const idle = await pass();
  // hawkBit does not stamp what devices report, so a pass finds closed actions by listing the open
  // ones: that listing is the floor under the pass after changes.
  const listing = async (representation: 'compact' | 'full') => {
    const t = process.hrtime.bigint();
    let n = 0;
    for await (const page of hawkbit.activeActionPages(representation)) n += page.length;
    return { ms: Math.round(Number(process.hrtime.bigint() - t) / 1e6), n };
  };
  const lists = { compact: await listing('compact'), full: await listing('full') };
  await store.close();
  await sys.deleteTenant(t.id!.id);
  await u.stop();
  return { size, first, changed, idle, influxWrites, lists };
}

const results = [];
for (const size of SIZES) results.push(await measure(size));
const line = (label: string, p: { ms: number; changes: number; failed: number; swept: boolean; hawkbit: { reads: number; writes: number }; thingsboard: { reads: number; writes: number } }) =>
  `${label.padEnd(28)} ${String(p.ms).padStart(7)} ms  ${String(p.changes).padStart(6)} changes${p.swept ? ' (swept)' : '        '}  hawkBit ${p.hawkbit.reads} reads/${p.hawkbit.writes} writes  ThingsBoard ${p.thingsboard.reads} reads/${p.thingsboard.writes} writes${p.failed ? `  FAILED ${p.failed}` : ''}`;
for (const r of results) {
  console.log(`\n${r.size} targets (${CHANGED} changed), against ${AGAINST === 'real' ? 'real hawkBit 1.0.4 and ThingsBoard CE 4.3.1.3' : 'the contract fakes'}`);
  console.log(line('  first pass (catch up)', r.first));
  console.log(line(`  pass after ${CHANGED} changed`, r.changed));
  console.log(line('  pass, nothing changed', r.idle));
  console.log(`  listing the ${r.lists.compact.n} open actions alone: compact ${r.lists.compact.ms} ms, full ${r.lists.full.ms} ms (pages of 500)`);
  console.log(`  ratio pass after ${CHANGED} changed / compact listing: ${(r.changed.ms / Math.max(1, r.lists.compact.ms)).toFixed(2)}`);
}
if (results.length >= 2) {
  const [a, b] = [results[0]!, results.at(-1)!];
  const req = (p: typeof a.changed) => p.hawkbit.reads + p.hawkbit.writes + p.thingsboard.reads + p.thingsboard.writes;
  console.log(
    `\n${a.size} → ${b.size} targets (×${b.size / a.size}): pass after ${CHANGED} changes: requests ${req(a.changed)} → ${req(b.changed)} (×${(req(b.changed) / req(a.changed)).toFixed(2)}), time ${a.changed.ms} → ${b.changed.ms} ms (×${(b.changed.ms / a.changed.ms).toFixed(2)}); idle pass requests ${req(a.idle)} → ${req(b.idle)}`,
  );
}
process.exit(0);
