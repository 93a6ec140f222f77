import { describe, expect, it } from 'vitest';
import { contains, hubAddress, parseCidr, poolSize } from './pool.ts';

describe('WireGuard pool arithmetic', () => {
  it('offers every host address but network, hub and broadcast', () => {
    const c = parseCidr('10.77.0.0/16');
    expect(poolSize(c)).toBe(65533);
    expect(hubAddress(c)).toBe('10.77.0.1');
    expect(contains(c, '10.77.255.254')).toBe(true);
    expect(contains(c, '10.77.255.255')).toBe(false);
    expect(contains(c, '10.77.0.1')).toBe(false);
    expect(contains(c, '10.78.0.2')).toBe(false);
  });

  it('counts one device address in the smallest pool', () => {
    expect(poolSize(parseCidr('10.9.0.0/30'))).toBe(1);
  });

  it('refuses malformed CIDRs with the reason', () => {
    expect(() => parseCidr('10.77.0.1/16')).toThrow('host bits set; did you mean 10.77.0.0/16');
    expect(() => parseCidr('10.77.0.0')).toThrow('not an IPv4 CIDR');
    expect(() => parseCidr('300.1.0.0/16')).toThrow('0–255');
  });
});
