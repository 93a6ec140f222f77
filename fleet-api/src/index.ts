export { composeFleetApi } from './compose.ts';
export { fleetApiConfig, fleetApiEnv, type FleetApiConfig } from './config.ts';
export { openApiDocument } from './openapi.ts';
export { PERMISSIONS } from './permissions.ts';
