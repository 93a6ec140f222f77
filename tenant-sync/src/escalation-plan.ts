import crypto from 'node:crypto';
import { ESCALATION, type AlarmSeverity, type NotificationTemplate } from '@cdm/common';
import type { DesiredTenant } from './model.ts';

/**
 * Alarm escalation in ThingsBoard's notification center, per tenant, from the tenant's roles in
 * Keycloak: warnings reach the tenant's operators; critical alarms reach the operators at once and
 * the tenant's on-call when still unacknowledged `escalateAfterS` later (ThingsBoard cancels the
 * pending step when the alarm is acknowledged). Each person is a notification target posting to
 * the escalation webhook with the tenant, role and Keycloak user id in its path, so the receiver
 * (a paging gateway, or the local stack's test receiver) knows who it is for.
 */
export const OWNED = 'cdm ';
export const TEMPLATE = 'cdm alarm';
const SHA = /^cdm sha ([0-9a-f]{12})$/;

export type EscalationRole = 'operator' | 'oncall';

export interface EscalationState {
  cdmId: string;
  /** Only cdm's objects (names starting "cdm "): an admin's own rules and targets are never touched. */
  targets: { id: string; name: string; sha?: string }[];
  template?: { id: string; current: boolean };
  rules: { id: string; name: string; sha?: string }[];
}

export interface DesiredTarget {
  name: string;
  webhookUrl: string;
  channelName: string;
  sha: string;
}

export interface DesiredRule {
  name: string;
  severities: readonly AlarmSeverity[];
  /** Seconds after the alarm → target names. */
  tiers: { delayS: number; targets: string[] }[];
  clearOnAck: boolean;
  sha: string;
}

export type EscalationAction =
  | { kind: 'put-target'; cdmId: string; id?: string; target: DesiredTarget }
  | { kind: 'put-template'; cdmId: string; id?: string }
  | { kind: 'put-rule'; cdmId: string; id?: string; rule: DesiredRule }
  | { kind: 'delete-rule'; cdmId: string; id: string; name: string }
  | { kind: 'delete-target'; cdmId: string; id: string; name: string };

const sha = (x: unknown) => crypto.createHash('sha256').update(JSON.stringify(x)).digest('hex').slice(0, 12);
export const shaOf = (description: string | undefined | null) => SHA.exec(description ?? '')?.[1];
export const shaDescription = (s: string) => `cdm sha ${s}`;

/** The one template every cdm rule uses: ThingsBoard fills in the alarm. */
export function template(id?: string): NotificationTemplate {
  return {
    ...(id ? { id: { id, entityType: 'NOTIFICATION_TEMPLATE' } } : {}),
    name: TEMPLATE,
    notificationType: 'ALARM',
    configuration: {
      deliveryMethodsTemplates: {
        MICROSOFT_TEAMS: {
          method: 'MICROSOFT_TEAMS',
          enabled: true,
          subject: '${alarmSeverity} ${alarmType}',
          body: '${alarmOriginatorName}: ${action} (alarm ${alarmId}, ${alarmStatus})',
          themeColor: '#d32f2f',
        },
      },
    },
  };
}
/** ThingsBoard adds its own defaults to a stored template: it is current when every field we set holds our value. */
export function templateCurrent(t: NotificationTemplate): boolean {
  for (const [method, want] of Object.entries(template().configuration.deliveryMethodsTemplates)) {
    const have = t.configuration?.deliveryMethodsTemplates?.[method];
    if (!have || Object.entries(want).some(([k, v]) => JSON.stringify(have[k]) !== JSON.stringify(v))) return false;
  }
  return true;
}

/** Where a person's notifications go: the webhook, then tenant, role and Keycloak user id (Grafana's contact points use it too). */
export const personUrl = (webhookUrl: string, cdmId: string, role: EscalationRole, personId: string) =>
  `${webhookUrl.replace(/\/+$/, '')}/${encodeURIComponent(cdmId)}/${role}/${encodeURIComponent(personId)}`;

