import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { AlertRule } from '@cdm/common';
import { z } from 'zod';

/** Annotations that mark a Grafana rule as ours: which file rule it is, and the content it was made from. */
export const RULE_ANNOTATION = 'cdm_rule';
export const SHA_ANNOTATION = 'cdm_sha';

const ruleSchema = z.object({
  uid: z.string().regex(/^[a-z0-9-]{1,30}$/, 'uid: 1–30 of a-z, 0-9, - (the org id is appended per tenant)'),
  title: z.string().min(1),
  condition: z.string().min(1),
  data: z.array(z.object({ refId: z.string(), datasourceUid: z.string(), model: z.record(z.string(), z.unknown()) }).loose()).min(1),
  for: z.string().regex(/^\d+[smhd]$/),
  noDataState: z.enum(['Alerting', 'NoData', 'OK']),
  execErrState: z.enum(['Alerting', 'Error', 'OK']),
  labels: z.record(z.string(), z.string()).optional(),
  annotations: z.record(z.string(), z.string()).optional(),
});
const fileSchema = z.object({ ruleGroup: z.string().min(1), rules: z.array(ruleSchema) });

export interface AlertRuleFile {
  uid: string;
  title: string;
  ruleGroup: string;
  /** First 12 hex of the rule's sha256: stamped on the Grafana copy to tell whether it is current. */
  sha: string;
  rule: z.infer<typeof ruleSchema>;
}

/**
 * Loads `<dashboards dir>/alerts/*.json` (a rule group each); none is fine. A malformed file is
 * refused at start-up, naming it and the problem.
 */
export function loadAlertRules(dashboardsDir: string): AlertRuleFile[] {
  const dir = path.join(dashboardsDir, 'alerts');
  if (!fs.existsSync(dir)) return [];
  const out: AlertRuleFile[] = [];
  for (const f of fs
    .readdirSync(dir)
    .filter((x) => x.endsWith('.json'))
    .sort()) {
    let parsed: z.infer<typeof fileSchema>;
    try {
      parsed = fileSchema.parse(JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8')));
    } catch (err) {
      const msg = err instanceof z.ZodError ? err.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ') : (err as Error).message;
      throw new Error(`alert rules alerts/${f}: ${msg}`, { cause: err });
    }
    for (const rule of parsed.rules) {
      if (out.some((r) => r.uid === rule.uid)) throw new Error(`alert rules alerts/${f}: uid ${rule.uid} is used twice`);
      const sha = crypto
        .createHash('sha256')
        .update(JSON.stringify({ ruleGroup: parsed.ruleGroup, rule }))
        .digest('hex')
        .slice(0, 12);
      out.push({ uid: rule.uid, title: rule.title, ruleGroup: parsed.ruleGroup, sha, rule });
    }
  }
  return out;
}

/**
 * The rule as created in one tenant's org. Grafana rule uids must be unique per org (and are
 * across orgs in some versions and in the contract fake), so the org id is part of it.
 */
export function ruleForOrg(f: AlertRuleFile, orgId: number, folderUid: string): AlertRule {
  return {
    ...f.rule,
    uid: `${f.uid}-o${orgId}`,
    orgID: orgId,
    folderUID: folderUid,
    ruleGroup: f.ruleGroup,
    annotations: { ...f.rule.annotations, [RULE_ANNOTATION]: f.uid, [SHA_ANNOTATION]: f.sha },
  };
}

/** Our rules among an org's: file rule uid → the Grafana uid and the sha it was made from. */
export function ourRules(rules: AlertRule[]): Record<string, { uid: string; sha?: string }> {
  const out: Record<string, { uid: string; sha?: string }> = {};
  for (const r of rules) {
    const id = r.annotations?.[RULE_ANNOTATION];
    if (id && r.uid) out[id] = { uid: r.uid, sha: r.annotations?.[SHA_ANNOTATION] };
  }
  return out;
}
