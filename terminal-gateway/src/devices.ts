import path from 'node:path';
import Database from 'better-sqlite3';

export interface TerminalDevice {
  deviceId: string;
  /** cdm id of the tenant (Keycloak group id). */
  tenantId: string;
  wgIp: string;
  sshHostKey?: string;
}

export interface DeviceLookup {
  find(deviceId: string): TerminalDevice | undefined;
}

/**
 * Devices as enroll-bridge (their owner) records them, read from its store without write access:
 * the gateway never changes device identity. Only active devices with an address can be reached.
 */
export class EnrollStoreDevices implements DeviceLookup {
  private readonly db: Database.Database;

  constructor(enrollDataDir: string) {
    this.db = new Database(path.join(enrollDataDir, 'enroll-bridge.sqlite'), { readonly: true, fileMustExist: true, timeout: 5000 });
  }

  find(deviceId: string): TerminalDevice | undefined {
    const r = this.db.prepare("SELECT device_id, tenant_id, wg_ip, ssh_host_key FROM devices WHERE device_id = ? AND status = 'active' AND wg_ip IS NOT NULL").get(deviceId) as
      | { device_id: string; tenant_id: string; wg_ip: string; ssh_host_key: string | null }
      | undefined;
    return r ? { deviceId: r.device_id, tenantId: r.tenant_id, wgIp: r.wg_ip, sshHostKey: r.ssh_host_key ?? undefined } : undefined;
  }

  close(): void {
    this.db.close();
  }
}
