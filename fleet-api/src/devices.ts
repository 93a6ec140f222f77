import { z } from 'zod';
import type { DeviceDirectoryClient, DirectoryDevice } from '@cdm/common';
import type { DeviceGateway, DeviceMetadata, TbDeviceRow } from './gateway.ts';

/** A device as the fleet API lists it: identity from its owner (enroll-bridge), state from ThingsBoard. */
export interface FleetDevice {
  deviceId: string;
  tenantId: string;
  status: DirectoryDevice['status'];
  tbDeviceId: string;
  wgIp?: string;
  certSerial?: string;
  certNotAfter?: string;
  firmware?: string;
  otaStatus?: string;
  online: boolean;
  lastSeen?: string;
  metadata: DeviceMetadata;
}

const text = z.string().min(1).max(200);
/** Which devices a listing or a group operation means; every given criterion must hold. */
export const Selector = z
  .object({
    ids: z.array(z.string().min(1).max(64)).min(1).max(100_000).optional(),
    firmware: text.optional(),
    /** The last update's state (ota-bridge's ota_status: pending, downloading, installing, success, failure, cancelled, boot_mismatch). */
    otaStatus: text.optional(),
    region: text.optional(),
    site: text.optional(),
    owner: text.optional(),
    tag: text.optional(),
    online: z.boolean().optional(),
  })
  .strict();
export type Selector = z.infer<typeof Selector>;

export function matches(s: Selector, d: FleetDevice): boolean {
  if (s.ids && !s.ids.includes(d.deviceId)) return false;
  if (s.firmware !== undefined && d.firmware !== s.firmware) return false;
  if (s.otaStatus !== undefined && d.otaStatus !== s.otaStatus) return false;
  for (const k of ['region', 'site', 'owner'] as const) if (s[k] !== undefined && d.metadata[k] !== s[k]) return false;
  if (s.tag !== undefined && !d.metadata.tags?.includes(s.tag)) return false;
  if (s.online !== undefined && d.online !== s.online) return false;
  return true;
}

export function fleetDevice(dir: DirectoryDevice, row: TbDeviceRow): FleetDevice {
  return {
    deviceId: dir.deviceId,
    tenantId: dir.tenantId,
    status: dir.status,
    tbDeviceId: row.tbDeviceId,
    ...(dir.wgIp ? { wgIp: dir.wgIp } : {}),
    ...(dir.certSerial ? { certSerial: dir.certSerial } : {}),
    ...(dir.certNotAfter ? { certNotAfter: dir.certNotAfter } : {}),
    ...(row.firmware ? { firmware: row.firmware } : {}),
    ...(row.otaStatus ? { otaStatus: row.otaStatus } : {}),
    online: row.online,
    ...(row.lastSeen ? { lastSeen: new Date(row.lastSeen).toISOString() } : {}),
    metadata: row.metadata,
  };
}

/**
 * A tenant's devices: ThingsBoard lists them with their attributes, a page per call; enroll-bridge's
 * directory confirms each is this tenant's and active (a projection that drifted, e.g. a device
 * left behind in ThingsBoard after a decommission, is not acted on).
 */
export class FleetDevices {
  constructor(
    private readonly gateway: DeviceGateway,
    private readonly directory: Pick<DeviceDirectoryClient, 'lookup' | 'get'>,
  ) {}

  async select(tenantId: string, s: Selector): Promise<FleetDevice[]> {
    const out: FleetDevice[] = [];
    for await (const page of this.gateway.devices(tenantId)) {
      const known = await this.directory.lookup(page.map((r) => r.name));
      for (const row of page) {
        const dir = known.get(row.name);
        if (!dir || dir.tenantId !== tenantId || dir.status !== 'active' || dir.tbDeviceId !== row.tbDeviceId) continue;
        const d = fleetDevice(dir, row);
        if (matches(s, d)) out.push(d);
      }
    }
    return out;
  }
}
