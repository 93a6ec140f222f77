import type { DeviceHealth, FleetReader } from './fleet-reader.ts';

/**
 * Each tenant's device health between passes, so a pass reads only what arrived since the last
 * one — from the start of the bucket holding the last read's time minus `lateMs` (the bucket still
 * filling, and the one before while points for it may still arrive) — instead of the whole
 * look-back. The first pass after a start reads it all. A projection of InfluxDB, rebuilt from it
 * at any time; nothing is lost with the process.
 *
 * Why not always the bucket before too: InfluxDB's cost of the read grows with devices × buckets
 * read, not with points (measured on the local influxd: aggregateWindow ~0.16 ms CPU per device and
 * bucket), so a pass that reads one bucket instead of two or three costs half or a third.
 */
export class HealthCache {
  private readonly tenants = new Map<string, { readTo: number; devices: Map<string, DeviceHealth> }>();

  constructor(private readonly o: { reader: Pick<FleetReader, 'health'>; lookbackMs: number; bucketMs: number; lateMs: number }) {}

  async get(cdmId: string, now: number): Promise<Map<string, DeviceHealth>> {
    const { bucketMs, lookbackMs, lateMs } = this.o;
    const align = (t: number) => Math.floor(t / bucketMs) * bucketMs;
    const keepFrom = align(now - lookbackMs);
    const c = this.tenants.get(cdmId);
    const from = c ? Math.max(keepFrom, align(c.readTo - lateMs)) : keepFrom;
    const fresh = await this.o.reader.health(cdmId, from, now, bucketMs);
    const devices = c?.devices ?? new Map<string, DeviceHealth>();
    for (const [id, h] of fresh) {
      const old = devices.get(id);
      devices.set(id, {
        ...(h.lastSeen !== undefined ? { lastSeen: h.lastSeen, firmware: h.firmware } : old?.lastSeen !== undefined ? { lastSeen: old.lastSeen, firmware: old.firmware } : {}),
        buckets: [...(old?.buckets ?? []).filter((b) => b.t < from), ...h.buckets],
      });
    }
    for (const [id, h] of devices) {
      if (h.buckets.length && h.buckets[0]!.t < keepFrom) h.buckets = h.buckets.filter((b) => b.t >= keepFrom);
      if (!h.buckets.length && (h.lastSeen === undefined || h.lastSeen < keepFrom)) devices.delete(id);
    }
    this.tenants.set(cdmId, { readTo: now, devices });
    return devices;
  }

  /** A tenant gone from the directory: its health is not kept. */
  retain(cdmIds: ReadonlySet<string>): void {
    for (const id of this.tenants.keys()) if (!cdmIds.has(id)) this.tenants.delete(id);
  }
}
