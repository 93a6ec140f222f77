import { describe, expect, it } from 'vitest';
import type { DirectoryDevice } from '@cdm/common';
import { FleetDevices, matches, type FleetDevice } from './devices.ts';
import type { DeviceGateway, TbDeviceRow } from './gateway.ts';

const dev = (o: Partial<FleetDevice> = {}): FleetDevice => ({
  deviceId: 'd1',
  tenantId: 't1',
  status: 'active',
  tbDeviceId: 'tb1',
  online: true,
  metadata: { region: 'eu', tags: ['pilot', 'north'] },
  firmware: '1.2.0',
  ...o,
});

describe('device selection', () => {
  it('every given criterion must hold', () => {
    expect(matches({}, dev())).toBe(true);
    expect(matches({ firmware: '1.2.0', region: 'eu', tag: 'north', online: true }, dev())).toBe(true);
    expect(matches({ firmware: '1.3.0' }, dev())).toBe(false);
    expect(matches({ otaStatus: 'failure' }, dev({ otaStatus: 'failure' }))).toBe(true);
    expect(matches({ otaStatus: 'failure' }, dev())).toBe(false);
    expect(matches({ region: 'us' }, dev())).toBe(false);
    expect(matches({ tag: 'south' }, dev())).toBe(false);
    expect(matches({ online: false }, dev())).toBe(false);
    expect(matches({ owner: 'acme-plant-1' }, dev())).toBe(false);
    expect(matches({ ids: ['d2'] }, dev())).toBe(false);
  });

  it("lists only what the directory confirms as this tenant's active device with that ThingsBoard id", async () => {
    const rows: TbDeviceRow[] = [
      { tbDeviceId: 'tb-a', name: 'a', online: true, metadata: {} },
      { tbDeviceId: 'tb-b', name: 'b', online: true, metadata: {} }, // another tenant's per the owner
      { tbDeviceId: 'tb-c', name: 'c', online: true, metadata: {} }, // decommissioned, left in ThingsBoard
      { tbDeviceId: 'tb-stale', name: 'd', online: true, metadata: {} }, // re-created: the owner knows another ThingsBoard id
      { tbDeviceId: 'tb-e', name: 'e', online: true, metadata: {} }, // unknown to the owner
    ];
    const dir = new Map<string, DirectoryDevice>([
      ['a', { deviceId: 'a', tenantId: 't1', status: 'active', tbDeviceId: 'tb-a' }],
      ['b', { deviceId: 'b', tenantId: 't2', status: 'active', tbDeviceId: 'tb-b' }],
      ['c', { deviceId: 'c', tenantId: 't1', status: 'decommissioned' }],
      ['d', { deviceId: 'd', tenantId: 't1', status: 'active', tbDeviceId: 'tb-d' }],
    ]);
    const gateway = {
      async *devices() {
        yield rows;
      },
    } as unknown as DeviceGateway;
    const fleet = new FleetDevices(gateway, { lookup: async (ids) => new Map([...dir].filter(([k]) => ids.includes(k))), get: async () => undefined });
    expect((await fleet.select('t1', {})).map((d) => d.deviceId)).toEqual(['a']);
  });
});
