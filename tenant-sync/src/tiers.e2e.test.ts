import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { InfluxClient, lineOf, loadConfig, tenantBucket, UpstreamError } from '@cdm/common';
import { bridgeEnv, defaultContext } from '@cdm/stack';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { dashboardQueries, interpolate } from '../../device/src/dashboards/queries.ts';
import { tenantSyncConfig } from './config.ts';
import { tenant } from './fixtures.test-helpers.ts';
import { readTokenDescription } from './influx-plan.ts';
import { InfluxSync } from './influx-sync.ts';
import { rollupBucket, rollupTaskName } from './tiers.ts';
import { TokenStore } from './token-store.ts';

/**
 * The rollup tier on the real influxd (1.8, behind the InfluxDB 2 fake, which runs tasks' Flux on
 * influxd and writes their rows): tenant-sync provisions the rollup bucket and its task, a run over
 * a past period (a backfill: `now` set to then) writes the aggregates, and they equal both what the
 * raw points give by hand and Flux's own aggregateWindow over the raw bucket.
 */
const stack = inject('stack');
const env = bridgeEnv(stack, defaultContext().stateDir)['tenant-sync'];
const config = loadConfig(tenantSyncConfig, env);
const influx = new InfluxClient({ baseURL: config.INFLUXDB_URL, token: config.INFLUXDB_TOKEN });
const cdmId = `e2e-tiers-${crypto.randomBytes(3).toString('hex')}`;
const store = new TokenStore(fs.mkdtempSync(path.join(os.tmpdir(), 'cdm-tiers-')));
const sync = new InfluxSync({
  influx,
  org: config.INFLUXDB_ORG,
  store,
  retentionSeconds: 30 * 86400,
  rollup: { every: '5m', retentionSeconds: 365 * 86400 },
});
const FIVE_MIN = 300_000;
// A period two hours back: [t0, t0 + 5 min), then the next one.
const t0 = Math.floor((Date.now() - 2 * 3_600_000) / FIVE_MIN) * FIVE_MIN;
const iso = (ms: number) => new Date(ms).toISOString();
const ns = (ms: number) => `${BigInt(ms) * 1_000_000n}`;

async function passOnce() {
  const desired = [tenant(cdmId, cdmId)];
  const actual = await sync.read(new Set([cdmId]));
  const plan = sync.plan(desired, actual, new Set());
  await sync.apply(cdmId, plan);
  return plan;
}

const rows = async (bucket: string, extra = '') => {
  const out: string[] = [];
  const flux = `from(bucket: "${bucket}") |> range(start: ${iso(t0 - FIVE_MIN)}, stop: ${iso(t0 + 3 * FIVE_MIN)}) |> filter(fn: (r) => r._measurement == "device_health")${extra}`;
  for await (const r of influx.rawRows(config.INFLUXDB_ORG, flux)) out.push(lineOf(r));
  return out.sort();
};

