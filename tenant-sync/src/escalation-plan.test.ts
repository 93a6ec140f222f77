import { describe, expect, it } from 'vitest';
import { desiredEscalation, planEscalation, template, templateCurrent, type EscalationAction, type EscalationState } from './escalation-plan.ts';
import { person, tenant } from './fixtures.test-helpers.ts';

const o = { webhookUrl: 'http://hooks.example/cdm/', escalateAfterS: 900 };
const acme = tenant('g-acme', 'acme', { operators: [person('olga'), person('otto')], oncall: [person('oscar')] });
const empty = (cdmId: string): EscalationState => ({ cdmId, targets: [], rules: [] });

/** The state ThingsBoard holds after applying a plan (ids = names). */
function applied(plan: EscalationAction[], cdmId: string): EscalationState {
  const s = empty(cdmId);
  for (const a of plan) {
    if (a.kind === 'put-target') s.targets.push({ id: a.target.name, name: a.target.name, sha: a.target.sha });
    if (a.kind === 'put-template') s.template = { id: 'tpl', current: true };
    if (a.kind === 'put-rule') s.rules.push({ id: a.rule.name, name: a.rule.name, sha: a.rule.sha });
  }
  return s;
}

describe('planEscalation', () => {
  it('takes a template ThingsBoard stored with its own defaults added as current, and a changed body as not', () => {
    const stored = template('t1');
    const teams = stored.configuration.deliveryMethodsTemplates.MICROSOFT_TEAMS!;
    teams.button = null;
    expect(templateCurrent(stored)).toBe(true);
    teams.body = 'edited by an admin';
    expect(templateCurrent(stored)).toBe(false);
  });

  it('a new tenant: one target per person, then the template, then the rules naming them', () => {
    const plan = planEscalation([acme], [empty('g-acme')], o);
    expect(plan.map((a) => a.kind)).toEqual(['put-target', 'put-target', 'put-target', 'put-template', 'put-rule', 'put-rule']);
    const target = plan.find((a) => a.kind === 'put-target' && a.target.name === 'cdm oncall oscar');
    expect(target).toMatchObject({ target: { webhookUrl: 'http://hooks.example/cdm/g-acme/oncall/oscar' } });
    const critical = plan.find((a) => a.kind === 'put-rule' && a.rule.name === 'cdm critical');
    expect(critical).toMatchObject({
      rule: {
        severities: ['CRITICAL'],
        clearOnAck: true,
        tiers: [
          { delayS: 0, targets: ['cdm operator olga', 'cdm operator otto'] },
          { delayS: 900, targets: ['cdm oncall oscar'] },
        ],
      },
    });
    expect(plan.find((a) => a.kind === 'put-rule' && a.rule.name === 'cdm warning')).toMatchObject({ rule: { severities: ['MAJOR', 'MINOR', 'WARNING'], tiers: [{ delayS: 0 }] } });
  });

  it('plans nothing once ThingsBoard holds what Keycloak says', () => {
    expect(planEscalation([acme], [applied(planEscalation([acme], [empty('g-acme')], o), 'g-acme')], o)).toEqual([]);
  });

  it('a person leaving on-call: the rule is rewritten before their target is deleted', () => {
    const before = applied(planEscalation([acme], [empty('g-acme')], o), 'g-acme');
    const plan = planEscalation([{ ...acme, oncall: [person('opal')] }], [before], o);
    expect(plan.map((a) => `${a.kind} ${'target' in a ? a.target.name : 'rule' in a ? a.rule.name : 'name' in a ? a.name : ''}`)).toEqual([
      'put-target cdm oncall opal',
      'put-rule cdm critical',
      'delete-target cdm oncall oscar',
    ]);
  });

  it('a changed delay rewrites only the critical rule', () => {
    const before = applied(planEscalation([acme], [empty('g-acme')], o), 'g-acme');
    expect(planEscalation([acme], [before], { ...o, escalateAfterS: 60 }).map((a) => a.kind)).toEqual(['put-rule']);
  });

  it('without on-call people critical alarms go to the operators only; without anyone there are no rules', () => {
    expect(desiredEscalation({ ...acme, oncall: [] }, o).rules.find((r) => r.name === 'cdm critical')!.tiers).toHaveLength(1);
    expect(planEscalation([tenant('g-x', 'x')], [empty('g-x')], o)).toEqual([]);
  });

  it('removes the routes of a tenant whose group is gone, rules first; not of a group skipped as invalid', () => {
    const before = applied(planEscalation([acme], [empty('g-acme')], o), 'g-acme');
    expect(planEscalation([], [before], o).map((a) => a.kind)).toEqual(['delete-rule', 'delete-rule', 'delete-target', 'delete-target', 'delete-target']);
    expect(planEscalation([], [before], o, new Set(['g-acme']))).toEqual([]);
  });

  it('plans a tenant ThingsBoard has not made yet in full (made earlier in the same pass), and leaves another admin’s objects alone', () => {
    expect(planEscalation([acme], [], o)).toEqual(planEscalation([acme], [empty('g-acme')], o));
    const before = applied(planEscalation([acme], [empty('g-acme')], o), 'g-acme');
    // read() lists only names starting "cdm ": a rule an admin made is not in the state, so never deleted.
    expect(planEscalation([acme], [before], o).filter((a) => a.kind.startsWith('delete'))).toEqual([]);
  });
});
