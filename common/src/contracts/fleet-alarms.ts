import type { AlarmSeverity } from '../clients/thingsboard-types.ts';

/**
 * The alarms fleet-monitor raises in ThingsBoard, and what reads them: tenant-sync's escalation
 * rules route them by severity, ota-bridge's hold gate counts updated devices with an unusual-values
 * alarm against the others. ThingsBoard keeps one active alarm per originator and type.
 */
export const FLEET_ALARMS = {
  /** On the tenant; the type names the group, `Offline Cluster: site=plant-7`, so two clusters are two alarms. */
  offlineCluster: { prefix: 'Offline Cluster', severity: 'CRITICAL' },
  /** On the device: its health is unlike its own baseline and unlike its cohort's. */
  unusualValues: { type: 'Unusual Values', severity: 'WARNING' },
} as const satisfies Record<string, { severity: AlarmSeverity; type?: string; prefix?: string }>;

export const isClusterAlarm = (type: string) => type.startsWith(`${FLEET_ALARMS.offlineCluster.prefix}: `);

/**
 * Severities to routes (tenant-sync's escalation rules): warnings go to the tenant's operators;
 * critical alarms to the operators at once and to the tenant's on-call when still unacknowledged
 * after the escalation delay.
 */
export const ESCALATION = {
  warning: ['MAJOR', 'MINOR', 'WARNING'],
  critical: ['CRITICAL'],
} as const satisfies Record<string, readonly AlarmSeverity[]>;
