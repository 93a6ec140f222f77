import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { importable, loadDashboards } from './dashboards.ts';

describe('dashboards', () => {
  it('loads the repo dashboards, each with uid, title and a content hash', () => {
    const all = loadDashboards(path.resolve(import.meta.dirname, '..', '..', 'grafana-dashboards'));
    expect(all.length).toBeGreaterThan(0);
    for (const d of all) expect(d.sha).toMatch(/^[0-9a-f]{12}$/);
  });

  it('refuses a file without uid, naming it', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dash-'));
    fs.writeFileSync(path.join(dir, 'bad.json'), JSON.stringify({ title: 'x' }));
    expect(() => loadDashboards(dir)).toThrow('dashboard bad.json needs a "uid"');
  });

  it('tags the imported copy with cdm and its hash and drops the numeric id', () => {
    const d = importable({ uid: 'u', title: 't', sha: 'abc', json: { id: 12, uid: 'u', title: 't', tags: ['fleet', 'cdm-sha:old'] } });
    expect(d).toEqual({ uid: 'u', title: 't', tags: ['fleet', 'cdm', 'cdm-sha:abc'] });
  });
});