describe('retention tiers: the rollup bucket and its task', () => {
  // Two devices, a point every 30 s in the period, one point on the boundary (the next period's).
  const points: { device: string; at: number; battery: number; min: number; errors: number; version: string }[] = [];
  for (const device of ['d1', 'd2'])
    for (let k = 0; k < 10; k++) points.push({ device, at: t0 + k * 30_000, battery: 50 + k * (device === 'd1' ? 1 : 2) + 0.25, min: 40 + k, errors: k % 3, version: k < 6 ? '1.4.0' : '1.5.0' });
  points.push({ device: 'd1', at: t0 + FIVE_MIN, battery: 99.5, min: 98, errors: 7, version: '1.5.0' });

  beforeAll(async () => {
    const plan = await passOnce();
    expect(plan.map((a) => a.kind)).toEqual(expect.arrayContaining(['create-bucket', 'create-rollup-bucket', 'put-rollup-task']));
    const lines = points.map(
      (p) => `device_health,tenant=${cdmId},device=${p.device} battery_pct=${p.battery},battery_min_pct=${p.min},errors=${p.errors}i,samples=30i,sw_version="${p.version}" ${ns(p.at)}`,
    );
    await influx.write(config.INFLUXDB_ORG, tenantBucket(cdmId), lines, 'ns');
  });

  it('provisions once: a second pass plans nothing, the task is active and names its buckets', async () => {
    expect(await passOnce()).toEqual([]);
    const org = (await influx.findOrg(config.INFLUXDB_ORG))!;
    const task = (await influx.findTask(org.id, rollupTaskName(cdmId)))!;
    expect(task).toMatchObject({ status: 'active', every: '5m' });
    expect(task.flux).toContain(`from(bucket: "${tenantBucket(cdmId)}")`);
    expect(task.flux).toContain(`to(bucket: "${rollupBucket(cdmId)}"`);
    expect(await influx.findBucket(org.id, rollupBucket(cdmId))).toMatchObject({ retentionRules: [{ everySeconds: 365 * 86400 }] });
  });

  it('a task switched off by hand is switched back on by the next pass, the same task', async () => {
    const org = (await influx.findOrg(config.INFLUXDB_ORG))!;
    const task = (await influx.findTask(org.id, rollupTaskName(cdmId)))!;
    await influx.updateTask(task.id, { status: 'inactive' });
    expect((await influx.findTask(org.id, rollupTaskName(cdmId)))?.status).toBe('inactive');
    expect((await passOnce()).map((a) => a.kind)).toEqual(['put-rollup-task']);
    expect(await influx.findTask(org.id, rollupTaskName(cdmId))).toMatchObject({ id: task.id, status: 'active' });
    expect(await passOnce()).toEqual([]);
  });

  it('a run over a past period writes its aggregates: mean, min, sum and last per device, each window labelled by its end', async () => {
    const org = (await influx.findOrg(config.INFLUXDB_ORG))!;
    const task = (await influx.findTask(org.id, rollupTaskName(cdmId)))!;
    // now = t0 + 11 min: the task aggregates the complete periods [t0, t0+5m) and [t0+5m, t0+10m).
    const run = await influx.runTask(task.id, new Date(t0 + 2 * FIVE_MIN + 60_000));
    expect(run.status, JSON.stringify(run.log)).toBe('success');

    const got = await rows(rollupBucket(cdmId));
    const end = ns(t0 + FIVE_MIN);
    for (const device of ['d1', 'd2']) {
      const mine = points.filter((p) => p.device === device && p.at < t0 + FIVE_MIN);
      const mean = mine.reduce((s, p) => s + p.battery, 0) / mine.length;
      const line = (field: string, value: string) => `device_health,device=${device},tenant=${cdmId} ${field}=${value} ${end}`;
      expect(got).toContain(line('battery_pct', String(mean)));
      expect(got).toContain(line('battery_min_pct', String(Math.min(...mine.map((p) => p.min)))));
      expect(got).toContain(line('errors', `${mine.reduce((s, p) => s + p.errors, 0)}i`));
      expect(got).toContain(line('samples', `${30 * mine.length}i`));
      expect(got).toContain(line('sw_version', '"1.5.0"'));
    }
    // The boundary point is the next period's, alone.
    expect(got).toContain(`device_health,device=d1,tenant=${cdmId} battery_pct=99.5 ${ns(t0 + 2 * FIVE_MIN)}`);
    expect(got.filter((l) => l.includes(' battery_pct='))).toHaveLength(3);
  });

  it("holds what Flux's aggregateWindow gives over the raw bucket, and a second run changes nothing", async () => {
    const org = (await influx.findOrg(config.INFLUXDB_ORG))!;
    const task = (await influx.findTask(org.id, rollupTaskName(cdmId)))!;
    await influx.runTask(task.id, new Date(t0 + 2 * FIVE_MIN + 60_000));
    const before = await rows(rollupBucket(cdmId));
    expect((await influx.runTask(task.id, new Date(t0 + 2 * FIVE_MIN + 60_000))).status).toBe('success');
    expect(await rows(rollupBucket(cdmId))).toEqual(before);
    const direct = await rows(tenantBucket(cdmId), ` |> filter(fn: (r) => r._field == "battery_pct") |> aggregateWindow(every: 5m, fn: mean, createEmpty: false)`);
    expect(before.filter((l) => l.includes(' battery_pct='))).toEqual(direct);
  });

  it("the Fleet health panels read the rollup tier for ranges over 2 days and the raw bucket for shorter ones, with Grafana's own read token", async () => {
    const org = (await influx.findOrg(config.INFLUXDB_ORG))!;
    await influx.runTask((await influx.findTask(org.id, rollupTaskName(cdmId)))!.id, new Date(t0 + 2 * FIVE_MIN + 60_000));
    const minted = await sync.mintReadToken(cdmId);
    const asGrafana = new InfluxClient({ baseURL: config.INFLUXDB_URL, token: minted.token });
    const battery = dashboardQueries().find((q) => q.where.endsWith('/ Battery / A'))!.query;
    const onBucket = (bucket: string) => battery.replace(/^bucket = .*$/m, `bucket = ${JSON.stringify(bucket)}`);
    const run = async (query: string, from: number, to: number) =>
      (
        await asGrafana.query<{ _time: string; _value: number }>(config.INFLUXDB_ORG, interpolate(query, { bucket: tenantBucket(cdmId), from: new Date(from), to: new Date(to), windowPeriod: '1h' }))
      ).map((r) => `${r._time} ${r._value}`);
    const long = [t0 - 2 * 86_400_000, t0 + 86_400_000] as const; // 3 days
    const short = [t0 - 3_600_000, t0 + 3_600_000] as const; // 2 hours
    const [longRollup, longRaw] = [await run(onBucket(rollupBucket(cdmId)), ...long), await run(onBucket(tenantBucket(cdmId)), ...long)];
    expect(longRollup.length, 'the rollup tier answers over the long range').toBeGreaterThan(0);
    expect(longRollup).not.toEqual(longRaw); // the tiers differ here: means of 5-minute means, not of the raw points
    expect(await run(battery, ...long)).toEqual(longRollup);
    expect(await run(battery, ...short)).toEqual(await run(onBucket(tenantBucket(cdmId)), ...short));
  });

  it('old timestamps land in the tier that keeps them: 10 days back in raw and, once rolled up, in the rollup tier; 40 days back refused by raw (30 days)', async () => {
    const org = (await influx.findOrg(config.INFLUXDB_ORG))!;
    const old = Math.floor((Date.now() - 10 * 86_400_000) / FIVE_MIN) * FIVE_MIN;
    await influx.write(config.INFLUXDB_ORG, tenantBucket(cdmId), [`device_health,tenant=${cdmId},device=d3 battery_pct=12.5 ${ns(old + 1000)}`], 'ns');
    const tooOld = await influx
      .write(config.INFLUXDB_ORG, tenantBucket(cdmId), [`device_health,tenant=${cdmId},device=d3 battery_pct=13.5 ${ns(Date.now() - 40 * 86_400_000)}`], 'ns')
      .catch((e: unknown) => e);
    expect(tooOld).toBeInstanceOf(UpstreamError);
    expect(String((tooOld as Error).message)).toMatch(/beyond retention policy/);
    const run = await influx.runTask((await influx.findTask(org.id, rollupTaskName(cdmId)))!.id, new Date(old + 2 * FIVE_MIN + 60_000));
    expect(run.status).toBe('success');
    const span = (bucket: string, from: number, to: number) =>
      influx.query<{ _value: number }>(
        config.INFLUXDB_ORG,
        `from(bucket: "${bucket}") |> range(start: ${iso(from)}, stop: ${iso(to)}) |> filter(fn: (r) => r.device == "d3" and r._field == "battery_pct")`,
      );
    expect((await span(tenantBucket(cdmId), old, old + FIVE_MIN)).map((r) => r._value)).toEqual([12.5]);
    expect((await span(rollupBucket(cdmId), old, old + 2 * FIVE_MIN)).map((r) => r._value)).toEqual([12.5]);
    expect(await span(tenantBucket(cdmId), Date.now() - 41 * 86_400_000, Date.now() - 39 * 86_400_000)).toEqual([]);
  });

  it("a Grafana read token from before the rollup tier is not fit (Grafana's projection replaces it); one minted now is", async () => {
    const org = (await influx.findOrg(config.INFLUXDB_ORG))!;
    const raw = (await influx.findBucket(org.id, tenantBucket(cdmId)))!;
    const old = await influx.createAuthorization({
      orgID: org.id,
      description: readTokenDescription(cdmId),
      permissions: [{ action: 'read', resource: { type: 'buckets', id: raw.id, orgID: org.id } }],
    });
    const minted = await sync.mintReadToken(cdmId);
    const fit = (await sync.activeReadTokens()).get(cdmId) ?? [];
    expect(fit).toContain(minted.id);
    expect(fit).not.toContain(old.id);
    expect(await sync.readTokenIds(cdmId)).toEqual(expect.arrayContaining([old.id, minted.id]));
  });

  it('a changed retention setting reaches the existing raw bucket and its influxd retention policy', async () => {
    const longer = new InfluxSync({
      influx,
      org: config.INFLUXDB_ORG,
      store,
      retentionSeconds: 60 * 86400,
      rollup: { every: '5m', retentionSeconds: 365 * 86400 },
    });
    const plan = longer.plan([tenant(cdmId, cdmId)], await longer.read(new Set([cdmId])), new Set());
    expect(plan).toEqual([expect.objectContaining({ kind: 'set-retention', tier: 'raw', seconds: 60 * 86400 })]);
    try {
      await longer.apply(cdmId, plan);
      const org = (await influx.findOrg(config.INFLUXDB_ORG))!;
      expect((await influx.findBucket(org.id, tenantBucket(cdmId)))?.retentionRules).toEqual([{ type: 'expire', everySeconds: 60 * 86400 }]);
      // 40 days back: refused while raw kept 30 days, kept now.
      await influx.write(config.INFLUXDB_ORG, tenantBucket(cdmId), [`device_health,tenant=${cdmId},device=d4 battery_pct=1 ${ns(Date.now() - 40 * 86_400_000)}`], 'ns');
    } finally {
      await sync.apply(cdmId, sync.plan([tenant(cdmId, cdmId)], await sync.read(new Set([cdmId])), new Set()));
    }
  });
});

