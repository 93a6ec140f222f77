import { ANOMALY_MEASUREMENT, HEALTH_MEASUREMENT as DEVICE_SCHEMA } from '@cdm/device';
import { expect, it } from 'vitest';
import { HEALTH_MEASUREMENT } from './fleet-reader.ts';
import { EVENT_MEASUREMENT } from './monitor.ts';

it('reads the measurement devices write, and writes the one the Fleet health dashboard reads (device/src/sim/schema.ts)', () => {
  expect(HEALTH_MEASUREMENT).toBe(DEVICE_SCHEMA);
  expect(EVENT_MEASUREMENT).toBe(ANOMALY_MEASUREMENT);
});
