import { UpstreamError, withCdmTenantInfo, type Tenant, type ThingsBoardClient } from '@cdm/common';
import { describe, expect, it } from 'vitest';
import { ThingsBoardSync } from './thingsboard-sync.ts';

/** ThingsBoard's tenant with optimistic locking: a save carrying an old version is 409. */
function sysWith(tenant: Tenant, o: { otherWriter?: (t: Tenant) => Tenant } = {}) {
  let current = { ...tenant, version: 1 };
  const saves: Tenant[] = [];
  let interfered = false;
  const sys = {
    getTenant: async () => ({ ...current }),
    saveTenant: async (t: Tenant & { version?: number }) => {
      if (o.otherWriter && !interfered) {
        interfered = true; // another tenant-sync saved between this one's read and write
        current = { ...o.otherWriter(current), version: current.version + 1 };
      }
      if (t.version !== current.version) throw new UpstreamError('ThingsBoard', 'POST /api/tenant', 409, 'Tenant was already changed by someone else');
      saves.push(t);
      current = { ...t, version: current.version + 1 };
      return current;
    },
  };
  return { sys: sys as unknown as ThingsBoardClient, saves, now: () => current };
}

const tenant: Tenant = { id: { id: 't1', entityType: 'TENANT' }, title: 'acme', additionalInfo: withCdmTenantInfo(undefined, 'g1') };
const disable = { kind: 'update-tenant' as const, cdmId: 'g1', tbTenantId: 't1', title: 'acme', disabled: true };

describe('ThingsBoardSync update-tenant', () => {
  it('another writer made the same change in between (409): read again, nothing left to write', async () => {
    const tb = sysWith(tenant, { otherWriter: (t) => ({ ...t, additionalInfo: withCdmTenantInfo(t.additionalInfo, 'g1', true) }) });
    await new ThingsBoardSync(tb.sys, { fleetUrl: 'http://fleet' }).apply('g1', [disable]);
    expect(tb.saves).toEqual([]);
    expect(tb.now().additionalInfo).toMatchObject({ cdmDisabled: true });
  });

  it('another writer changed something else in between (409): read again and write on top of it', async () => {
    const tb = sysWith(tenant, { otherWriter: (t) => ({ ...t, title: 'renamed by hand' }) });
    await new ThingsBoardSync(tb.sys, { fleetUrl: 'http://fleet' }).apply('g1', [{ ...disable, title: 'acme' }]);
    expect(tb.saves).toHaveLength(1);
    expect(tb.now()).toMatchObject({ title: 'acme', additionalInfo: { cdmDisabled: true } });
  });
});
