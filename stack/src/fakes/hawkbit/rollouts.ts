import type { Deployments } from './deploy.ts';
import { DEFAULT_WEIGHT } from './deploy.ts';
import { parseFiql } from './fiql.ts';
import { audit, badRequest, conflict, ex, illegalRolloutState, type Action, type ActionType, type Condition, type HbState, type Rollout, type RolloutGroup } from './state.ts';
import type { Views } from './views.ts';

type ConditionIn = { condition?: 'THRESHOLD'; expression?: string };
type ActionIn = { action?: string; expression?: string };
interface Conditions {
  successCondition?: ConditionIn;
  successAction?: ActionIn;
  errorCondition?: ConditionIn;
  errorAction?: ActionIn;
}
export interface RolloutCreate extends Conditions {
  name: string;
  description?: string;
  distributionSetId?: number;
  targetFilterQuery?: string;
  amountGroups?: number;
  groups?: (Conditions & { name: string; description?: string; targetFilterQuery?: string; targetPercentage?: number; confirmationRequired?: boolean })[];
  type?: ActionType;
  forcetime?: number;
  startAt?: number;
  weight?: number;
  dynamic?: boolean;
  confirmationRequired?: boolean;
}

/** RolloutGroupConditionBuilder.withDefaults(): 50 % to go on, more than 50 % errors pause. */
const DEFAULTS = {
  successCondition: { condition: 'THRESHOLD', expression: '50' },
  successAction: { action: 'NEXTGROUP', expression: '' },
  errorCondition: { condition: 'THRESHOLD', expression: '50' },
  errorAction: { action: 'PAUSE', expression: '' },
} as const;
const TERMINAL = new Set(['error', 'finished', 'canceled']);

const fiql = (q: string) => {
  try {
    return parseFiql(q);
  } catch (e) {
    throw ex(400, 'hawkbit.server.error.rest.param.rsqlParamSyntax', (e as Error).message, 'org.eclipse.hawkbit.repository.exception.RSQLParameterSyntaxException');
  }
};

/**
 * Rollouts as RolloutManagement and the rollout executor handle them. hawkBit's executor runs on
 * a schedule; here tick() runs before every request, so each state change the real scheduler
 * would make between two calls has happened by the time the next call is answered.
 */
export class Rollouts {
  constructor(
    private readonly s: HbState,
    private readonly d: Deployments,
    private readonly v: Views,
  ) {}

  create(body: RolloutCreate, user: string): Rollout {
    if (!body.targetFilterQuery)
      throw ex(
        400,
        'hawkbit.server.error.rest.param.rsqlParamSyntax',
        'Cannot create a Rollout with an empty target query filter!',
        'org.eclipse.hawkbit.repository.exception.RSQLParameterSyntaxException',
      );
    const matches = fiql(body.targetFilterQuery);
    if (body.distributionSetId === undefined) throw badRequest('distributionSetId must not be null');
    const ds = this.s.distributionSets.get(body.distributionSetId);
    if (!ds || ds.deleted) throw ex(404, 'hawkbit.server.error.repo.entityNotFound', `DistributionSet with given identifier {${body.distributionSetId}} does not exist.`);
    if (!ds.valid) throw ex(400, 'hawkbit.server.error.distributionset.invalid', 'The distribution set is not valid', 'org.eclipse.hawkbit.repository.exception.InvalidDistributionSetException');
    if (!this.s.isComplete(ds))
      throw ex(400, 'hawkbit.server.error.distributionset.incomplete', 'The distribution set is not complete', 'org.eclipse.hawkbit.repository.exception.IncompleteDistributionSetException');
    if ([...this.s.rollouts.values()].some((r) => r.name === body.name)) throw conflict(`Rollout with name ${body.name} already exists`);
    if (body.dynamic) throw badRequest('Dynamic rollouts are not supported by the hawkBit fake');
    const now = Date.now();
    // Only targets that exist when the rollout is created take part (RolloutHelper adds createdat=le=).
    const eligible = [...this.s.targets.values()].filter((t) => t.createdAt <= now && matches(this.v.targetFields(t)));
    if (!eligible.length) throw badRequest('Rollout does not match any existing targets');
    const rollout: Rollout = {
      id: this.s.next('rollout'),
      name: body.name,
      description: body.description,
      dsId: ds.id,
      targetFilterQuery: body.targetFilterQuery,
      status: 'creating',
      actionType: body.type ?? 'forced',
      forcetime: body.forcetime,
      startAt: body.startAt,
      weight: body.weight ?? DEFAULT_WEIGHT,
      totalTargets: eligible.length,
      groups: [],
      ...audit(user, now),
    };
    const defaults = withConditions(DEFAULTS, body);
    const confirm = body.confirmationRequired ?? this.s.config<boolean>('user.confirmation.flow.enabled');
    let specs: { name: string; description?: string; targetFilterQuery?: string; targetPercentage: number; conditions: ReturnType<typeof withConditions>; confirm: boolean }[];
    if (body.groups) {
      if (body.amountGroups !== undefined) throw badRequest("If 'group' is set the 'amountGroups' must not be set in the request");
      if (!body.groups.length) throw badRequest('The amount of groups cannot be 0');
      specs = body.groups.map((g) => ({
        name: g.name,
        description: g.description,
        targetFilterQuery: g.targetFilterQuery,
        targetPercentage: g.targetPercentage ?? 100,
        conditions: withConditions(defaults, g),
        confirm: g.confirmationRequired ?? confirm,
      }));
    } else {
      const n = body.amountGroups ?? 1;
      if (n <= 0) throw badRequest('The amount of groups cannot be lower than or equal to zero for static rollouts');
      specs = Array.from({ length: n }, (_, i) => ({ name: `group-${i + 1}`, description: `group-${i + 1}`, targetPercentage: 100 / n, conditions: defaults, confirm }));
    }
    // Fill the groups in order; each takes its share of the targets no earlier group took.
    const taken = new Set<string>();
    const groups = specs.map((g, i) => {
      const groupMatch = g.targetFilterQuery ? fiql(g.targetFilterQuery) : () => true;
      const candidates = eligible.filter((t) => !taken.has(t.controllerId) && groupMatch(this.v.targetFields(t)));
      const share = Math.round((percentFromRest(specs, i) * candidates.length) / 100);
      const members = candidates.slice(0, share).map((t) => t.controllerId);
      for (const m of members) taken.add(m);
      const group: RolloutGroup = {
        id: this.s.next('group'),
        rolloutId: rollout.id,
        name: g.name,
        description: g.description,
        status: 'creating',
        targetFilterQuery: g.targetFilterQuery,
        targetPercentage: g.targetPercentage,
        ...g.conditions,
        confirmationRequired: g.confirm,
        targets: members,
        ...audit(user, now),
      };
      return group;
    });
    if (body.groups && taken.size < eligible.length) throw badRequest("Rollout groups don't match all targets that are targeted by the rollout");
    rollout.totalTargets = taken.size;
    this.s.rollouts.set(rollout.id, rollout);
    for (const g of groups) {
      this.s.groups.set(g.id, g);
      rollout.groups.push(g.id);
    }
    return rollout;
  }

