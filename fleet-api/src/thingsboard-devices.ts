import type { AttributeKv, EntityData, EntityId, EntityKey, PersistentRpc, PersistentRpcRequest, TenantActors } from '@cdm/common';
import type { DeviceAttributes, DeviceGateway, DeviceMetadata, TbDeviceRow } from './gateway.ts';

const device = (id: string): EntityId => ({ entityType: 'DEVICE', id });
const kv = (rows: AttributeKv[]) => Object.fromEntries(rows.map((r) => [r.key, r.value]));

const LATEST: EntityKey[] = [
  { type: 'CLIENT_ATTRIBUTE', key: 'current_sw_version' },
  { type: 'SERVER_ATTRIBUTE', key: 'active' },
  { type: 'SERVER_ATTRIBUTE', key: 'ota_status' },
  { type: 'SERVER_ATTRIBUTE', key: 'lastActivityTime' },
  { type: 'SERVER_ATTRIBUTE', key: 'region' },
  { type: 'SERVER_ATTRIBUTE', key: 'site' },
  { type: 'SERVER_ATTRIBUTE', key: 'owner' },
  { type: 'SERVER_ATTRIBUTE', key: 'tags' },
];

/** Tags are kept as a JSON array in one attribute (ThingsBoard's UI edits it as JSON). */
export function parseTags(v: string | null | undefined): string[] {
  if (!v) return [];
  try {
    const a: unknown = JSON.parse(v);
    return Array.isArray(a) ? a.filter((t): t is string => typeof t === 'string') : [];
  } catch {
    return v
      .split(',')
      .map((t) => t.trim())
      .filter(Boolean);
  }
}

export function rowOf(d: EntityData): TbDeviceRow {
  const val = (type: 'CLIENT_ATTRIBUTE' | 'SERVER_ATTRIBUTE' | 'ENTITY_FIELD', key: string) => d.latest[type]?.[key]?.value || undefined;
  const metadata: DeviceMetadata = {};
  for (const k of ['region', 'site', 'owner'] as const) {
    const v = val('SERVER_ATTRIBUTE', k);
    if (v) metadata[k] = v;
  }
  const tags = parseTags(val('SERVER_ATTRIBUTE', 'tags'));
  if (tags.length) metadata.tags = tags;
  const last = Number(val('SERVER_ATTRIBUTE', 'lastActivityTime'));
  return {
    tbDeviceId: d.entityId.id,
    name: val('ENTITY_FIELD', 'name') ?? '',
    ...(val('CLIENT_ATTRIBUTE', 'current_sw_version') ? { firmware: val('CLIENT_ATTRIBUTE', 'current_sw_version') } : {}),
    ...(val('SERVER_ATTRIBUTE', 'ota_status') ? { otaStatus: val('SERVER_ATTRIBUTE', 'ota_status') } : {}),
    online: val('SERVER_ATTRIBUTE', 'active') === 'true',
    ...(last > 0 ? { lastSeen: last } : {}),
    metadata,
  };
}

/** The DeviceGateway on the real ThingsBoard, acting as each tenant's bridge admin. */
export class ThingsBoardDevices implements DeviceGateway {
  constructor(private readonly actors: TenantActors) {}

  async *devices(tenantId: string): AsyncGenerator<TbDeviceRow[]> {
    const tb = await this.actors.actor(tenantId);
    for await (const page of tb.deviceDataPages(LATEST)) yield page.map(rowOf);
  }

  async attributes(tenantId: string, tbDeviceId: string): Promise<DeviceAttributes> {
    const tb = await this.actors.actor(tenantId);
    const [shared, client, server] = await Promise.all([
      tb.getAttributes(device(tbDeviceId), 'SHARED_SCOPE'),
      tb.getAttributes(device(tbDeviceId), 'CLIENT_SCOPE'),
      tb.getAttributes(device(tbDeviceId), 'SERVER_SCOPE'),
    ]);
    return { shared: kv(shared), client: kv(client), server: kv(server) };
  }

  async saveShared(tenantId: string, tbDeviceId: string, values: Record<string, unknown>): Promise<void> {
    await (await this.actors.actor(tenantId)).saveAttributes(device(tbDeviceId), 'SHARED_SCOPE', values);
  }

  async saveServer(tenantId: string, tbDeviceId: string, values: Record<string, unknown>): Promise<void> {
    await (await this.actors.actor(tenantId)).saveAttributes(device(tbDeviceId), 'SERVER_SCOPE', values);
  }

  async openAlarms(tenantId: string, tbDeviceId: string): Promise<{ type: string; severity: string; since: number }[]> {
    const out: { type: string; severity: string; since: number }[] = [];
    for await (const page of (await this.actors.actor(tenantId)).alarmPages(device(tbDeviceId), { searchStatus: 'ACTIVE' })) {
      for (const a of page) out.push({ type: a.type, severity: a.severity, since: a.startTs ?? a.createdTime ?? 0 });
    }
    return out;
  }

  async sendRpc(tenantId: string, tbDeviceId: string, r: PersistentRpcRequest): Promise<void> {
    await (await this.actors.actor(tenantId)).sendPersistentRpc(tbDeviceId, r);
  }

  async getRpc(tenantId: string, rpcId: string): Promise<PersistentRpc | undefined> {
    return (await this.actors.actor(tenantId)).getPersistentRpc(rpcId);
  }

  async deleteRpc(tenantId: string, rpcId: string): Promise<void> {
    await (await this.actors.actor(tenantId)).deletePersistentRpc(rpcId);
  }
}
