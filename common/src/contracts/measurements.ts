/**
 * What devices write to their tenant's InfluxDB bucket and what ota-bridge and fleet-monitor write
 * there: the contract the dashboards and alert rules in grafana-dashboards/ query, and the services
 * that read health (ota-bridge's hold gate, fleet-monitor) read by (documented in
 * grafana-dashboards/README.md; a unit test checks every panel against these constants).
 */
export type FieldType = 'float' | 'int' | 'string';

export const HEALTH_MEASUREMENT = 'device_health';

/** One point per device per aggregation window (averages, not raw samples). */
export const HEALTH_FIELDS = {
  battery_pct: 'float', // mean over the window
  battery_min_pct: 'float',
  signal_dbm: 'float', // mean RSSI over the window
  signal_min_dbm: 'float',
  samples: 'int',
  errors: 'int',
  error_rate: 'float', // errors / samples, 0..1
  uptime_s: 'int',
  sw_version: 'string', // the running software version
  sw_version_code: 'int', // major*1e6 + minor*1e3 + patch: orders versions where strings cannot
  update_failures: 'int', // failed installs since boot (fallback to the previous version)
} as const satisfies Record<string, FieldType>;

export const HEALTH_TAGS = ['tenant', 'device'] as const;

export const OTA_MEASUREMENT = 'ota_rollout';

/** Written by ota-bridge per rollout and deployment group on each pass (counts of targets). */
export const OTA_FIELDS = {
  success: 'int',
  failure: 'int',
  running: 'int',
  scheduled: 'int',
  success_ratio: 'float', // success / (success + failure + running + scheduled), 0..1
} as const satisfies Record<string, FieldType>;

export const OTA_TAGS = ['rollout', 'group'] as const;

/** Written by ota-bridge's hold gate for each held stage on each pass (the OTA dashboard's stage timeline). */
export const STAGE_MEASUREMENT = 'ota_stage';
export const STAGE_FIELDS = { state: 'string', hold_remaining_s: 'int' } as const satisfies Record<string, FieldType>;
export const STAGE_TAGS = ['rollout', 'stage'] as const;

/** Written by fleet-monitor each time it raises or clears an alarm (the Fleet health dashboard's monitor table). */
export const ANOMALY_MEASUREMENT = 'fleet_anomaly';
export const ANOMALY_FIELDS = { state: 'string', devices: 'int', score: 'float' } as const satisfies Record<string, FieldType>;
export const ANOMALY_TAGS = ['kind', 'key'] as const;

export const SCHEMA: Record<string, { tags: readonly string[]; fields: Record<string, FieldType> }> = {
  [HEALTH_MEASUREMENT]: { tags: HEALTH_TAGS, fields: HEALTH_FIELDS },
  [ANOMALY_MEASUREMENT]: { tags: ANOMALY_TAGS, fields: ANOMALY_FIELDS },
  [OTA_MEASUREMENT]: { tags: OTA_TAGS, fields: OTA_FIELDS },
  [STAGE_MEASUREMENT]: { tags: STAGE_TAGS, fields: STAGE_FIELDS },
};

/** `1.4.2` → 1004002; anything unparsable → 0 (never "current"). */
export function versionCode(v: string): number {
  const m = /^v?(\d{1,3})\.(\d{1,3})\.(\d{1,3})/.exec(v);
  return m ? Number(m[1]) * 1_000_000 + Number(m[2]) * 1_000 + Number(m[3]) : 0;
}
