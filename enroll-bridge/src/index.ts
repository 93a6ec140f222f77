export * from './config.ts';
export { composeEnrollBridge } from './compose.ts';
export { createApi, createApiServer } from './api.ts';
export { registerFactoryCa } from './factory-cas.ts';
export { createClaim } from './claims.ts';
export { directoryRouter } from './directory-api.ts';
