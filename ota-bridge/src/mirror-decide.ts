import type { DirectoryDevice } from '@cdm/common';
import { otaAttributes, type ActionChange } from './ota-status.ts';
import type { DeviceOta } from './store.ts';

/** What to do with one changed action: nothing (and why), or the writes that mirror it. */
export type MirrorDecision =
  | { kind: 'skip'; why: string; level: 'debug' | 'info'; forget?: boolean; cdmId?: string }
  | { kind: 'undeliverable'; why: string }
  | {
      kind: 'apply';
      cdmId: string;
      tbDeviceId: string;
      /** The device's record after the writes. */
      next: DeviceOta;
      /** Server attributes to write (sw_version is added by the executor from hawkBit for a success). */
      attrs: Record<string, unknown>;
      /** A success: read the installed version from hawkBit for `sw_version`. */
      readInstalled: boolean;
      clearFailure: boolean;
      /** A new failure: raise OTA Failure with hawkBit's last messages. */
      raiseFailure: boolean;
    };

/**
 * Pure: the mirror's decisions for one action, given the device's owner (enroll-bridge's
 * directory) and what was mirrored before. The executor (OtaMirror) only reads and writes.
 */
export function decideChange(c: ActionChange, owner: DirectoryDevice | undefined, stored: DeviceOta | undefined, now: number, bootWindowMs: number): MirrorDecision {
  if (!owner) return { kind: 'skip', why: 'not a cdm device (the device directory does not know it)', level: 'debug' };
  if (owner.status === 'decommissioned' || owner.status === 'decommissioning') return { kind: 'skip', why: 'device decommissioned', level: 'info', forget: true };
  if (!owner.tbDeviceId) return { kind: 'undeliverable', why: `device ${c.controllerId} has no ThingsBoard device in the directory (enrollment not finished?)` };
  const cdmId = owner.tenantId;
  const tbDeviceId = owner.tbDeviceId;
  // Re-enrolled (new ThingsBoard device or tenant): what was mirrored for the old one is not this device's.
  const prev = stored && stored.cdmId === cdmId && stored.tbDeviceId === tbDeviceId ? stored : undefined;
  if (prev && c.actionId < prev.actionId) return { kind: 'skip', why: `an older action than the one mirrored (${prev.actionId})`, level: 'debug', cdmId };
  // The same result again (the cursor moved back over it after a failed older change, or a restart
  // repeats a pass): already mirrored. A success the boot check has since judged (confirmed, or a
  // boot mismatch) must not be re-opened: it would overwrite boot_mismatch with success.
  if (prev && c.actionId === prev.actionId && (prev.status === c.status || (c.status === 'success' && prev.status === 'boot_mismatch'))) {
    return { kind: 'skip', why: `this result (${prev.status}) is already mirrored`, level: 'debug', cdmId };
  }
  const next: DeviceOta = {
    failureAlarm: false,
    mismatchAlarm: false,
    ...prev,
    controllerId: c.controllerId,
    cdmId,
    tbDeviceId,
    actionId: c.actionId,
    version: c.version,
    rollout: c.rollout ?? '',
    status: c.status,
  };
  const success = c.status === 'success' && !c.cancel;
  const clearFailure = success && next.failureAlarm;
  if (success) {
    next.failureAlarm = false;
    // hawkBit says success before the reboot; the device must confirm by reporting the version.
    next.bootVersion = c.version;
    next.bootDueAt = now + bootWindowMs;
  } else {
    next.bootVersion = undefined;
    next.bootDueAt = undefined;
  }
  const raiseFailure = c.status === 'failure' && !(prev?.failureAlarm && prev.actionId === c.actionId);
  if (raiseFailure) next.failureAlarm = true;
  return { kind: 'apply', cdmId, tbDeviceId, next, attrs: otaAttributes(c, now), readInstalled: success, clearFailure, raiseFailure };
}
