import { describe, expect, it } from 'vitest';
import { relevantChange } from './triggers.ts';

describe('relevantChange', () => {
  it('reacts to newer group, membership, user and role-mapping events only', () => {
    expect(relevantChange([{ time: 5, resourceType: 'GROUP_MEMBERSHIP' }], 4)).toBe(true);
    expect(relevantChange([{ time: 5, resourceType: 'GROUP_MEMBERSHIP' }], 5)).toBe(false);
    expect(relevantChange([{ time: 9, resourceType: 'CLIENT' }], 4)).toBe(false);
    expect(relevantChange([{ time: 9, resourceType: 'REALM_ROLE_MAPPING' }], 4)).toBe(true);
  });
});
