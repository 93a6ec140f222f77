import type { DeviceDirectoryClient } from '@cdm/common';

export interface TerminalDevice {
  deviceId: string;
  /** cdm id of the tenant (Keycloak group id). */
  tenantId: string;
  wgIp: string;
  sshHostKey?: string;
}

export interface DeviceLookup {
  find(deviceId: string): Promise<TerminalDevice | undefined>;
}

/**
 * Devices as enroll-bridge (their owner) answers for them through its device directory: the
 * gateway never opens another service's store. Only active devices with an address can be reached.
 */
export class DirectoryDevices implements DeviceLookup {
  constructor(private readonly directory: Pick<DeviceDirectoryClient, 'get'>) {}

  async find(deviceId: string): Promise<TerminalDevice | undefined> {
    const d = await this.directory.get(deviceId);
    if (!d || d.status !== 'active' || !d.wgIp) return undefined;
    return { deviceId: d.deviceId, tenantId: d.tenantId, wgIp: d.wgIp, sshHostKey: d.sshHostKey };
  }
}
