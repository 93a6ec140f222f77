import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createLogger, holdDescription, type HawkbitClient, type InfluxClient, type MgmtRolloutGroup } from '@cdm/common';
import { afterEach, describe, expect, it } from 'vitest';
import { HoldGate } from './hold-loop.ts';
import { OtaStore } from './store.ts';
import type { ThingsBoardOta } from './tb-ota.ts';

/**
 * The hold gate's executor with hawkBit, ThingsBoard and InfluxDB as stand-ins that record what
 * they are asked (the real servers: ota.e2e.test.ts): one rollout of 10 devices, stage 1 (2 devices)
 * done and held for an hour, stage 2 waiting.
 */
const log = createLogger('t', { level: 'silent' });
const HOUR = 3_600_000;
const devices = Array.from({ length: 10 }, (_, i) => `d${i}`);
const dirs: string[] = [];
afterEach(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

async function scene(o: { offline?: string[]; unusual?: string[]; regions?: Record<string, string>; description?: string; health?: Record<string, Record<string, number>> } = {}) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cdm-hold-'));
  dirs.push(dir);
  let store = await OtaStore.open({ dataDir: dir });
  let now = 0;
  const calls = { resumed: [] as number[], alarms: [] as Record<string, unknown>[], points: [] as string[] };
  const groups: MgmtRolloutGroup[] = [
    {
      id: 11,
      name: 'group-1',
      status: 'finished',
      totalTargets: 2,
      totalTargetsPerStatus: { finished: 2 },
      description: holdDescription(3600),
      successCondition: { condition: 'THRESHOLD', expression: '100' },
      successAction: { action: 'PAUSE', expression: '' },
    },
    { id: 12, name: 'group-2', status: 'scheduled', totalTargets: 8, totalTargetsPerStatus: { scheduled: 8 } },
  ];
  const hawkbit = {
    listRollouts: async () => [{ id: 7, name: 'acme 2.0', status: 'paused', totalTargets: 10, description: o.description ?? 'cdm tenant T' }],
    rolloutGroups: async () => groups,
    rolloutGroupTargets: async (_r: number, g: number) => (g === 11 ? devices.slice(0, 2) : devices.slice(2)).map((controllerId) => ({ controllerId })),
    resumeRollout: async (id: number) => void calls.resumed.push(id),
  } as unknown as HawkbitClient;
  const tb = {
    raiseOnTenant: async (_t: string, type: string, severity: string, details: Record<string, unknown>) => void calls.alarms.push({ type, severity, ...details }),
    devices: async () => new Map(devices.map((d) => [d, { online: !(o.offline ?? []).includes(d), ...(o.regions?.[d] ? { region: o.regions[d] } : {}) }])),
    devicesWithAlarm: async (_t: string, type: string) => new Set(type === 'Unusual Values' ? (o.unusual ?? []) : []),
  } as unknown as ThingsBoardOta;
  const influx = {
    write: async (_o: string, _b: string, pts: { toLineProtocol(): string }[]) => void calls.points.push(...pts.map((p) => p.toLineProtocol()!.replace(/ \d+$/, ''))),
    // Each device's telemetry since the hold began, as the tenant's bucket answers the gate's query.
    query: async () => Object.entries(o.health ?? {}).flatMap(([device, v]) => Object.entries(v).map(([_field, _value]) => ({ device, _field, _value }))),
  } as unknown as InfluxClient;
  const gate = () => new HoldGate({ store, hawkbit, tb, influx, influxOrg: 'cdm', unhealthyPct: 10, excessPct: 10, thresholds: { batteryPct: 5, signalDbm: -90, errorRatePct: 1 }, now: () => now });
  return {
    calls,
    store: () => store,
    restart: async () => {
      await store.close();
      store = await OtaStore.open({ dataDir: dir });
    },
    at: (ms: number) => (now = ms),
    pass: () => gate().pass(log),
  };
}

