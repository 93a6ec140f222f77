import { describe, expect, it } from 'vitest';
import { addressKey } from './api.ts';

describe('rate-limit key of a source address', () => {
  it('attack: addresses of one IPv6 /56 (what one customer line gets) share one budget', () => {
    expect(addressKey('2001:db8:1:2a00::1')).toBe(addressKey('2001:db8:1:2aff:ffff:ffff:ffff:fffe'));
    expect(addressKey('2001:db8:1:2a00::1')).not.toBe(addressKey('2001:db8:1:2b00::1'));
  });

  it('keeps IPv4 per address, also when it arrives IPv4-mapped', () => {
    expect(addressKey('192.0.2.7')).toBe('192.0.2.7');
    expect(addressKey('::ffff:192.0.2.7')).toBe('192.0.2.7');
    expect(addressKey('192.0.2.7')).not.toBe(addressKey('192.0.2.8'));
    expect(addressKey(undefined)).toBe('?');
  });
});
