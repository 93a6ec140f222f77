import { OPERATORS_CUSTOMER, UpstreamError, type ThingsBoardClient } from '@cdm/common';
import { describe, expect, it } from 'vitest';
import { ThingsBoardDevices } from './tb-devices.ts';

/** A tenant with its bridge admin, no device profile yet; ThingsBoard refuses a duplicate profile name. */
function fakeTb() {
  const calls = { profileCreates: 0, creates: 0, assigned: [] as string[] };
  const customers = new Map<string, string>(); // title → id
  let profile: { id: { id: string; entityType: 'DEVICE_PROFILE' }; name: string } | undefined;
  const devices = new Map<string, { id: { id: string; entityType: 'DEVICE' }; name: string; customerId?: { id: string } }>();
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
    // ThingsBoard's answers, as the real server gives them (checked against ThingsBoard CE 4.3).
    saveDeviceWithCredentials: async (d: { name: string; customerId?: { id: string } }) => {
      calls.creates++;
      if (devices.has(d.name)) throw new UpstreamError('ThingsBoard', 'POST /api/device-with-credentials', 400, 'Device with such name already exists!');
      if (d.customerId && ![...customers.values()].includes(d.customerId.id))
        throw new UpstreamError('ThingsBoard', 'POST /api/device-with-credentials', 400, "Can't assign device to non-existent customer!");
      const dev = { id: { id: `d-${d.name}`, entityType: 'DEVICE' as const }, name: d.name, ...(d.customerId ? { customerId: { id: d.customerId.id } } : {}) };
      devices.set(d.name, dev);
      return dev;
    },
    saveAttributes: async () => undefined,
    getDeviceCredentials: async () => ({ credentialsType: 'X509_CERTIFICATE', credentialsValue: 'PEM' }),
    updateDeviceCredentials: async () => undefined,
    findCustomerByTitle: async (t: string) => (customers.has(t) ? { id: { id: customers.get(t)! }, title: t } : undefined),
    assignDeviceToCustomer: async (customerId: string, deviceId: string) => {
      if (![...customers.values()].includes(customerId)) throw new UpstreamError('ThingsBoard', 'POST /api/customer/{customerId}/device/{deviceId}', 404, 'Customer not found');
      const d = [...devices.values()].find((x) => x.id.id === deviceId)!;
      d.customerId = { id: customerId };
      calls.assigned.push(`${d.name}→${customerId}`);
      return d;
    },
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
  return { tb: new ThingsBoardDevices(sys as unknown as ThingsBoardClient), calls, customers, devices };
}

describe('ThingsBoardDevices', () => {
  it('creates the tenant’s device profile once when its first devices enroll at the same time', async () => {
    const { tb, calls } = fakeTb();
    const ids = await Promise.all(Array.from({ length: 10 }, (_, i) => tb.ensure('acme-id', `dev-${i}`, 'PEM', {})));
    expect(ids).toHaveLength(10);
    expect(calls.profileCreates).toBe(1);
  });

  it("assigns each device to the tenant's Operators customer once it exists, and looks it up again when it was deleted", async () => {
    const { tb, calls, customers, devices } = fakeTb();
    await tb.ensure('acme-id', 'dev-1', 'PEM', {});
    expect(devices.get('dev-1')?.customerId).toBeUndefined(); // tenant-sync has not made the customer yet: admins alone see it
    customers.set(OPERATORS_CUSTOMER, 'c1');
    await tb.ensure('acme-id', 'dev-1', 'PEM', {}); // the next ensure (a renewal) assigns it
    await tb.ensure('acme-id', 'dev-2', 'PEM', {});
    await tb.ensure('acme-id', 'dev-2', 'PEM', {}); // already assigned: no call
    expect(calls.assigned).toEqual(['dev-1→c1', 'dev-2→c1']);
    customers.set(OPERATORS_CUSTOMER, 'c2'); // deleted by hand, made again by tenant-sync
    await tb.ensure('acme-id', 'dev-3', 'PEM', {}); // the remembered c1 is gone: the enrollment still succeeds
    await tb.ensure('acme-id', 'dev-3', 'PEM', {});
    expect(calls.assigned).toEqual(['dev-1→c1', 'dev-2→c1', 'dev-3→c2']);
  });

  it("creates a device new to ThingsBoard in one call, already its operators'; a retry after a crash finds the one it made", async () => {
    const { tb, calls, customers, devices } = fakeTb();
    customers.set(OPERATORS_CUSTOMER, 'c1');
    await tb.ensure('acme-id', 'dev-1', 'PEM', {}, { isNew: true });
    expect(devices.get('dev-1')?.customerId).toEqual({ id: 'c1' });
    expect(calls).toMatchObject({ creates: 1, assigned: [] });
    // The device was made but the store never heard (crash): the name is taken, the long way finds it.
    devices.get('dev-1')!.customerId = undefined;
    expect(await tb.ensure('acme-id', 'dev-1', 'PEM', {}, { isNew: true })).toBe('d-dev-1');
    expect(calls.assigned).toEqual(['dev-1→c1']);
  });

  it('creates a new device when the remembered operators customer was deleted, and assigns it to the new one', async () => {
    const { tb, calls, customers, devices } = fakeTb();
    customers.set(OPERATORS_CUSTOMER, 'c1');
    await tb.ensure('acme-id', 'dev-1', 'PEM', {}, { isNew: true });
    customers.set(OPERATORS_CUSTOMER, 'c2'); // deleted by hand, made again by tenant-sync
    await tb.ensure('acme-id', 'dev-2', 'PEM', {}, { isNew: true });
    expect(devices.get('dev-2')?.customerId).toEqual({ id: 'c2' });
    expect(calls.assigned).toEqual(['dev-2→c2']);
  });
});
