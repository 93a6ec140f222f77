import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { repoDir } from '@cdm/stack';
import { describe, expect, it } from 'vitest';
import { loadFleetThresholds } from './fleet-thresholds.ts';

describe('fleet thresholds for the hold gate', () => {
  it("are the fleet dashboards' alert rules' thresholds", () => {
    expect(loadFleetThresholds(path.join(repoDir, 'grafana-dashboards'))).toEqual({ batteryPct: 5, signalDbm: -90, errorRatePct: 1 });
  });
  it('are refused, naming the rule, when one is missing', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cdm-thr-'));
    fs.mkdirSync(path.join(dir, 'alerts'));
    const file = JSON.parse(fs.readFileSync(path.join(repoDir, 'grafana-dashboards', 'alerts', 'fleet-health.json'), 'utf8')) as { rules: { uid: string }[] };
    fs.writeFileSync(path.join(dir, 'alerts', 'x.json'), JSON.stringify({ ...file, rules: file.rules.filter((r) => r.uid !== 'cdm-signal-weak') }));
    expect(() => loadFleetThresholds(dir)).toThrow(/alert rule cdm-signal-weak with a "lt" threshold is missing/);
  });
});
