export * from './config.ts';
export { composeEnrollBridge } from './compose.ts';
export { createApi, createApiServer } from './api.ts';
export { registerFactoryCa } from './factory-cas.ts';
export { createClaim } from './claims.ts';
export { directoryRouter } from './directory-api.ts';
export type { EnrollPhase } from './enroll.ts';
export { Store } from './store.ts';
