import fs from 'node:fs';
import path from 'node:path';

/**
 * The fleet dashboards' alert thresholds the hold gate compares updated devices by: read from the
 * same rule files tenant-sync provisions into Grafana (grafana-dashboards/alerts), so a threshold
 * changed there changes both. Refused at start-up when a rule is missing or has no threshold.
 */
export interface FleetThresholds {
  /** Battery below this (%) — rule cdm-battery-critical. */
  batteryPct: number;
  /** Signal below this (dBm) — rule cdm-signal-weak. */
  signalDbm: number;
  /** Error rate above this (%) — rule cdm-error-rate. */
  errorRatePct: number;
}

const RULES = { batteryPct: ['cdm-battery-critical', 'lt'], signalDbm: ['cdm-signal-weak', 'lt'], errorRatePct: ['cdm-error-rate', 'gt'] } as const;

type Rule = { uid?: string; data?: { model?: { type?: string; conditions?: { evaluator?: { type?: string; params?: number[] } }[] } }[] };

export function loadFleetThresholds(dashboardsDir: string): FleetThresholds {
  const dir = path.join(dashboardsDir, 'alerts');
  const rules: Rule[] = [];
  for (const f of fs.existsSync(dir) ? fs.readdirSync(dir).filter((x) => x.endsWith('.json')) : []) {
    rules.push(...(((JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8')) as { rules?: Rule[] }).rules ?? []) as Rule[]));
  }
  const out = {} as FleetThresholds;
  for (const [key, [uid, op]] of Object.entries(RULES) as [keyof FleetThresholds, readonly [string, string]][]) {
    const rule = rules.find((r) => r.uid === uid);
    const evaluator = rule?.data?.flatMap((d) => (d.model?.type === 'threshold' ? (d.model.conditions ?? []) : [])).map((c) => c.evaluator)[0];
    const v = evaluator?.params?.[0];
    if (evaluator?.type !== op || typeof v !== 'number') throw new Error(`${dir}: alert rule ${uid} with a "${op}" threshold is missing; the hold gate compares devices by it`);
    out[key] = v;
  }
  return out;
}
