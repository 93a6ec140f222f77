import type { AlarmSeverity, EntityId, TenantActors } from '@cdm/common';

export const ALARM_FAILURE = 'OTA Failure';
export const ALARM_MISMATCH = 'OTA Boot Mismatch';
export const ALARM_GATE = 'OTA Rollout Paused';

const device = (id: string): EntityId => ({ id, entityType: 'DEVICE' }) as EntityId;

/**
 * ThingsBoard side of OTA state: server attributes and alarms on a tenant's devices, read as the
 * tenant's bridge admin. ThingsBoard keeps one active alarm per originator and type, so raising
 * again updates the same alarm rather than adding one.
 */
export class ThingsBoardOta {
  constructor(private readonly tenants: TenantActors) {}

  /** Throws TenantNotReady when the tenant is disabled or not made yet. */
  async tenantReady(cdmId: string): Promise<void> {
    await this.tenants.actor(cdmId);
  }

  async setAttributes(cdmId: string, tbDeviceId: string, values: Record<string, unknown>): Promise<void> {
    await (await this.tenants.actor(cdmId)).saveAttributes(device(tbDeviceId), 'SERVER_SCOPE', values);
  }

  async raiseOnDevice(cdmId: string, tbDeviceId: string, type: string, severity: AlarmSeverity, details: Record<string, unknown>): Promise<void> {
    await this.raise(cdmId, device(tbDeviceId), type, severity, details);
  }

  /** A rollout-level alarm: its originator is the tenant itself. */
  async raiseOnTenant(cdmId: string, type: string, severity: AlarmSeverity, details: Record<string, unknown>): Promise<void> {
    await this.raise(cdmId, { id: await this.tenants.tenantId(cdmId), entityType: 'TENANT' } as EntityId, type, severity, details);
  }

  /** Every device of the tenant by name (= hawkBit controller id): online (ThingsBoard's `active`) and its region (metadata operators set). */
  async devices(cdmId: string): Promise<Map<string, { online: boolean; region?: string }>> {
    const out = new Map<string, { online: boolean; region?: string }>();
    for await (const page of (await this.tenants.actor(cdmId)).deviceDataPages([
      { type: 'SERVER_ATTRIBUTE', key: 'active' },
      { type: 'SERVER_ATTRIBUTE', key: 'region' },
    ])) {
      for (const d of page) {
        const name = d.latest.ENTITY_FIELD?.name?.value;
        const region = d.latest.SERVER_ATTRIBUTE?.region?.value;
        if (name) out.set(name, { online: d.latest.SERVER_ATTRIBUTE?.active?.value === 'true', ...(region ? { region } : {}) });
      }
    }
    return out;
  }

  /** Names of the tenant's devices with an active alarm of this type: one tenant-wide listing. */
  async devicesWithAlarm(cdmId: string, type: string): Promise<Set<string>> {
    const out = new Set<string>();
    for await (const page of (await this.tenants.actor(cdmId)).tenantAlarmPages({ statusList: 'ACTIVE', typeList: type })) {
      for (const a of page) if (a.type === type && a.originator.entityType === 'DEVICE' && a.originatorName) out.add(a.originatorName);
    }
    return out;
  }

  async clearOnDevice(cdmId: string, tbDeviceId: string, type: string): Promise<void> {
    const as = await this.tenants.actor(cdmId);
    for await (const page of as.alarmPages(device(tbDeviceId), { searchStatus: 'ACTIVE' })) {
      for (const a of page) if (a.type === type && a.id) await as.clearAlarm(a.id.id);
    }
  }

  /** The version the device itself reports: client attribute `sw_version`, else its latest telemetry. */
  async reportedVersion(cdmId: string, tbDeviceId: string): Promise<string | undefined> {
    const as = await this.tenants.actor(cdmId);
    const attr = (await as.getAttributes(device(tbDeviceId), 'CLIENT_SCOPE', ['sw_version']))[0];
    if (attr?.value !== undefined && attr.value !== null && attr.value !== '') return String(attr.value);
    const ts = (await as.getLatestTelemetry(device(tbDeviceId), ['sw_version'])).sw_version?.[0];
    return ts?.value === undefined || ts.value === null ? undefined : String(ts.value);
  }

  private async raise(cdmId: string, originator: EntityId, type: string, severity: AlarmSeverity, details: Record<string, unknown>): Promise<void> {
    await (await this.tenants.actor(cdmId)).saveAlarm({ type, name: type, originator, severity, status: 'ACTIVE_UNACK', acknowledged: false, cleared: false, details });
  }
}