  start(r: Rollout, user: string) {
    if (r.status !== 'ready') throw illegalRolloutState(`Rollout can only be started in state ready but current state is ${r.status}`);
    this.set(r, 'starting', user);
  }

  pause(r: Rollout, user: string) {
    if (r.status !== 'running') throw illegalRolloutState(`Rollout can only be paused in state running but current state is ${r.status}`);
    this.set(r, 'paused', user);
  }

  resume(r: Rollout, user: string) {
    if (r.status !== 'paused') throw illegalRolloutState(`Rollout can only be resumed in state paused but current state is ${r.status}`);
    const started = this.groupsOf(r).filter((g) => g.status !== 'scheduled');
    const last = started.at(-1);
    // A group that failed, or one that paused on success, is left behind: go on with the next.
    if (last && (last.status === 'error' || (last.successAction.action === 'PAUSE' && this.successReached(r, last)))) this.startNext(r, last, user);
    this.set(r, 'running', user);
  }

  approve(r: Rollout, approved: boolean, remark: string | undefined, user: string) {
    if (r.status !== 'waiting_for_approval') throw illegalRolloutState(`Rollout must be in status waiting_for_approval but is ${r.status}`);
    Object.assign(r, { approveDecidedBy: user, ...(remark !== undefined ? { approvalRemark: remark } : {}) });
    this.set(r, approved ? 'ready' : 'approval_denied', user);
  }

  triggerNextGroup(r: Rollout, user: string) {
    if (r.status !== 'running') throw illegalRolloutState('Rollout is not in running state');
    const groups = this.groupsOf(r);
    if (!groups.some((g) => g.status === 'scheduled')) throw illegalRolloutState('Rollout does not have any groups left to be triggered');
    this.startNext(r, groups.filter((g) => g.status !== 'scheduled').at(-1)!, user);
  }

  groupsOf(r: Rollout): RolloutGroup[] {
    return r.groups.map((id) => this.s.groups.get(id)!);
  }

  /** One run of the rollout executor over every active rollout. */
  tick() {
    for (const r of this.s.rollouts.values()) {
      const user = r.lastModifiedBy;
      switch (r.status) {
        case 'creating':
          for (const g of this.groupsOf(r)) g.status = 'ready';
          this.set(r, this.s.config('rollout.approval.enabled') ? 'waiting_for_approval' : 'ready', r.createdBy);
          break;
        case 'ready':
          if (r.startAt !== undefined && r.startAt <= Date.now()) this.set(r, 'starting', user);
          break;
        case 'starting':
          this.schedule(r, user);
          break;
        case 'running':
          this.run(r, user);
          break;
        default:
          break;
      }
    }
  }

