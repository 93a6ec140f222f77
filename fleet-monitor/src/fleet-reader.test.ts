import { HEALTH_MEASUREMENT as DEVICE_SCHEMA } from '@cdm/device';
import { expect, it } from 'vitest';
import { HEALTH_MEASUREMENT } from './fleet-reader.ts';

it('reads the measurement devices write (device/src/sim/schema.ts)', () => {
  expect(HEALTH_MEASUREMENT).toBe(DEVICE_SCHEMA);
});
