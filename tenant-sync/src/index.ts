export * from './config.ts';
export { composeTenantSync } from './compose.ts';
