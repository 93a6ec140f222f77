export * from './config.ts';
export { composeTenantSync } from './compose.ts';
export { DEVICE_WIDGET_FQN, OPERATOR_DASHBOARD, operatorUi } from './thingsboard-ui.ts';
export { Triggers } from './triggers.ts';
export type { PassResult } from './reconcile.ts';
