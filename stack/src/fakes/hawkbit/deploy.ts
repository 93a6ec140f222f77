import { ex, SERVER_MESSAGE_PREFIX, touch, type Action, type ActionState, type ActionType, type DistributionSet, type HbState, type Target } from './state.ts';

/** hawkBit's default action weight (hawkbit.server.repository.action-weight-if-absent). */
export const DEFAULT_WEIGHT = 1000;

const notCancelable = (message: string) => ex(405, 'hawkbit.server.error.action.notCancelable', message, 'org.eclipse.hawkbit.repository.exception.CancelActionNotAllowedException');

/**
 * Deployment bookkeeping as DeploymentManagement / ControllerManagement do it: actions, their
 * status history, and what they mean for the target (assigned/installed set, update status).
 */
export class Deployments {
  constructor(private readonly s: HbState) {}

  addStatus(a: Action, status: ActionState, messages: string[], opts: { code?: number; timestamp?: number } = {}) {
    const now = Date.now();
    a.statuses.push({ id: this.s.next('actionStatus'), status, messages, reportedAt: now, timestamp: opts.timestamp ?? now, ...(opts.code !== undefined ? { code: opts.code } : {}) });
  }

  /** The action a device works on next: highest weight first, then the oldest. */
  activeAction(controllerId: string): Action | undefined {
    const w = (a: Action) => a.weight ?? DEFAULT_WEIGHT;
    return this.s
      .targetActions(controllerId)
      .filter((a) => a.active)
      .sort((a, b) => w(b) - w(a) || a.id - b.id)[0];
  }

  /** The finished action that installed the target's current set (linked as installedBase). */
  installedAction(t: Target): Action | undefined {
    return this.s
      .targetActions(t.controllerId)
      .filter((a) => a.dsId === t.installedDs && a.status === 'finished')
      .sort((a, b) => b.id - a.id)[0];
  }

  /**
   * Assigns a set to a target (online). Without multi-assignment, older open actions are
   * cancelled (or closed when auto-close is on). Returns undefined when already assigned.
   */
  assign(t: Target, ds: DistributionSet, o: { actionType: ActionType; forceTime?: number; weight?: number; user: string }): Action | undefined {
    if (t.assignedDs === ds.id && !this.s.config('multi.assignments.enabled')) return undefined;
    const a = this.newAction(t, ds, o.actionType, o.user, { forceTime: o.forceTime, weight: o.weight });
    this.activate(a, o.user, `Assignment initiated by user '${o.user}'`);
    return a;
  }

  /** An offline assignment: reported, not managed (a finished action; the target is in sync). */
  assignOffline(t: Target, ds: DistributionSet, user: string): Action {
    const a = this.newAction(t, ds, 'forced', user, {});
    a.active = false;
    a.status = 'finished';
    this.addStatus(a, 'finished', [`${SERVER_MESSAGE_PREFIX}Action reported as offline assignment`]);
    Object.assign(t, { assignedDs: ds.id, installedDs: ds.id, installedAt: Date.now(), updateStatus: 'in_sync' });
    return a;
  }

  newAction(t: Target, ds: DistributionSet, actionType: ActionType, user: string, extra: Partial<Action>): Action {
    const now = Date.now();
    const a: Action = {
      id: this.s.next('action'),
      controllerId: t.controllerId,
      dsId: ds.id,
      actionType,
      status: 'scheduled',
      active: false,
      statuses: [],
      createdAt: now,
      createdBy: user,
      lastModifiedAt: now,
      lastModifiedBy: user,
      ...extra,
    };
    this.s.actions.set(a.id, a);
    this.lockImplicitly(ds);
    return a;
  }

  /** Starts a (scheduled) action: the device will see it on its next poll. */
  activate(a: Action, user: string, message: string) {
    const t = this.s.targets.get(a.controllerId)!;
    if (!this.s.config('multi.assignments.enabled')) {
      const autoclose = this.s.config<boolean>('repository.actions.autoclose.enabled');
      for (const old of this.s.targetActions(t.controllerId)) {
        if (old === a || !old.active || old.status === 'canceling') continue;
        if (autoclose) {
          Object.assign(old, { active: false, status: 'canceled' });
          this.addStatus(old, 'canceled', [`${SERVER_MESSAGE_PREFIX}close obsolete action ${old.id} due to new update`]);
        } else {
          old.status = 'canceling';
          this.addStatus(old, 'canceling', [`${SERVER_MESSAGE_PREFIX}cancel obsolete action ${old.id} due to new update`]);
        }
        touch(old, user);
      }
    }
    Object.assign(a, { active: true, status: 'running' });
    touch(a, user);
    this.addStatus(a, 'running', [`${SERVER_MESSAGE_PREFIX}${message}`]);
    Object.assign(t, { assignedDs: a.dsId, updateStatus: 'pending' });
  }

