import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { SCHEMA } from '@cdm/common';
import { fluxProblem } from './flux.test-helpers.ts';
import { alertQueries, alertRuleFiles, dashboardQueries, DASHBOARDS_DIR, interpolate, referenced } from './queries.ts';

const dashboards = fs
  .readdirSync(DASHBOARDS_DIR)
  .filter((f) => f.endsWith('.json'))
  .map((f) => ({
    file: f,
    json: JSON.parse(fs.readFileSync(path.join(DASHBOARDS_DIR, f), 'utf8')) as {
      uid: string;
      title: string;
      panels: { id: number; title: string; datasource?: { uid: string }; targets?: { refId: string; query: string; datasource?: { uid: string } }[] }[];
    },
  }));
const queries = [...dashboardQueries(), ...alertQueries()];
const now = new Date('2026-06-01T12:00:00Z');
const grafana = (q: string) => interpolate(q, { bucket: 'cdm-acme', from: new Date(now.getTime() - 6 * 3_600_000), to: now, windowPeriod: '1m' });

describe('dashboards', () => {
  it('are Fleet health and OTA rollouts, each panel on the tenant data source with its own id', () => {
    expect(dashboards.map((d) => d.json.title).sort()).toEqual(['Fleet health', 'OTA rollouts']);
    for (const { file, json } of dashboards) {
      expect(new Set(json.panels.map((p) => p.id)).size, file).toBe(json.panels.length);
      for (const p of json.panels) {
        expect(p.datasource?.uid, `${file} / ${p.title}`).toBe('cdm-influxdb');
        expect(p.targets?.length, `${file} / ${p.title}`).toBeGreaterThan(0);
        for (const t of p.targets!) expect(t.datasource?.uid ?? 'cdm-influxdb', `${file} / ${p.title}`).toBe('cdm-influxdb');
      }
    }
  });

  it("read only the tenant's buckets (v.defaultBucket or its rollup tier by range, never a bucket name)", () => {
    for (const q of queries) {
      expect(q.query, q.where).toMatch(
        /from\(bucket: v\.defaultBucket\)|^bucket = if int\(v: v\.timeRangeStop\) - int\(v: v\.timeRangeStart\) > 172800000000000 then v\.defaultBucket \+ "\.rollup" else v\.defaultBucket\nfrom\(bucket: bucket\)/m,
      );
      expect(q.query, q.where).not.toMatch(/from\(bucket:\s*"/);
    }
  });

  it('read the rollup tier past 2 days in the panels over device health, whose aggregates it holds', () => {
    const tiered = dashboardQueries().filter((q) => q.query.includes('from(bucket: bucket)'));
    expect(tiered.map((q) => q.where.split(' / ')[1])).toEqual(['Firmware versions', 'Battery', 'Battery', 'Signal', 'Signal', 'Error rate', 'Devices reporting']);
  });

  it('Fleet health has online %, firmware distribution, battery, signal, error rate and offline > 24 h', () => {
    const titles = dashboards
      .find((d) => d.json.uid === 'cdm-fleet-overview')!
      .json.panels.map((p) => p.title)
      .join(' | ');
    for (const t of ['Online', 'Firmware versions', 'Firmware current', 'Battery', 'Signal', 'Error rate', 'Offline > 24 h']) expect(titles).toContain(t);
  });
});

describe('every panel and alert query', () => {
  it.each(queries.map((q) => [q.where, q.query] as const))('%s parses and type-checks as Flux', async (_where, query) => {
    expect(await fluxProblem(grafana(query))).toBeUndefined();
  });

  it.each(queries.map((q) => [q.where, q.query] as const))('%s reads measurements and fields the simulator (or ota-bridge) writes', (_where, query) => {
    const { measurements, fields } = referenced(query);
    expect(measurements.length).toBeGreaterThan(0);
    for (const m of measurements) expect(Object.keys(SCHEMA)).toContain(m);
    const known = measurements.flatMap((m) => Object.keys(SCHEMA[m]!.fields));
    expect(fields.length).toBeGreaterThan(0);
    for (const f of fields) expect(known).toContain(f);
    // Tags used as columns must be tags of those measurements.
    const tags = measurements.flatMap((m) => SCHEMA[m]!.tags);
    for (const [, col] of query.matchAll(/r\.(\w+)/g))
      if (!col!.startsWith('_') && !['online', 'total', 'samples', 'errors', 'code', 'current', 'first'].includes(col!)) expect(tags, col).toContain(col);
  });

  it('the checker itself refuses broken Flux', async () => {
    expect(await fluxProblem('from(bucket: "x") |> rang(start: -1h)')).toBeDefined();
    expect(await fluxProblem('from(bucket: "x") |> range(strt: -1h)')).toBeDefined();
    expect(await fluxProblem('from(bucket: "x" |> range(start: -1h)')).toBeDefined();
    expect(await fluxProblem(grafana('from(bucket: v.defaultBucket) |> range(start: v.timeRangeStart, stop: v.timeRangeStop)'))).toBeUndefined();
  });
});

describe('alert rules', () => {
  const rules = alertRuleFiles().flatMap((g) => g.rules);
  const threshold = (uid: string) => {
    const r = rules.find((x) => x.uid === uid)!;
    const c = r.data.find((d) => d.refId === r.condition)!.model as { type: string; conditions: { evaluator: { type: string; params: number[] } }[] };
    expect(c.type).toBe('threshold');
    return c.conditions[0]!.evaluator;
  };

  it('hold the thresholds of the issue', () => {
    expect(threshold('cdm-battery-warning')).toEqual({ type: 'within_range', params: [5, 10] });
    expect(threshold('cdm-battery-critical')).toEqual({ type: 'lt', params: [5] });
    expect(threshold('cdm-signal-weak')).toEqual({ type: 'lt', params: [-90] });
    expect(threshold('cdm-error-rate')).toEqual({ type: 'gt', params: [1] });
    expect(threshold('cdm-device-offline')).toEqual({ type: 'gt', params: [24] });
    expect(threshold('cdm-fleet-online')).toEqual({ type: 'lt', params: [95] });
    expect(threshold('cdm-firmware-current')).toEqual({ type: 'lt', params: [80] });
    expect(rules.find((r) => r.uid === 'cdm-battery-critical')).toMatchObject({ labels: { severity: 'critical' } });
  });

  it('are well formed: short unique uids, a chain of steps ending in the condition, the tenant data source', () => {
    expect(new Set(rules.map((r) => r.uid)).size).toBe(rules.length);
    for (const r of rules) {
      // tenant-sync appends the org id (-o<id>) to stay unique in Grafana: leave room for it.
      expect(r.uid, r.uid).toMatch(/^[a-z0-9-]{1,30}$/);
      const refs = new Set(r.data.map((d) => d.refId));
      expect(refs.has(r.condition), r.uid).toBe(true);
      for (const d of r.data) {
        if (d.datasourceUid === '__expr__') expect(refs.has(d.model.expression!), `${r.uid}/${d.refId}`).toBe(true);
        else expect(d.datasourceUid).toBe('cdm-influxdb');
      }
    }
  });
});
