import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadAlertRules, ourRules, ruleForOrg } from './alert-rules.ts';

const repo = path.resolve(import.meta.dirname, '..', '..', 'grafana-dashboards');
const dirWith = (files: Record<string, unknown>) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'alerts-'));
  fs.mkdirSync(path.join(dir, 'alerts'));
  for (const [f, v] of Object.entries(files)) fs.writeFileSync(path.join(dir, 'alerts', f), typeof v === 'string' ? v : JSON.stringify(v));
  return dir;
};
const rule = (uid: string, extra: Record<string, unknown> = {}) => ({
  uid,
  title: uid,
  condition: 'C',
  data: [{ refId: 'A', datasourceUid: 'cdm-influxdb', model: { query: 'from(bucket: v.defaultBucket)' } }],
  for: '5m',
  noDataState: 'OK',
  execErrState: 'Error',
  ...extra,
});

describe('alert rules', () => {
  it('loads the repo rules, each with a content hash', () => {
    const all = loadAlertRules(repo);
    expect(all.map((r) => r.uid)).toContain('cdm-battery-critical');
    for (const r of all) expect(r.sha).toMatch(/^[0-9a-f]{12}$/);
  });

  it('has none without an alerts directory', () => {
    expect(loadAlertRules(fs.mkdtempSync(path.join(os.tmpdir(), 'no-alerts-')))).toEqual([]);
  });

  it('refuses a malformed file or a duplicate uid, naming the file', () => {
    expect(() => loadAlertRules(dirWith({ 'x.json': '{' }))).toThrow(/alerts\/x\.json/);
    expect(() => loadAlertRules(dirWith({ 'x.json': { ruleGroup: 'g', rules: [rule('Bad Uid')] } }))).toThrow(/alerts\/x\.json: rules\.0\.uid/);
    expect(() => loadAlertRules(dirWith({ 'x.json': { ruleGroup: 'g', rules: [rule('a'), rule('a')] } }))).toThrow('uid a is used twice');
  });

  it('changes the hash when the rule or its group changes, not otherwise', () => {
    const a = loadAlertRules(dirWith({ 'x.json': { ruleGroup: 'g', rules: [rule('a')] } }))[0]!;
    expect(loadAlertRules(dirWith({ 'x.json': { ruleGroup: 'g', rules: [rule('a')] } }))[0]!.sha).toBe(a.sha);
    expect(loadAlertRules(dirWith({ 'x.json': { ruleGroup: 'g', rules: [rule('a', { for: '10m' })] } }))[0]!.sha).not.toBe(a.sha);
    expect(loadAlertRules(dirWith({ 'x.json': { ruleGroup: 'h', rules: [rule('a')] } }))[0]!.sha).not.toBe(a.sha);
  });

  it('makes the org copy: org-qualified uid, folder, group, and annotations that mark it as ours', () => {
    const f = loadAlertRules(dirWith({ 'x.json': { ruleGroup: 'g', rules: [rule('a', { annotations: { summary: 's' } })] } }))[0]!;
    const r = ruleForOrg(f, 7, 'cdm');
    expect(r).toMatchObject({ uid: 'a-o7', orgID: 7, folderUID: 'cdm', ruleGroup: 'g', condition: 'C', for: '5m', annotations: { summary: 's', cdm_rule: 'a', cdm_sha: f.sha } });
    expect(ourRules([r, { ...r, uid: 'theirs', annotations: { summary: 'x' } }])).toEqual({ a: { uid: 'a-o7', sha: f.sha } });
  });
});