  /** Scheduled (inactive) actions for every group, then the first group starts. */
  private schedule(r: Rollout, user: string) {
    const ds = this.s.distributionSets.get(r.dsId)!;
    const groups = this.groupsOf(r);
    for (const g of groups) {
      for (const id of g.targets) {
        const t = this.s.targets.get(id);
        if (!t) continue;
        // A newer rollout replaces actions still waiting in an older one (cancelInactiveScheduledActionsForTargets).
        for (const old of this.s.targetActions(id)) if (old.status === 'scheduled' && !old.active) old.status = 'canceled';
        this.d.newAction(t, ds, r.actionType, user, { rolloutId: r.id, groupId: g.id, weight: r.weight, forceTime: r.forcetime });
      }
      g.status = 'scheduled';
    }
    if (groups[0]) this.startGroup(r, groups[0], user);
    this.set(r, 'running', user);
  }

  private run(r: Rollout, user: string) {
    const groups = this.groupsOf(r);
    const running = groups.filter((g) => g.status === 'running');
    if (!running.length && groups.some((g) => g.status === 'scheduled')) {
      const last = groups.filter((g) => g.status !== 'scheduled').at(-1);
      if (last) this.startNext(r, last, user);
    }
    for (const g of running) {
      const actions = this.actionsOf(g);
      const total = actions.length;
      const errors = actions.filter((a) => a.status === 'error').length;
      if (total && errors / total > Number(g.errorCondition.expression) / 100) {
        // PauseRolloutGroupAction: the group fails, the whole rollout waits for an operator.
        g.status = 'error';
        this.set(r, 'paused', user);
        return;
      }
      const done = actions.every((a) => TERMINAL.has(a.status) || (r.actionType === 'downloadonly' && a.status === 'downloaded'));
      if (done || this.successReached(r, g)) {
        if (g.successAction.action === 'PAUSE') this.set(r, 'paused', user);
        else this.startNext(r, g, user);
      }
      if (done) g.status = 'finished';
    }
    if (!groups.some((g) => g.status === 'running' || g.status === 'scheduled')) this.set(r, 'finished', user);
  }

  private successReached(r: Rollout, g: RolloutGroup): boolean {
    const actions = this.actionsOf(g);
    if (!actions.length) return true;
    const ok = r.actionType === 'downloadonly' ? 'downloaded' : 'finished';
    return actions.filter((a) => a.status === ok).length / actions.length >= Number(g.successCondition.expression) / 100;
  }

  /** StartNextGroupRolloutGroupSuccessAction: the group after `after`, if still scheduled. */
  private startNext(r: Rollout, after: RolloutGroup, user: string) {
    const groups = this.groupsOf(r);
    const next = groups[groups.indexOf(after) + 1];
    if (next?.status === 'scheduled') this.startGroup(r, next, user);
  }

  private startGroup(r: Rollout, g: RolloutGroup, user: string) {
    for (const a of this.actionsOf(g)) if (a.status === 'scheduled') this.d.activate(a, user, `Initiated by rollout '${r.name}'`);
    g.status = 'running';
  }

  private actionsOf(g: RolloutGroup): Action[] {
    return [...this.s.actions.values()].filter((a) => a.groupId === g.id);
  }

  private set(r: Rollout, status: Rollout['status'], user: string) {
    Object.assign(r, { status, lastModifiedAt: Date.now(), lastModifiedBy: user });
  }
}

/** Group percentages are shares of all targets; each group takes its share of what is left. */
function percentFromRest(groups: { targetFilterQuery?: string; targetPercentage: number }[], i: number): number {
  let left = 100;
  for (let j = 0; j < i; j++) if (groups[j]!.targetFilterQuery === groups[i]!.targetFilterQuery) left -= groups[j]!.targetPercentage;
  return left <= 1 ? 100 : Math.min(100, (groups[i]!.targetPercentage * 100) / left);
}

function withConditions(base: { successCondition: Condition | ConditionIn; successAction: ActionIn; errorCondition: Condition | ConditionIn; errorAction: ActionIn }, c: Conditions) {
  const cond = (x: ConditionIn | undefined, d: ConditionIn): Condition => ({ condition: 'THRESHOLD', expression: x?.expression ?? d.expression ?? '50' });
  return {
    successCondition: cond(c.successCondition, base.successCondition),
    successAction: {
      action: (c.successAction?.action ?? base.successAction.action ?? 'NEXTGROUP') as 'NEXTGROUP' | 'PAUSE',
      expression: c.successAction?.expression ?? base.successAction.expression ?? '',
    },
    errorCondition: cond(c.errorCondition, base.errorCondition),
    errorAction: { action: 'PAUSE' as const, expression: c.errorAction?.expression ?? base.errorAction.expression ?? '' },
  };
}