  /** The first assignment locks a set and its modules, so what was rolled out cannot change. */
  private lockImplicitly(ds: DistributionSet) {
    ds.locked = true;
    for (const id of ds.modules) this.s.modules.get(id)!.locked = true;
  }

  /** registerRetrieved: documents that the device fetched the action (once in a row). */
  retrieved(a: Action, what: 'update' | 'cancel') {
    if (a.statuses.at(-1)?.status === 'retrieved') return;
    const msg = what === 'update' ? 'Target retrieved update action and should start now the download.' : 'Target retrieved cancel action and should start now the cancellation.';
    this.addStatus(a, 'retrieved', [`${SERVER_MESSAGE_PREFIX}${msg}`]);
    if (a.status !== 'canceling' && a.status !== 'canceled') a.status = 'retrieved';
  }

  /** An update status from the device (DDI deploymentBase feedback), already mapped to a state. */
  updateStatus(a: Action, status: ActionState, messages: string[], code?: number, timestamp?: number) {
    const t = this.s.targets.get(a.controllerId)!;
    this.addStatus(a, status, messages, { code, timestamp });
    if (status === 'error') {
      Object.assign(a, { active: false, status: 'error' });
      Object.assign(t, { updateStatus: 'error', assignedDs: undefined });
    } else if (status === 'finished') {
      Object.assign(a, { active: false, status: 'finished' });
      const at = timestamp ?? Date.now();
      if (t.installedAt === undefined || t.installedAt < at) {
        Object.assign(t, { installedDs: a.dsId, installedAt: at });
        if (a.actionType === 'downloadonly') t.assignedDs = a.dsId;
        if (t.assignedDs === t.installedDs) t.updateStatus = 'in_sync';
      }
      t.requestAttributes = true;
    } else if (status === 'downloaded' && a.actionType === 'downloadonly') {
      Object.assign(a, { active: false, status: 'downloaded' });
      Object.assign(t, { updateStatus: 'in_sync', requestAttributes: true });
    }
    a.lastStatusCode = code;
    // No lastModifiedAt: hawkBit does not stamp what a controller changes (AbstractJpaBaseEntity).
  }

  /** Management cancel (soft): the device gets a cancelAction link and must confirm. */
  cancel(a: Action, user: string) {
    if (a.status === 'canceling' || a.status === 'canceled') throw notCancelable('Actions in canceling or canceled state cannot be canceled');
    if (!a.active) throw notCancelable(`Action [id: ${a.id}] is not active and cannot be canceled`);
    a.status = 'canceling';
    touch(a, user);
    this.addStatus(a, 'canceling', ['manual cancelation requested']);
  }

  /** Management force quit: only for an action already being cancelled; closes it at once. */
  forceQuit(a: Action, user: string) {
    if (a.status !== 'canceling')
      throw ex(
        405,
        'hawkbit.server.error.action.notForceQuitable',
        `Action [id: ${a.id}] is not canceled yet and cannot be force quit`,
        'org.eclipse.hawkbit.repository.exception.ForceQuitActionNotAllowedException',
      );
    this.addStatus(a, 'canceled', [`${SERVER_MESSAGE_PREFIX}A force quit has been performed.`]);
    this.closeCanceled(a);
    touch(a, user);
  }

  /** A cancel status from the device (DDI cancelAction feedback), already mapped to a state. */
  cancelStatus(a: Action, status: ActionState, messages: string[], code?: number, timestamp?: number) {
    if (a.status !== 'canceling' && a.status !== 'canceled') throw notCancelable('The action is not in canceling state.');
    if (status === 'canceled' || status === 'finished') {
      messages.push(`${SERVER_MESSAGE_PREFIX}Cancellation completion is finished sucessfully.`);
      this.closeCanceled(a);
    } else if (status === 'error' || status === 'cancel_rejected') {
      a.status = 'running'; // cancellation rejected: back to running
    }
    this.addStatus(a, status, messages, { code, timestamp });
    // No lastModifiedAt: hawkBit does not stamp what a controller changes (AbstractJpaBaseEntity).
  }

  /** successCancellation: the target falls back to its next open action or its installed set. */
  private closeCanceled(a: Action) {
    Object.assign(a, { active: false, status: 'canceled' });
    const t = this.s.targets.get(a.controllerId);
    if (!t) return;
    const next = this.activeAction(t.controllerId);
    if (next) Object.assign(t, { assignedDs: next.dsId, updateStatus: 'pending' });
    else Object.assign(t, { assignedDs: t.installedDs, updateStatus: 'in_sync' });
  }
}
