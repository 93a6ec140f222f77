import type { PersistentRpc, PersistentRpcRequest } from '@cdm/common';

/** A device as ThingsBoard shows it to the fleet API (names are cdm device ids). */
export interface TbDeviceRow {
  tbDeviceId: string;
  name: string;
  firmware?: string;
  /** The last update's state as ota-bridge mirrors it from hawkBit (ota_status). */
  otaStatus?: string;
  online: boolean;
  lastSeen?: number;
  metadata: DeviceMetadata;
}

/** Operator-set facts used to select devices (ThingsBoard server attributes). */
export interface DeviceMetadata {
  region?: string;
  site?: string;
  owner?: string;
  tags?: string[];
}

export interface DeviceAttributes {
  shared: Record<string, unknown>;
  client: Record<string, unknown>;
  server: Record<string, unknown>;
}

/**
 * What the fleet API needs from ThingsBoard, per cdm tenant (the I/O port; ThingsBoardDevices is
 * the real one, tests use an in-memory one). Every call acts as the tenant's bridge admin, so a
 * ThingsBoard id from another tenant is not found there.
 */
export interface DeviceGateway {
  devices(tenantId: string): AsyncGenerator<TbDeviceRow[]>;
  attributes(tenantId: string, tbDeviceId: string): Promise<DeviceAttributes>;
  saveShared(tenantId: string, tbDeviceId: string, values: Record<string, unknown>): Promise<void>;
  saveServer(tenantId: string, tbDeviceId: string, values: Record<string, unknown>): Promise<void>;
  openAlarms(tenantId: string, tbDeviceId: string): Promise<{ type: string; severity: string; since: number }[]>;
  sendRpc(tenantId: string, tbDeviceId: string, r: PersistentRpcRequest): Promise<void>;
  getRpc(tenantId: string, rpcId: string): Promise<PersistentRpc | undefined>;
  deleteRpc(tenantId: string, rpcId: string): Promise<void>;
}
