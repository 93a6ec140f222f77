import { z } from 'zod';
import { hawkbitEnv, healthEnv, influxdbEnv, thingsboardEnv } from '@cdm/common';

/** Every variable ota-bridge reads; `ota-bridge --help` prints them. */
export const otaBridgeEnv = {
  ...hawkbitEnv,
  ...thingsboardEnv,
  ...influxdbEnv,
  ...healthEnv(19103),
  POLL_SCHEDULE: z.string().default('*/30 * * * * *').describe('node-cron schedule of the hawkBit poll (with seconds)'),
  DATA_DIR: z.string().min(1).describe('durable poll cursor'),
};

export const otaBridgeConfig = z.object(otaBridgeEnv);
export type OtaBridgeConfig = z.infer<typeof otaBridgeConfig>;