describe('retention tiers: a rollup task that runs hourly (ROLLUP_RUN_EVERY=1h) over 5-minute periods', () => {
  const HOUR = 3_600_000;
  const hourly = new InfluxSync({ influx, org: config.INFLUXDB_ORG, store, retentionSeconds: 30 * 86400, rollup: { every: '5m', runEvery: '1h', retentionSeconds: 365 * 86400 } });
  const id = `e2e-tiers-h-${crypto.randomBytes(3).toString('hex')}`;
  // The two complete hours before a run three hours back, a point every 90 s, one on the run's stop.
  const stop = Math.floor((Date.now() - 3 * HOUR) / HOUR) * HOUR;
  const lines = (from: number, to: number) =>
    Array.from({ length: (to - from) / 90_000 }, (_, k) => from + k * 90_000).map(
      (at, k) => `device_health,tenant=${id},device=h1 battery_pct=${(k * 7) % 23}.5,battery_min_pct=${k % 11},errors=${k % 4}i,sw_version="1.${k % 3}.0" ${ns(at)}`,
    );
  const fields = ['battery_pct', 'battery_min_pct', 'errors', 'sw_version'];
  const rolled = async (fn: 'mean' | 'min' | 'sum' | 'last', field: string, bucket: string) => {
    const out: string[] = [];
    // Rollup rows are labelled by their window's end, (stop - 2 h, stop]; the raw points are [stop - 2 h, stop).
    const flux =
      bucket === rollupBucket(id)
        ? `from(bucket: "${bucket}") |> range(start: ${iso(stop - 2 * HOUR + 1)}, stop: ${iso(stop + 1)}) |> filter(fn: (r) => r._field == "${field}")`
        : `from(bucket: "${bucket}") |> range(start: ${iso(stop - 2 * HOUR)}, stop: ${iso(stop)}) |> filter(fn: (r) => r._time < ${iso(stop)} and r._field == "${field}") |> aggregateWindow(every: 5m, fn: ${fn}, createEmpty: false)`;
    for await (const r of influx.rawRows(config.INFLUXDB_ORG, flux)) out.push(`${String(r._time?.value)} ${String(r._value?.value)}`);
    return out;
  };

  beforeAll(async () => {
    await hourly.apply(id, hourly.plan([tenant(id, id)], await hourly.read(new Set([id])), new Set()));
    await influx.write(config.INFLUXDB_ORG, tenantBucket(id), lines(stop - 2 * HOUR, stop + 90_000), 'ns');
  });

  it('one run writes every 5-minute period of the two hours before it, as aggregateWindow gives them; the next hour is not touched; a rerun changes nothing', async () => {
    const org = (await influx.findOrg(config.INFLUXDB_ORG))!;
    const task = (await influx.findTask(org.id, rollupTaskName(id)))!;
    expect(task).toMatchObject({ status: 'active', every: '1h' });
    expect((await influx.runTask(task.id, new Date(stop + 60_000))).status).toBe('success');
    const fns = { battery_pct: 'mean', battery_min_pct: 'min', errors: 'sum', sw_version: 'last' } as const;
    for (const field of fields) {
      const got = await rolled(fns[field as keyof typeof fns], field, rollupBucket(id));
      expect(got, field).toHaveLength(24);
      expect(got, field).toEqual(await rolled(fns[field as keyof typeof fns], field, tenantBucket(id)));
    }
    const after = await influx.query(config.INFLUXDB_ORG, `from(bucket: "${rollupBucket(id)}") |> range(start: ${iso(stop + 1)}, stop: ${iso(stop + HOUR)})`);
    expect(after, 'the point on the stop belongs to the next run').toEqual([]);
    const before = await rolled('mean', 'battery_pct', rollupBucket(id));
    expect((await influx.runTask(task.id, new Date(stop + 60_000))).status).toBe('success');
    expect(await rolled('mean', 'battery_pct', rollupBucket(id))).toEqual(before);
  });
});
