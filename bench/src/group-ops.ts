/**
 * fleet-api's group operations at fleet scale: N devices, one group reboot through the HTTP API
 * (selector over every device, confirmed), the command loop run pass after pass until every device
 * has its outcome. ThingsBoard is the in-memory stand-in the unit tests use (online devices answer
 * on the next status read), so the figures are fleet-api's own cost: wall time, CPU, peak memory,
 * and calls per upstream per device. The floor, measured in the same run, is the same RPC traffic
 * (one send and two status reads per device, 16 at a time) against the same stand-in without
 * fleet-api's bookkeeping; the loop's cadence bounds throughput at about concurrency / (2 × cadence)
 * here, since the stand-in answers on the second read. Against the real ThingsBoard, fleet-api/src/groups.e2e.test.ts times
 * 1,000 devices end to end.
 *
 *   npm run bench:groups [-- --sizes 1000,10000 --concurrency 100 --loop-ms 100]
 */
import fs from 'node:fs';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import express from 'express';
import { createLogger, TenantAuthority, type AuthorityReader, type DirectoryDevice } from '@cdm/common';
import { fleetRouter } from '../../fleet-api/src/api.ts';
import { CommandRunner } from '../../fleet-api/src/commands.ts';
import { Deployments } from '../../fleet-api/src/deployments.ts';
import { FleetDevices } from '../../fleet-api/src/devices.ts';
import { FakeHawkbit, FakeThingsBoard } from '../../fleet-api/src/fleet.test-helpers.ts';
import { CommandLoop } from '../../fleet-api/src/groups.ts';
import { FleetStore } from '../../fleet-api/src/store.ts';

const arg = (name: string, dflt: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1]! : dflt;
};
const SIZES = arg('sizes', '1000,10000').split(',').map(Number);
const CONCURRENCY = Number(arg('concurrency', '100'));
/** The loop's cadence, as LOOP_MILLISECONDS sets it in the service (and how often a command on its way is re-read). */
const LOOP_MS = Number(arg('loop-ms', '100'));
const log = createLogger('bench', { level: 'silent' });
const reader: AuthorityReader = {
  getGroupByPath: async () => ({ id: 'root', name: 'tenants' }),
  listSubGroups: async (pid) => (pid === 'root' ? [{ id: 'T', name: 'bench' }] : []),
  getUser: async (id) => ({ id, enabled: true }),
  userGroups: async () => [{ id: 'T-op', name: 'operators', parentId: 'T' }],
};

/** Counts the calls a component makes, by method. */
function counting<T extends object>(target: T, counts: Map<string, number>): T {
  return new Proxy(target, {
    get(t, p, r) {
      const v = Reflect.get(t, p, r) as unknown;
      if (typeof v !== 'function') return v;
      return (...args: unknown[]) => {
        counts.set(String(p), (counts.get(String(p)) ?? 0) + 1);
        return (v as (...a: unknown[]) => unknown).apply(t, args);
      };
    },
  });
}

function fleet(n: number) {
  const tb = new FakeThingsBoard();
  const dir = new Map<string, DirectoryDevice>();
  for (let i = 0; i < n; i++) {
    const id = `D${String(i).padStart(6, '0')}`;
    dir.set(id, tb.add('T', id));
  }
  return { tb, dir };
}

async function floor(n: number): Promise<number> {
  const { tb } = fleet(n);
  const ids = [...tb.devicesById.keys()];
  const t0 = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      while (next < ids.length) {
        const i = next++;
        const id = `rpc-${i}`;
        await tb.sendRpc('T', ids[i]!, { method: 'reboot', params: {}, requestUUID: id, expirationTime: Date.now() + 60_000 });
        await tb.getRpc('T', id);
        await tb.getRpc('T', id);
      }
    }),
  );
  return performance.now() - t0;
}

