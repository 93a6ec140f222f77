import { describe, expect, it } from 'vitest';
import { gateDecision } from './health-gate.ts';
import { actionState, otaAttributes, otaStatusOf, toChange } from './ota-status.ts';

const full = (over: object = {}) => ({
  id: 7,
  type: 'update',
  status: 'finished',
  detailStatus: 'finished',
  lastModifiedAt: 1_700_000_000_123,
  rollout: 3,
  rolloutName: 'acme 2.1.0',
  _links: { target: { href: 'http://hb/rest/v1/targets/SN%2F42' }, distributionset: { href: 'http://hb/rest/v1/distributionsets/5', name: 'firmware-acme:2.1.0:rc1' } },
  ...over,
});

describe('hawkBit action → ThingsBoard OTA state', () => {
  it('maps every hawkBit action status to what operators read', () => {
    const table = {
      scheduled: 'pending',
      wait_for_confirmation: 'pending',
      retrieved: 'downloading',
      download: 'downloading',
      downloaded: 'installing',
      running: 'installing',
      warning: 'installing',
      cancel_rejected: 'installing',
      finished: 'success',
      error: 'failure',
      canceling: 'cancelled',
      canceled: 'cancelled',
      FINISHED: 'success',
    };
    for (const [hb, ota] of Object.entries(table)) expect([hb, otaStatusOf(hb)]).toEqual([hb, ota]);
  });

  it('reads target, version and rollout from the full representation', () => {
    expect(toChange(full() as never)).toEqual({
      actionId: 7,
      controllerId: 'SN/42',
      status: 'success',
      detailStatus: 'finished',
      version: '2.1.0:rc1',
      distributionSet: 'firmware-acme',
      rollout: 'acme 2.1.0',
      lastModifiedAt: 1_700_000_000_123,
      cancel: false,
    });
    expect(toChange(full({ _links: {} }) as never)).toBeUndefined();
    expect(otaAttributes(toChange(full({ detailStatus: 'error' }) as never)!, Date.UTC(2026, 10, 28))).toEqual({
      ota_status: 'failure',
      ota_target_version: '2.1.0:rc1',
      ota_rollout: 'acme 2.1.0',
      ota_action_id: 7,
      ota_updated_at: '2026-11-28T00:00:00.000Z',
    });
  });

  it('reads the state from both shapes: hawkBit 1.x (status + active) and the published spec (pending/finished + detailStatus)', () => {
    const real = { id: 1, status: 'retrieved', active: true, lastModifiedAt: 1 };
    expect(actionState(real as never)).toEqual({ status: 'retrieved', active: true });
    expect(actionState({ ...real, status: 'error', active: false } as never)).toEqual({ status: 'error', active: false });
    expect(actionState({ id: 1, status: 'pending', detailStatus: 'download' } as never)).toEqual({ status: 'download', active: true });
    expect(actionState({ id: 1, status: 'finished', detailStatus: 'canceled' } as never)).toEqual({ status: 'canceled', active: false });
    expect(toChange(full({ status: 'error', detailStatus: undefined, active: false }) as never)?.status).toBe('failure');
  });
});

describe('health gate', () => {
  it('pauses above the threshold, and after a human resume only when more devices are harmed', () => {
    expect(gateDecision({ started: 20, unhealthy: 2, thresholdPct: 10 }).pause).toBe(false); // exactly 10 %
    expect(gateDecision({ started: 20, unhealthy: 3, thresholdPct: 10 })).toEqual({ pause: true, sharePct: 15 });
    expect(gateDecision({ started: 20, unhealthy: 3, thresholdPct: 10, pausedAt: 3 }).pause).toBe(false);
    expect(gateDecision({ started: 20, unhealthy: 4, thresholdPct: 10, pausedAt: 3 }).pause).toBe(true);
    expect(gateDecision({ started: 0, unhealthy: 0, thresholdPct: 0 }).pause).toBe(false);
  });
});
