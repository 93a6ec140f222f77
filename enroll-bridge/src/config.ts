import { z } from 'zod';
import { hawkbitEnv, healthEnv, stepcaEnv, thingsboardEnv, wireguardEnv } from '@cdm/common';

/** Every variable enroll-bridge reads; `enroll-bridge --help` prints them. */
export const enrollBridgeEnv = {
  ...stepcaEnv,
  ...thingsboardEnv,
  ...hawkbitEnv,
  ...wireguardEnv,
  ...healthEnv(19102),
  DATA_DIR: z.string().min(1).describe('durable store of device identity (owner of device id, serial, WireGuard address)'),
};

export const enrollBridgeConfig = z.object(enrollBridgeEnv);
export type EnrollBridgeConfig = z.infer<typeof enrollBridgeConfig>;