async function measure(n: number) {
  const { tb, dir } = fleet(n);
  const counts = new Map<string, number>();
  const gateway = counting(tb, counts);
  const directory = counting(
    { get: async (id: string) => dir.get(id), lookup: async (ids: readonly string[]) => new Map(ids.flatMap((id) => (dir.has(id) ? [[id, dir.get(id)!] as const] : []))) },
    counts,
  );
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cdm-bench-groups-'));
  const store = await FleetStore.open({ dataDir: tmp });
  const runner = new CommandRunner({ store, gateway, logger: log });
  const loop = new CommandLoop({ store, runner, logger: log, batch: 5000, recheckMs: LOOP_MS });
  const app = express().use(
    '/v1',
    fleetRouter({
      deployments: new Deployments(new FakeHawkbit() as never),
      enrollAdmin: { createDeviceClaim: () => Promise.reject(new Error('no registration in this benchmark')) },
      verifier: { verify: async () => ({ sub: 'op', username: 'op', exp: 0 }) },
      authority: new TenantAuthority(reader, { parentPath: '/tenants' }),
      directory,
      devices: new FleetDevices(gateway, directory),
      gateway,
      store,
      runner,
      logger: log,
      limits: { confirmAbove: 100, maxGroup: 1_000_000, defaultExpirySeconds: 3600, maxExpirySeconds: 86_400, maxConcurrency: 10_000 },
    }),
  );
  const server = app.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
  global.gc?.();
  const rss0 = process.memoryUsage().rss;
  let peak = rss0;
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 50);
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const res = await fetch(`${url}/groups/operations`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: 'Bearer x' },
    body: JSON.stringify({ tenant: 'bench', selector: {}, operation: 'reboot', concurrency: CONCURRENCY, confirm: true }),
  });
  const created = (await res.json()) as { group: { id: string }; progress: { total: number } };
  if (res.status !== 202 || created.progress.total !== n) throw new Error(`group not created: ${res.status} ${JSON.stringify(created).slice(0, 300)}`);
  const tCreated = performance.now();
  let passes = 0;
  // As main.ts runs it: a pass, then the next one LOOP_MS after the previous started.
  while ((await store.getGroup(created.group.id))!.state === 'running') {
    const started = performance.now();
    await loop.pass();
    passes++;
    await new Promise((r) => setTimeout(r, Math.max(0, LOOP_MS - (performance.now() - started))));
  }
  const wall = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  clearInterval(sampler);
  const view = (await (await fetch(`${url}/groups/operations/${created.group.id}`, { headers: { authorization: 'Bearer x' } })).json()) as { progress: Record<string, number> };
  server.close();
  await store.close();
  fs.rmSync(tmp, { recursive: true, force: true });
  if (view.progress.done !== n) throw new Error(`not every device done: ${JSON.stringify(view.progress)}`);
  if ([...tb.sends.values()].some((c) => c !== 1) || tb.sends.size !== n) throw new Error('a device got the command more than once');
  return { wall, createMs: tCreated - t0, passes, cpuS: (cpu.user + cpu.system) / 1e6, peakMb: (peak - rss0) / 1048576, counts, maxInFlight: tb.maxInFlight };
}

console.log(`fleet-api group reboot, concurrency ${CONCURRENCY}, loop every ${LOOP_MS} ms, ThingsBoard in memory (node ${process.version}, ${os.cpus().length} cores)`);
for (const n of SIZES) {
  const f = await floor(n);
  const m = await measure(n);
  const per = (k: string) => ((m.counts.get(k) ?? 0) / n).toFixed(2);
  console.log(
    [
      `${n} devices: all outcomes in ${(m.wall / 1000).toFixed(2)} s (group created in ${(m.createMs / 1000).toFixed(2)} s, ${m.passes} loop passes); ${(n / (m.wall / 1000)).toFixed(0)} devices/s`,
      `  floor (same RPC traffic, no bookkeeping): ${(f / 1000).toFixed(2)} s → ratio ${(m.wall / f).toFixed(1)}×; the cadence bound (${Math.ceil(n / CONCURRENCY)} batches × 2 reads × ${LOOP_MS} ms) ${((Math.ceil(n / CONCURRENCY) * 2 * LOOP_MS) / 1000).toFixed(1)} s → ratio ${(m.wall / (Math.ceil(n / CONCURRENCY) * 2 * LOOP_MS)).toFixed(1)}×`,
      `  fleet-api CPU ${m.cpuS.toFixed(2)} s (${((m.cpuS * 1000) / n).toFixed(2)} ms per device), memory +${m.peakMb.toFixed(0)} MB peak; at most ${m.maxInFlight} commands in flight`,
      `  per device: ThingsBoard sendRpc ${per('sendRpc')}, getRpc ${per('getRpc')}, device pages ${((m.counts.get('devices') ?? 0) / n).toFixed(3)}; directory lookups ${per('lookup')} (of up to 1,000 ids each)`,
    ].join('\n'),
  );
}
