import type { DirectoryDevice, MgmtRollout, MgmtRolloutCreate, MgmtRolloutGroup, PersistentRpc, PersistentRpcRequest, RpcReply } from '@cdm/common';
import type { DeviceAttributes, DeviceGateway, TbDeviceRow } from './gateway.ts';
import { rowOf } from './thingsboard-devices.ts';

interface SimDevice {
  tenantId: string;
  row: TbDeviceRow;
  attrs: DeviceAttributes;
  online: boolean;
  /** How the device answers an operation. */
  answer: (method: string, params: unknown) => RpcReply;
}

/**
 * ThingsBoard's side as the fleet API uses it, in memory, behaving as the real one does where it
 * matters: persistent RPCs keyed by the caller's requestUUID, QUEUED while the device is offline
 * and handed over when it is back, EXPIRED after their expiration time, an online device's RPC
 * DELIVERED and answered on the next status read (so concurrency is observable), and every id
 * scoped to its tenant.
 */
export class FakeThingsBoard implements DeviceGateway {
  readonly devicesById = new Map<string, SimDevice>();
  readonly rpcs = new Map<string, PersistentRpc & { tenantId: string }>();
  readonly sends = new Map<string, number>();
  /** RPCs taken by online devices whose final status the API has not read yet. */
  private readonly inFlight = new Set<string>();
  /** Most RPCs taken by online devices and not yet seen finished by the API, at any send. */
  maxInFlight = 0;
  failNextSend?: 'before' | 'after';

  constructor(private readonly now: () => number = Date.now) {}

  add(tenantId: string, deviceId: string, o: Partial<TbDeviceRow> & { online?: boolean; answer?: SimDevice['answer'] } = {}): DirectoryDevice {
    const tbDeviceId = `tb-${deviceId}`;
    this.devicesById.set(tbDeviceId, {
      tenantId,
      row: { tbDeviceId, name: deviceId, online: o.online ?? true, metadata: {}, ...(o.firmware ? { firmware: o.firmware } : {}), ...(o.otaStatus ? { otaStatus: o.otaStatus } : {}) },
      attrs: { shared: {}, client: {}, server: { ...o.metadata, ...(o.metadata?.tags ? { tags: JSON.stringify(o.metadata.tags) } : {}) } },
      online: o.online ?? true,
      answer: o.answer ?? ((method) => ({ ok: true, result: { did: method } })),
    });
    return { deviceId, tenantId, status: 'active', tbDeviceId };
  }

  device(deviceId: string): SimDevice {
    return this.devicesById.get(`tb-${deviceId}`)!;
  }

  /** The device comes back: ThingsBoard hands it what is queued and not expired. */
  online(deviceId: string, on = true): void {
    const d = this.device(deviceId);
    d.online = on;
    d.row.online = on;
    if (on) {
      for (const r of this.rpcs.values()) {
        if (r.deviceId.id !== d.row.tbDeviceId || r.status !== 'QUEUED' || this.now() >= r.expirationTime) continue;
        r.status = 'DELIVERED';
        this.inFlight.add(r.id.id);
      }
    }
  }

  async *devices(tenantId: string): AsyncGenerator<TbDeviceRow[]> {
    // As ThingsBoard's entity query: metadata read from the server attributes.
    const rows = [...this.devicesById.values()]
      .filter((d) => d.tenantId === tenantId)
      .map((d) =>
        rowOf({
          entityId: { id: d.row.tbDeviceId, entityType: 'DEVICE' },
          latest: {
            ENTITY_FIELD: { name: { ts: 0, value: d.row.name } },
            CLIENT_ATTRIBUTE: d.row.firmware ? { current_sw_version: { ts: 0, value: d.row.firmware } } : {},
            SERVER_ATTRIBUTE: {
              active: { ts: 0, value: String(d.online) },
              ...(d.row.otaStatus ? { ota_status: { ts: 0, value: d.row.otaStatus } } : {}),
              ...Object.fromEntries(Object.entries(d.attrs.server).map(([k, v]) => [k, { ts: 0, value: String(v) }])),
            },
          },
        }),
      );
    for (let i = 0; i < rows.length; i += 7) yield rows.slice(i, i + 7);
  }

  async attributes(tenantId: string, tbDeviceId: string): Promise<DeviceAttributes> {
    return structuredClone(this.own(tenantId, tbDeviceId).attrs);
  }

  async saveShared(tenantId: string, tbDeviceId: string, values: Record<string, unknown>): Promise<void> {
    Object.assign(this.own(tenantId, tbDeviceId).attrs.shared, values);
  }

  async saveServer(tenantId: string, tbDeviceId: string, values: Record<string, unknown>): Promise<void> {
    Object.assign(this.own(tenantId, tbDeviceId).attrs.server, values);
  }

