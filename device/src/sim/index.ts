/** The fleet simulator as a library: the CLI, the e2e tests and the benchmarks drive it. */
export { Fleet, writeSilentDevices, type FleetOptions, type FleetStats } from './fleet.ts';
export { VirtualDevice, DEFAULT_PROFILE, type FleetProfile, type UpdateOutcome } from './device-model.ts';
export { WindowAggregator, type Sample, type WindowAggregate } from './aggregator.ts';
export { enroll, keyAndCsr, loadCertDir, makeCertDir, MANIFEST, type DeviceIdentity, type InfluxTarget } from './identity.ts';
export { setSharedAttributes } from './control.ts';
export { fleetHistory, type HistoryOptions, type HistoryPoint } from './history.ts';
export { healthPoint, type HealthValues } from './influx-writer.ts';
export { ANOMALY_MEASUREMENT, HEALTH_FIELDS, HEALTH_MEASUREMENT, HEALTH_TAGS, OTA_FIELDS, OTA_MEASUREMENT, OTA_TAGS, SCHEMA, topics, versionCode } from './schema.ts';
export { parseDuration } from '@cdm/common';
