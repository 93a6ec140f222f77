/**
 * The simulator's side of the platform's contracts: the time-series schema lives in
 * common/src/contracts/measurements.ts (re-exported here for the simulator's users).
 */
export {
  ANOMALY_FIELDS,
  ANOMALY_MEASUREMENT,
  ANOMALY_TAGS,
  HEALTH_FIELDS,
  HEALTH_MEASUREMENT,
  HEALTH_TAGS,
  OTA_FIELDS,
  OTA_MEASUREMENT,
  OTA_TAGS,
  SCHEMA,
  STAGE_FIELDS,
  STAGE_MEASUREMENT,
  STAGE_TAGS,
  versionCode,
  type FieldType,
} from '@cdm/common';

/** ThingsBoard's device MQTT API: `me` is the authenticated device; a plain broker needs the id. */
export function topics(deviceId: string, broker: 'thingsboard' | 'mosquitto') {
  const root = broker === 'thingsboard' ? 'v1/devices/me' : `v1/devices/${deviceId}`;
  return {
    telemetry: `${root}/telemetry`,
    attributes: `${root}/attributes`,
    // The agent protocol (device/src/agent): operations as RPC, desired configuration on request.
    rpcRequest: `${root}/rpc/request/+`,
    rpcResponse: (id: string) => `${root}/rpc/response/${id}`,
    attributesRequest: (n: number) => `${root}/attributes/request/${n}`,
    attributesResponse: `${root}/attributes/response/+`,
  };
}