  async openAlarms(): Promise<{ type: string; severity: string; since: number }[]> {
    return [];
  }

  async sendRpc(tenantId: string, tbDeviceId: string, r: PersistentRpcRequest): Promise<void> {
    const d = this.own(tenantId, tbDeviceId);
    if (this.failNextSend === 'before') {
      this.failNextSend = undefined;
      throw new Error('connection reset (before ThingsBoard took it)');
    }
    this.sends.set(r.requestUUID, (this.sends.get(r.requestUUID) ?? 0) + 1);
    this.rpcs.set(r.requestUUID, {
      tenantId,
      id: { id: r.requestUUID, entityType: 'RPC' },
      createdTime: this.now(),
      deviceId: { id: tbDeviceId, entityType: 'DEVICE' },
      expirationTime: r.expirationTime,
      request: { body: { method: r.method, params: JSON.stringify(r.params) } },
      status: d.online ? 'DELIVERED' : 'QUEUED',
      additionalInfo: r.additionalInfo,
    });
    if (d.online) this.inFlight.add(r.requestUUID);
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight.size);
    if (this.failNextSend === 'after') {
      this.failNextSend = undefined;
      throw new Error('timeout (ThingsBoard took it, the answer was lost)');
    }
  }

  async getRpc(tenantId: string, rpcId: string): Promise<PersistentRpc | undefined> {
    const r = this.rpcs.get(rpcId);
    if (!r || r.tenantId !== tenantId) return undefined;
    if (r.status === 'QUEUED' && this.now() >= r.expirationTime) r.status = 'EXPIRED';
    if (r.status === 'DELIVERED') {
      const d = this.devicesById.get(r.deviceId.id)!;
      r.response = d.answer(r.request!.body!.method!, JSON.parse(r.request!.body!.params ?? '{}'));
      r.status = 'SUCCESSFUL';
      return { ...r, status: 'DELIVERED', response: undefined };
    }
    if (!['QUEUED', 'SENT', 'DELIVERED'].includes(r.status)) this.inFlight.delete(rpcId);
    return structuredClone(r);
  }

  async deleteRpc(tenantId: string, rpcId: string): Promise<void> {
    const r = this.rpcs.get(rpcId);
    if (r && r.tenantId === tenantId) this.rpcs.delete(rpcId);
  }

  private own(tenantId: string, tbDeviceId: string): SimDevice {
    const d = this.devicesById.get(tbDeviceId);
    if (!d || d.tenantId !== tenantId) throw Object.assign(new Error('not found in this tenant'), { status: 404 });
    return d;
  }
}

/** hawkBit's rollouts as the fleet API uses them, in memory: sets with tenant markers, rollouts with their groups. */
export class FakeHawkbit {
  readonly sets = new Map<number, { id: number; name: string; version: string; description?: string }>();
  readonly rollouts = new Map<number, MgmtRollout & { groups: MgmtRolloutCreate['groups'] }>();
  private seq = 100;

  addSet(description: string | undefined, version = '2.0.0'): number {
    const id = ++this.seq;
    this.sets.set(id, { id, name: `firmware-${id}`, version, ...(description ? { description } : {}) });
    return id;
  }

  async getDistributionSet(id: number) {
    return this.sets.get(id);
  }

  async createRollout(b: MgmtRolloutCreate): Promise<MgmtRollout> {
    const id = ++this.seq;
    const r = {
      id,
      name: b.name,
      description: b.description,
      status: 'creating',
      totalTargets: 3,
      distributionSetId: b.distributionSetId,
      targetFilterQuery: b.targetFilterQuery,
      totalTargetsPerStatus: { notstarted: 3 },
      groups: b.groups,
    };
    this.rollouts.set(id, r);
    return r;
  }

  async getRollout(id: number) {
    const r = this.rollouts.get(id);
    if (r?.status === 'creating') r.status = 'ready';
    else if (r?.status === 'starting') r.status = 'running';
    return r && { ...r };
  }

  async rolloutGroups(id: number): Promise<MgmtRolloutGroup[]> {
    return (this.rollouts.get(id)?.groups ?? []).map((g, i) => ({ id: i + 1, name: g.name ?? '', status: 'ready', targetPercentage: g.targetPercentage, totalTargets: 1 }));
  }

  async startRollout(id: number) {
    this.rollouts.get(id)!.status = 'starting';
  }

  async pauseRollout(id: number) {
    this.rollouts.get(id)!.status = 'paused';
  }

  async resumeRollout(id: number) {
    this.rollouts.get(id)!.status = 'running';
  }

  async deleteRollout(id: number) {
    this.rollouts.delete(id);
  }
}
