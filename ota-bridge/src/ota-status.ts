import type { MgmtAction } from '@cdm/common';

export type OtaStatus = 'pending' | 'downloading' | 'installing' | 'success' | 'failure' | 'cancelled' | 'boot_mismatch';

/**
 * hawkBit's action status (detailStatus, hawkBit's Action.Status) as operators read it. A cancel
 * hawkBit could not deliver (cancel_rejected) leaves the update running.
 */
export function otaStatusOf(detailStatus: string | undefined): OtaStatus {
  switch ((detailStatus ?? '').toLowerCase()) {
    case 'finished':
      return 'success';
    case 'error':
      return 'failure';
    case 'canceled':
    case 'canceling':
      return 'cancelled';
    case 'download':
    case 'retrieved':
      return 'downloading';
    case 'downloaded':
    case 'running':
    case 'warning':
    case 'cancel_rejected':
      return 'installing';
    default: // scheduled, wait_for_confirmation
      return 'pending';
  }
}

/** One action as the mirror needs it, from the full representation of hawkBit's action list. */
export interface ActionChange {
  actionId: number;
  controllerId: string;
  status: OtaStatus;
  /** hawkBit's own word, kept for the alarm details. */
  detailStatus: string;
  /** The distribution set version the action installs. */
  version: string;
  distributionSet: string;
  rollout?: string;
  lastModifiedAt: number;
  /** Cancel actions only stop an update; they say nothing about the installed version. */
  cancel: boolean;
}

/**
 * An action's state and whether hawkBit still has it open. hawkBit 1.x sends the state in `status`
 * and `active`; the published spec's shape puts it in `detailStatus` with `status` pending/finished.
 */
export function actionState(a: MgmtAction): { status: string; active: boolean } {
  return { status: (a.detailStatus ?? a.status ?? '').toLowerCase(), active: a.active ?? a.status === 'pending' };
}

/** undefined when the action lacks what the mirror needs (then it is logged and skipped). */
export function toChange(a: MgmtAction): ActionChange | undefined {
  const target = (a._links?.target as { href?: string } | undefined)?.href;
  const ds = (a._links?.distributionset as { href?: string; name?: string } | undefined)?.name;
  const controllerId = target ? decodeURIComponent(target.replace(/\/+$/, '').split('/').pop() ?? '') : '';
  if (!controllerId || !ds || a.lastModifiedAt === undefined) return undefined;
  // hawkBit names a distribution set link "<name>:<version>"; versions may contain ':' themselves.
  const i = ds.indexOf(':');
  return {
    actionId: a.id,
    controllerId,
    status: otaStatusOf(actionState(a).status),
    detailStatus: actionState(a).status,
    version: i < 0 ? ds : ds.slice(i + 1),
    distributionSet: i < 0 ? ds : ds.slice(0, i),
    rollout: a.rolloutName,
    lastModifiedAt: a.lastModifiedAt,
    cancel: a.type === 'cancel',
  };
}

/**
 * The ThingsBoard server attributes for an action's state. `ota_updated_at` is when the mirror saw
 * the state: hawkBit does not stamp the action when a device reports (lastModifiedAt stays put).
 */
export function otaAttributes(c: ActionChange, observedAt: number, status: OtaStatus = c.status): Record<string, unknown> {
  return {
    ota_status: status,
    ota_target_version: c.version,
    ota_rollout: c.rollout ?? '',
    ota_action_id: c.actionId,
    ota_updated_at: new Date(observedAt).toISOString(),
  };
}

export { tenantOfTarget } from '@cdm/common';
