export * from './config.ts';
export { composeEnrollBridge } from './compose.ts';
export { createApi } from './api.ts';
export { createClaim } from './claims.ts';
