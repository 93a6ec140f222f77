import type { DirectoryDevice } from '@cdm/common';
import { describe, expect, it } from 'vitest';
import { decideChange } from './mirror-decide.ts';
import type { ActionChange } from './ota-status.ts';
import type { DeviceOta } from './store.ts';

const owner = { deviceId: 'd1', tenantId: 'T', tbDeviceId: 'tb1', status: 'active' } as DirectoryDevice;
const change = (status: ActionChange['status'], actionId = 10, extra: Partial<ActionChange> = {}): ActionChange => ({
  actionId,
  controllerId: 'd1',
  status,
  detailStatus: status,
  version: '2.0',
  distributionSet: 'fw 2.0',
  rollout: 'r',
  lastModifiedAt: 1,
  cancel: false,
  ...extra,
});
const stored = (o: Partial<DeviceOta>): DeviceOta => ({
  controllerId: 'd1',
  cdmId: 'T',
  tbDeviceId: 'tb1',
  actionId: 10,
  version: '2.0',
  rollout: 'r',
  status: 'installing',
  failureAlarm: false,
  mismatchAlarm: false,
  ...o,
});
const NOW = 1_000_000;

describe('decideChange: the mirror decisions without upstreams', () => {
  it('a failure raises OTA Failure once per action; a later success clears it and opens the boot check', () => {
    const f = decideChange(change('failure'), owner, stored({}), NOW, 60_000);
    expect(f).toMatchObject({ kind: 'apply', raiseFailure: true, clearFailure: false, readInstalled: false, next: { failureAlarm: true, status: 'failure' } });
    expect(decideChange(change('failure'), owner, stored({ status: 'failure', failureAlarm: true }), NOW, 60_000)).toMatchObject({ kind: 'skip' });
    const s = decideChange(change('success', 11), owner, stored({ status: 'failure', failureAlarm: true }), NOW, 60_000);
    expect(s).toMatchObject({ kind: 'apply', clearFailure: true, raiseFailure: false, readInstalled: true, next: { failureAlarm: false, bootVersion: '2.0', bootDueAt: NOW + 60_000 } });
  });

  it('never reopens a success the boot check judged, nor goes back to an older action', () => {
    expect(decideChange(change('success'), owner, stored({ status: 'boot_mismatch', mismatchAlarm: true }), NOW, 60_000)).toMatchObject({
      kind: 'skip',
      why: expect.stringContaining('already mirrored'),
    });
    expect(decideChange(change('failure', 9), owner, stored({}), NOW, 60_000)).toMatchObject({ kind: 'skip', why: expect.stringContaining('older action') });
  });

  it("a re-enrolled device starts afresh: the old device's record is not its own", () => {
    const d = decideChange(change('failure'), { ...owner, tbDeviceId: 'tb2' }, stored({ status: 'failure', failureAlarm: true }), NOW, 60_000);
    expect(d).toMatchObject({ kind: 'apply', tbDeviceId: 'tb2', raiseFailure: true });
  });

  it('skips devices cdm does not know, forgets decommissioned ones, sets aside one without a ThingsBoard device', () => {
    expect(decideChange(change('success'), undefined, undefined, NOW, 1)).toMatchObject({ kind: 'skip', level: 'debug' });
    expect(decideChange(change('success'), { ...owner, status: 'decommissioned' }, stored({}), NOW, 1)).toMatchObject({ kind: 'skip', forget: true });
    expect(decideChange(change('success'), { ...owner, tbDeviceId: undefined }, undefined, NOW, 1)).toMatchObject({ kind: 'undeliverable' });
  });

  it('a cancelled update says nothing about the installed version: no boot check', () => {
    expect(decideChange(change('success', 12, { cancel: true }), owner, stored({}), NOW, 60_000)).toMatchObject({ kind: 'apply', readInstalled: false, next: { bootDueAt: undefined } });
  });
});
