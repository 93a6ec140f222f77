import fs from 'node:fs';
import path from 'node:path';

export const DASHBOARDS_DIR = path.resolve(import.meta.dirname, '..', '..', '..', 'grafana-dashboards');

export interface PanelQuery {
  /** `<dashboard uid> / <panel title> / <refId>` or `alert <rule uid>`. */
  where: string;
  query: string;
}

interface Panel {
  title?: string;
  type?: string;
  targets?: { refId: string; query?: string }[];
  panels?: Panel[];
}

/** Every Flux query of every panel (rows' nested panels included) of the dashboards in `dir`. */
export function dashboardQueries(dir = DASHBOARDS_DIR): PanelQuery[] {
  const out: PanelQuery[] = [];
  for (const f of fs
    .readdirSync(dir)
    .filter((x) => x.endsWith('.json'))
    .sort()) {
    const d = JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8')) as { uid: string; panels?: Panel[] };
    const walk = (ps: Panel[] = []) => {
      for (const p of ps) {
        if (p.type === 'row') walk(p.panels);
        else for (const t of p.targets ?? []) out.push({ where: `${d.uid} / ${p.title} / ${t.refId}`, query: t.query ?? '' });
      }
    };
    walk(d.panels);
  }
  return out;
}

export interface AlertRuleFile {
  ruleGroup: string;
  rules: { uid: string; title: string; condition: string; data: { refId: string; datasourceUid: string; model: { query?: string; type?: string; expression?: string } }[] }[];
}

export function alertRuleFiles(dir = path.join(DASHBOARDS_DIR, 'alerts')): AlertRuleFile[] {
  return fs
    .readdirSync(dir)
    .filter((x) => x.endsWith('.json'))
    .sort()
    .map((f) => JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8')) as AlertRuleFile);
}

/** The Flux queries of the alert rules (the data-source steps; expressions are Grafana's). */
export function alertQueries(dir?: string): PanelQuery[] {
  return alertRuleFiles(dir).flatMap((g) =>
    g.rules.flatMap((r) => r.data.filter((d) => d.datasourceUid !== '__expr__').map((d) => ({ where: `alert ${r.uid} / ${d.refId}`, query: d.model.query ?? '' }))),
  );
}

/**
 * Grafana's Flux macros, replaced as its InfluxDB data source does before sending a query
 * (bucket and organization as strings, the time range as RFC 3339 time literals).
 */
export function interpolate(query: string, v: { bucket: string; from: Date; to: Date; windowPeriod?: string }): string {
  return query
    .replaceAll('v.defaultBucket', JSON.stringify(v.bucket))
    .replaceAll('v.timeRangeStart', v.from.toISOString())
    .replaceAll('v.timeRangeStop', v.to.toISOString())
    .replaceAll('v.windowPeriod', v.windowPeriod ?? '1m');
}

/** Measurements and fields a query filters on (`r._measurement == "…"`, `r._field == "…"`). */
export function referenced(query: string): { measurements: string[]; fields: string[] } {
  const all = (re: RegExp) => [...new Set([...query.matchAll(re)].map((m) => m[1]!))];
  return { measurements: all(/r\._measurement\s*==\s*"([^"]+)"/g), fields: all(/r\._field\s*==\s*"([^"]+)"/g) };
}
