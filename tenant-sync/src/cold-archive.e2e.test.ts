import { execFile } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { createLogger, InfluxClient, lineOf, loadConfig, tenantBucket } from '@cdm/common';
import { bridgeEnv, defaultContext, repoDir, tenantBucketFor } from '@cdm/stack';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { archivePaths } from './cold-archive.ts';
import { ColdExport } from './cold-export.ts';
import { tenantSyncConfig } from './config.ts';

/**
 * The cold tier on the real influxd (1.8, behind the InfluxDB 2 fake): a day written with old
 * timestamps is exported by the CLI to gzip'd line protocol and restored into another bucket, and
 * the two buckets then hold the same points — every type, tag and nanosecond.
 */
const stack = inject('stack');
const run = crypto.randomBytes(3).toString('hex');
const source = `e2e-cold-${run}`;
const target = `e2e-cold-restored-${run}`;
const env = bridgeEnv(stack, defaultContext().stateDir)['tenant-sync'];
const config = loadConfig(tenantSyncConfig, env);
const influx = new InfluxClient({ baseURL: config.INFLUXDB_URL, token: config.INFLUXDB_TOKEN });
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cdm-cold-'));
const day = new Date(Date.now() - 3 * 86_400_000).toISOString().slice(0, 10);
const at = (t: string) => BigInt(Date.parse(`${day}T00:00:00Z`)) * 1_000_000n + BigInt(t);
const cli = (...args: string[]) =>
  promisify(execFile)(process.execPath, ['--import', 'tsx', path.join(repoDir, 'tenant-sync', 'src', 'main.ts'), ...args], { env: { ...process.env, ...env }, timeout: 120_000 }).then(
    (r) => ({ code: 0, out: r.stdout + r.stderr }),
    (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, out: e.stdout + e.stderr }),
  );
const dayOf = async (bucket: string) => {
  const lines: string[] = [];
  const next = new Date(Date.parse(`${day}T00:00:00Z`) + 86_400_000).toISOString();
  const flux = `from(bucket: "${bucket}") |> range(start: ${day}T00:00:00Z, stop: ${next}) |> filter(fn: (r) => r._time < ${next})`;
  for await (const row of influx.rawRows(config.INFLUXDB_ORG, flux)) lines.push(lineOf(row));
  return lines.sort();
};

describe('cold tier: export a day, restore it', () => {
  // 48 points over the day (every 30 min, five fields of four types, a string sometimes empty), tags
  // that need escaping, and one point on either side of the day that must stay out.
  const inside = Array.from({ length: 48 }, (_, i) => {
    const ns = at(String(i * 1_800_000_000_000 + 123));
    return `device_health,device=dev\\ ${i % 3},site=hall\\,${i % 2} battery_pct=${50 + i / 4},errors=${i}i,fw="1.4.0 \\"rc\\"",note="${i % 4 ? 'late' : ''}",online=${i % 5 !== 0} ${ns}`;
  });
  const outside = [`device_health,device=dev\\ 0 battery_pct=1 ${at('-1')}`, `device_health,device=dev\\ 0 battery_pct=2 ${at('86400000000000')}`];
  beforeAll(async () => {
    await tenantBucketFor(influx, config.INFLUXDB_ORG, source);
    await tenantBucketFor(influx, config.INFLUXDB_ORG, target);
    await influx.write(config.INFLUXDB_ORG, tenantBucket(source), [...inside, ...outside], 'ns');
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('an exported day restores to the same values, and restoring twice changes nothing', async () => {
    const exported = await cli('export', '--tenant', source, '--day', day, '--out', dir);
    expect(exported.code, exported.out).toBe(0);
    const files = archivePaths(dir, tenantBucket(source), day);
    const manifest = JSON.parse(fs.readFileSync(files.manifest, 'utf8')) as { lines: number; bucket: string };
    // One line per point: its five fields on it.
    expect(manifest).toMatchObject({ lines: 48, bucket: tenantBucket(source) });
    for (let time = 0; time < 2; time++) {
      const restored = await cli('restore', files.data, '--bucket', tenantBucket(target));
      expect(restored.code, restored.out).toBe(0);
      expect(restored.out).toMatch(`restored 48 lines into ${tenantBucket(target)}`);
    }
    const original = await dayOf(tenantBucket(source));
    expect(original).toHaveLength(48 * 5);
    expect(await dayOf(tenantBucket(target))).toEqual(original);
    expect(original.some((l) => l.includes('fw="1.4.0 \\"rc\\""') && l.endsWith('123'))).toBe(true);
    expect(original.filter((l) => l.includes(' note="" '))).toHaveLength(12);
  });

  it('refuses a damaged archive and writes nothing', async () => {
    const exported = await cli('export', '--tenant', source, '--day', day, '--out', path.join(dir, 'again'));
    expect(exported.code, exported.out).toBe(0);
    const files = archivePaths(path.join(dir, 'again'), tenantBucket(source), day);
    const bytes = fs.readFileSync(files.data);
    bytes[bytes.length - 12]! ^= 0xff;
    fs.writeFileSync(files.data, bytes);
    const empty = `e2e-cold-empty-${run}`;
    await tenantBucketFor(influx, config.INFLUXDB_ORG, empty);
    const r = await cli('restore', files.data, '--bucket', tenantBucket(empty));
    expect(r.code).toBe(2);
    expect(r.out).toMatch(/the archive is damaged; nothing was written/);
    expect(await dayOf(tenantBucket(empty))).toEqual([]);
  });

  it('refuses a day that is not a date', async () => {
    const r = await cli('export', '--tenant', source, '--day', '2026-02-30', '--out', dir);
    expect([r.code, r.out]).toEqual([2, expect.stringMatching(/"2026-02-30" is not a date/)]);
  });

  it("the daemon's pass exports each complete day once, and catches up the days it missed", async () => {
    const cold = new ColdExport({
      influx,
      org: config.INFLUXDB_ORG,
      dir: path.join(dir, 'daemon'),
      lookbackDays: 4,
      logger: createLogger('cold-e2e', { level: 'silent' }),
      isTenantBucket: (name) => name === tenantBucket(source),
    });
    const first = await cold.pass();
    expect(first.failed).toEqual([]);
    expect(first.exported.map((e) => e.day)).toHaveLength(4); // the 4 complete days before today, oldest first
    expect(first.exported.find((e) => e.day === day)).toMatchObject({ bucket: tenantBucket(source), lines: 48 });
    expect(await cold.pass()).toEqual({ exported: [], failed: [] });
    fs.rmSync(archivePaths(path.join(dir, 'daemon'), tenantBucket(source), day).manifest);
    expect((await cold.pass()).exported).toEqual([{ bucket: tenantBucket(source), day, lines: 48 }]);
  });
});
