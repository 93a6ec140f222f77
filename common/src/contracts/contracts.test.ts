import { describe, expect, it } from 'vitest';
import { encodeTenantToken, parseTenantToken, tenantTokenPath } from './tenant-token-file.ts';
import { cdmTenantInfo, withCdmTenantInfo } from './thingsboard-tenant.ts';
import { targetDescription, tenantOfTarget } from './hawkbit-target.ts';
import { DirectoryDevice, LookupAnswer } from './device-directory.ts';

describe('contracts between the bridges', () => {
  it('tenant token file: what tenant-sync writes, enroll-bridge reads; a broken file is named, its secret is not', () => {
    const t = { cdmId: 'g-1', org: 'cdm', bucket: 'cdm-g-1', authId: 'a1', token: 's3cret-token' };
    expect(parseTenantToken(encodeTenantToken(t), 'x.json')).toEqual(t);
    expect(() => parseTenantToken('{"cdmId":"g-1","org":"cdm","token":"s3cret-token"}', 'g-1.json')).toThrow(/g-1.json does not hold a tenant token \(bucket wrong\)/);
    expect(() => parseTenantToken('{"cdmId":"g-1","org":"cdm","token":"s3cret-token"}', 'g-1.json')).not.toThrow(/s3cret/);
    expect(() => parseTenantToken('nope', 'g-1.json')).toThrow(/not JSON/);
    expect(() => tenantTokenPath('/d', '../etc/passwd')).toThrow(/invalid tenant id/);
    expect(tenantTokenPath('/d', 'g-1')).toBe('/d/g-1.json');
  });

  it('ThingsBoard tenant info: cdmId and the disabled mark, other keys kept', () => {
    expect(cdmTenantInfo({ additionalInfo: withCdmTenantInfo({ description: 'by hand' }, 'g-1', true) })).toEqual({ cdmId: 'g-1', disabled: true });
    expect(withCdmTenantInfo({ description: 'by hand' }, 'g-1')).toEqual({ description: 'by hand', cdmId: 'g-1', cdmManaged: true });
    expect(cdmTenantInfo({ additionalInfo: null })).toEqual({ cdmId: undefined, disabled: false });
    expect(cdmTenantInfo({ additionalInfo: { cdmId: 7 } })).toEqual({ cdmId: undefined, disabled: false });
  });

  it('hawkBit target marker round-trips and refuses ids that would break it', () => {
    expect(tenantOfTarget(targetDescription('g-1'))).toBe('g-1');
    expect(tenantOfTarget('made by hand')).toBeUndefined();
    expect(() => targetDescription('a b')).toThrow();
  });

  it('device directory answers are checked field by field', () => {
    expect(DirectoryDevice.safeParse({ deviceId: 'd', tenantId: 't', status: 'active' }).success).toBe(true);
    expect(DirectoryDevice.safeParse({ deviceId: 'd', tenantId: 't', status: 'active', certPem: 'x' }).success).toBe(false);
    expect(LookupAnswer.safeParse({ version: 2, devices: [] }).success).toBe(false);
  });
});