describe('HoldGate', () => {
  it('holds a finished stage for its hold, across a restart, then starts the next stage when its devices are healthy', async () => {
    const s = await scene();
    s.at(1_000);
    expect(await s.pass()).toMatchObject({ held: [7], released: [] });
    await s.restart(); // the hold's start is kept: a restart does not extend it
    s.at(HOUR);
    expect(await s.pass()).toMatchObject({ held: [7] });
    expect(s.calls.points.at(-1)).toBe('ota_stage,rollout=acme\\ 2.0,stage=group-1 hold_remaining_s=1i,state="holding"');
    s.at(HOUR + 1_000);
    expect(await s.pass()).toMatchObject({ released: [7], held: [] });
    expect(s.calls.resumed).toEqual([7]);
    expect(await s.store().holdFor(7, 0, 0)).toMatchObject({ state: 'released', since: 1_000 });
    expect(s.calls.alarms).toEqual([]);
  });

  it('blocks with one tenant alarm naming the signal when a stage device failed its update, and leaves the decision to a person', async () => {
    const s = await scene();
    await s.store().putDevice({ controllerId: 'd1', cdmId: 'T', tbDeviceId: 'tb1', actionId: 1, version: '2.0', rollout: 'acme 2.0', status: 'failure', failureAlarm: true, mismatchAlarm: false });
    s.at(1_000);
    expect(await s.pass()).toMatchObject({ blocked: [7] });
    s.at(2 * HOUR);
    expect(await s.pass()).toMatchObject({ blocked: [], released: [], held: [] });
    expect(s.calls.resumed).toEqual([]);
    expect(s.calls.alarms).toEqual([
      expect.objectContaining({
        type: 'OTA Rollout Paused',
        severity: 'CRITICAL',
        rolloutId: 7,
        stage: 'group-1',
        signal: 'ota-failure',
        reason: '1 of 2 updated devices (50 %) have an OTA Failure or Boot Mismatch alarm, more than 10 %',
      }),
    ]);
    expect(s.calls.points.at(-1)).toContain('state="blocked"');
  });

  it('blocks after the hold when fleet-monitor flags the updated devices with unusual values and not the others', async () => {
    const s = await scene({ unusual: ['d1', 'd7'] });
    s.at(0);
    await s.pass();
    s.at(HOUR);
    expect(await s.pass()).toMatchObject({ blocked: [7] });
    expect(s.calls.alarms[0]).toMatchObject({
      signal: 'unusual-values',
      reason: expect.stringContaining(
        '1 of 2 updated devices (50 %) are flagged by fleet-monitor with unusual values (unlike their own baseline and their cohort) against 12.5 % of the 8 not yet updated',
      ),
    });
  });

  it('compares unusual values within the updated devices’ regions: another region’s bad week does not release a bad stage', async () => {
    // d0, d1 (updated) and d2..d4 are in north; d5..d9 in south, where every device is flagged.
    const regions = Object.fromEntries(devices.map((d, i) => [d, i < 5 ? 'north' : 'south']));
    const s = await scene({ unusual: ['d1', 'd5', 'd6', 'd7', 'd8', 'd9'], regions });
    s.at(0);
    await s.pass();
    s.at(HOUR);
    expect(await s.pass()).toMatchObject({ blocked: [7] });
    expect(s.calls.alarms[0]).toMatchObject({ signal: 'unusual-values', reason: expect.stringContaining('against 0 % of the 3 not yet updated') });
  });

  it('releases when unusual values are as common among the not yet updated', async () => {
    const s = await scene({ unusual: ['d1', 'd3', 'd4', 'd5', 'd6'] });
    s.at(0);
    await s.pass();
    s.at(HOUR);
    expect(await s.pass()).toMatchObject({ released: [7] });
  });

  it('blocks after the hold when the updated devices went offline and the others did not', async () => {
    const s = await scene({ offline: ['d0'] });
    s.at(0);
    await s.pass();
    s.at(HOUR);
    expect(await s.pass()).toMatchObject({ blocked: [7] });
    expect(s.calls.alarms[0]).toMatchObject({ signal: 'offline', reason: expect.stringContaining('1 of 2 updated devices (50 %) are offline against 0 % of the 8 not yet updated') });
  });

  it("blocks after the hold when the updated devices cross the fleet dashboards' alert thresholds and the others do not", async () => {
    const fine = { battery_pct: 80, signal_dbm: -70, errors: 0, samples: 100 };
    const s = await scene({ health: { d0: { ...fine, errors: 9 }, d1: fine, d2: fine, d3: { ...fine, battery_pct: 60 } } });
    s.at(0);
    await s.pass();
    s.at(HOUR);
    expect(await s.pass()).toMatchObject({ blocked: [7] });
    expect(s.calls.alarms[0]).toMatchObject({
      signal: 'fleet-alerts',
      reason: expect.stringContaining('1 of 2 updated devices (50 %) are over a fleet alert threshold (battery < 5 %, signal < -90 dBm, error rate > 1 %) against 0 %'),
    });
  });

  it("an operator's shorter hold (ota-bridge hold) applies to the stage held now", async () => {
    const s = await scene();
    s.at(1_000);
    await s.pass();
    await s.store().setHoldOverride(7, 60, 'alice', 2_000);
    s.at(61_000);
    expect(await s.pass()).toMatchObject({ released: [7] });
  });

  it("leaves alone a rollout that is not cdm's", async () => {
    const s = await scene({ description: 'made in the hawkBit UI' });
    s.at(2 * HOUR);
    expect(await s.pass()).toEqual({ held: [], released: [], blocked: [], failed: 0 });
  });
});
