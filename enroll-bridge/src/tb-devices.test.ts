import type { ThingsBoardClient } from '@cdm/common';
import { describe, expect, it } from 'vitest';
import { ThingsBoardDevices } from './tb-devices.ts';

/** A tenant with its bridge admin, no device profile yet; ThingsBoard refuses a duplicate profile name. */
function fakeTb() {
  const calls = { profileCreates: 0 };
  let profile: { id: { id: string; entityType: 'DEVICE_PROFILE' }; name: string } | undefined;
  const devices = new Map<string, { id: { id: string; entityType: 'DEVICE' }; name: string }>();
  const tick = () => new Promise((r) => setTimeout(r, 5));
  const actor = {
    findDeviceProfile: async () => (await tick(), profile),
    saveDeviceProfile: async (p: { name: string }) => {
      await tick();
      calls.profileCreates++;
      if (profile) throw new Error('ThingsBoard: POST /api/deviceProfile failed (HTTP 400): Device profile with such name already exists!');
      profile = { id: { id: 'p1', entityType: 'DEVICE_PROFILE' }, name: p.name };
      return profile;
    },
    findDeviceByName: async (n: string) => devices.get(n),
    saveDeviceWithCredentials: async (d: { name: string }) => {
      const dev = { id: { id: `d-${d.name}`, entityType: 'DEVICE' as const }, name: d.name };
      devices.set(d.name, dev);
      return dev;
    },
    saveAttributes: async () => undefined,
  };
  const sys = {
    async *tenantPages() {
      yield [{ id: { id: 't1' }, title: 'acme', additionalInfo: { cdmId: 'acme-id' } }];
    },
    async *tenantUserPages() {
      yield [{ id: { id: 'u1' }, email: 'cdm-bridge+acme-id@cdm.invalid' }];
    },
    actAs: async () => actor,
  };
  return { tb: new ThingsBoardDevices(sys as unknown as ThingsBoardClient), calls };
}

describe('ThingsBoardDevices', () => {
  it('creates the tenant’s device profile once when its first devices enroll at the same time', async () => {
    const { tb, calls } = fakeTb();
    const ids = await Promise.all(Array.from({ length: 10 }, (_, i) => tb.ensure('acme-id', `dev-${i}`, 'PEM', {})));
    expect(ids).toHaveLength(10);
    expect(calls.profileCreates).toBe(1);
  });
});
