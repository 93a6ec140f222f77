export * from './config.ts';
export { composeOtaBridge } from './compose.ts';
export { publish, rolloutBody } from './publish.ts';
