export * from './clusters.ts';
export * from './outliers.ts';
export * from './robust.ts';
export * from './config.ts';
export * from './compose.ts';
export * from './monitor.ts';
export { FleetReader } from './fleet-reader.ts';
