import { describe, expect, it } from 'vitest';
import { targetDescription, tenantOfTarget } from './hawkbit-target.ts';

describe('hawkBit target marker', () => {
  it('round-trips a tenant id and recognises only what cdm writes', () => {
    expect(tenantOfTarget(targetDescription('4f1c-aa'))).toBe('4f1c-aa');
    expect(tenantOfTarget('cdm tenant ')).toBeUndefined();
    expect(tenantOfTarget('a lab board')).toBeUndefined();
    expect(tenantOfTarget(undefined)).toBeUndefined();
    expect(() => targetDescription('a b')).toThrow(/invalid tenant id/);
  });
});