export function desiredEscalation(d: DesiredTenant, o: { webhookUrl: string; escalateAfterS: number }): { targets: DesiredTarget[]; rules: DesiredRule[] } {
  const target = (role: EscalationRole, personId: string): DesiredTarget => {
    const t = { name: `${OWNED}${role} ${personId}`, webhookUrl: personUrl(o.webhookUrl, d.cdmId, role, personId), channelName: `${d.name} ${role}` };
    return { ...t, sha: sha(t) };
  };
  const operators = d.operators.map((p) => target('operator', p.id));
  const oncall = d.oncall.map((p) => target('oncall', p.id));
  const rule = (name: string, severities: readonly AlarmSeverity[], tiers: DesiredRule['tiers'], clearOnAck: boolean): DesiredRule[] => {
    const used = tiers.filter((t) => t.targets.length);
    if (!used.length) return [];
    const r = { name: `${OWNED}${name}`, severities, tiers: used, clearOnAck };
    return [{ ...r, sha: sha(r) }];
  };
  const names = (ts: DesiredTarget[]) => ts.map((t) => t.name).sort();
  return {
    targets: [...operators, ...oncall],
    rules: [
      ...rule('warning', ESCALATION.warning, [{ delayS: 0, targets: names(operators) }], false),
      ...rule(
        'critical',
        ESCALATION.critical,
        [
          { delayS: 0, targets: names(operators) },
          { delayS: o.escalateAfterS, targets: names(oncall) },
        ],
        true,
      ),
    ],
  };
}

/**
 * The notification-center changes for each tenant (pure): targets before the rules that name
 * them, rules before deleting the targets they no longer name (ThingsBoard refuses to delete a
 * target a rule names); unchanged objects (same content hash in their description) are left
 * alone. A tenant without a state (not in ThingsBoard yet) gets everything.
 */
export function planEscalation(desired: DesiredTenant[], actual: EscalationState[], o: { webhookUrl: string; escalateAfterS: number }, skipped: ReadonlySet<string> = new Set()): EscalationAction[] {
  const plan: EscalationAction[] = [];
  // A tenant whose group is gone keeps no routes: its people left with it, and ThingsBoard may still raise alarms there.
  const wanted = new Set(desired.map((d) => d.cdmId));
  for (const a of actual) {
    if (wanted.has(a.cdmId) || skipped.has(a.cdmId)) continue;
    for (const r of a.rules) plan.push({ kind: 'delete-rule', cdmId: a.cdmId, id: r.id, name: r.name });
    for (const t of a.targets) plan.push({ kind: 'delete-target', cdmId: a.cdmId, id: t.id, name: t.name });
  }
  const byCdm = new Map(actual.map((a) => [a.cdmId, a]));
  for (const d of desired) {
    const a = byCdm.get(d.cdmId) ?? { cdmId: d.cdmId, targets: [], rules: [] };
    const want = desiredEscalation(d, o);
    const haveTargets = new Map(a.targets.map((t) => [t.name, t]));
    for (const t of want.targets) {
      const h = haveTargets.get(t.name);
      if (!h || h.sha !== t.sha) plan.push({ kind: 'put-target', cdmId: d.cdmId, ...(h ? { id: h.id } : {}), target: t });
    }
    if (!a.template?.current && want.rules.length) plan.push({ kind: 'put-template', cdmId: d.cdmId, ...(a.template ? { id: a.template.id } : {}) });
    const haveRules = new Map(a.rules.map((r) => [r.name, r]));
    for (const r of want.rules) {
      const h = haveRules.get(r.name);
      if (!h || h.sha !== r.sha) plan.push({ kind: 'put-rule', cdmId: d.cdmId, ...(h ? { id: h.id } : {}), rule: r });
    }
    const wantRules = new Set(want.rules.map((r) => r.name));
    for (const r of a.rules) if (!wantRules.has(r.name)) plan.push({ kind: 'delete-rule', cdmId: d.cdmId, id: r.id, name: r.name });
    const wantTargets = new Set(want.targets.map((t) => t.name));
    for (const t of a.targets) if (!wantTargets.has(t.name)) plan.push({ kind: 'delete-target', cdmId: d.cdmId, id: t.id, name: t.name });
  }
  return plan;
}
