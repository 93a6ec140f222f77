/** What other packages' e2e tests use: the stack's endpoints as bridge environments. */
export { BRIDGES, bridgeEnv, type Bridge } from './bridge-env.ts';
export { defaultContext } from './paths.ts';
export { startBridge } from './run.ts';
export type { Endpoint, StackContext } from './types.ts';
export { restartService, up } from './cli.ts';
export { PORTS, repoDir } from './paths.ts';
export { addDeviceNs, removeDeviceNs, HOST_FROM_DEVICES, type DeviceNs } from './devices.ts';
export { ensureTestTools, type TestTool } from './test-tools.ts';
export { startFreshHawkbit } from './services/hawkbit.ts';
export { freshDatabase } from './services/postgres.ts';
export { startThingsBoardInstance } from './services/thingsboard.ts';
export { createPerson, createTenantGroup, type TestTenant } from './keycloak-people.ts';
export { startWebhookReceiver, type ReceivedNotification } from './webhook-receiver.ts';
export { tenantBucketFor, thingsboardTenant } from './scenes.ts';
