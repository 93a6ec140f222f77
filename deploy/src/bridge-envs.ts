import { enrollBridgeEnv } from '../../enroll-bridge/src/config.ts';
import { fleetApiEnv } from '../../fleet-api/src/config.ts';
import { fleetMonitorEnv } from '../../fleet-monitor/src/config.ts';
import { otaBridgeEnv } from '../../ota-bridge/src/config.ts';
import { tenantSyncEnv } from '../../tenant-sync/src/config.ts';
import { terminalGatewayEnv } from '../../terminal-gateway/src/config.ts';

/** Every variable each of cdm's services reads (their config schemas): compose and the Helm chart are checked against these. */
export const BRIDGE_ENVS = {
  'tenant-sync': tenantSyncEnv,
  'enroll-bridge': enrollBridgeEnv,
  'ota-bridge': otaBridgeEnv,
  'terminal-gateway': terminalGatewayEnv,
  'fleet-api': fleetApiEnv,
  'fleet-monitor': fleetMonitorEnv,
} as const;

/** The variables a service cannot start without (no default, not optional). */
export const requiredVariables = (shape: object): string[] =>
  Object.entries(shape as Record<string, { safeParse(v: unknown): { success: boolean } }>)
    .filter(([, schema]) => !schema.safeParse(undefined).success)
    .map(([k]) => k);
