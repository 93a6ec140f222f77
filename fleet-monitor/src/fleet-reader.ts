import { HEALTH_MEASUREMENT, tenantBucket, type EntityKey, type InfluxClient, type TenantActors } from '@cdm/common';
import type { GroupKey } from './clusters.ts';
import type { Bucket } from './outliers.ts';

/** Device metadata operators set (fleet-api writes them as ThingsBoard server attributes). */
const METADATA = ['region', 'site', 'owner'] as const satisfies readonly GroupKey[];
const LATEST: EntityKey[] = METADATA.map((key) => ({ type: 'SERVER_ATTRIBUTE', key }));

export interface RegisteredDevice {
  /** Its name in ThingsBoard: the cdm device id. */
  id: string;
  tbDeviceId: string;
  metadata: Partial<Record<(typeof METADATA)[number], string>>;
}

export interface DeviceHealth {
  lastSeen?: number;
  firmware?: string;
  /** Oldest first. */
  buckets: Bucket[];
}

/**
 * Reads a tenant's fleet for the detectors: the registered devices with their metadata from
 * ThingsBoard (one paged query), their health from the tenant's InfluxDB bucket aggregated per
 * time bucket by InfluxDB itself (four queries, whatever the fleet's size: the rows grow with
 * devices × buckets, not with raw points).
 */
export class FleetReader {
  constructor(private readonly o: { actors: TenantActors; influx: InfluxClient; influxOrg: string }) {}

  async devices(cdmId: string): Promise<RegisteredDevice[]> {
    const out: RegisteredDevice[] = [];
    for await (const page of (await this.o.actors.actor(cdmId)).deviceDataPages(LATEST)) {
      for (const d of page) {
        const name = d.latest.ENTITY_FIELD?.name?.value;
        if (!name) continue;
        const metadata: RegisteredDevice['metadata'] = {};
        for (const k of METADATA) {
          const v = d.latest.SERVER_ATTRIBUTE?.[k]?.value;
          if (v) metadata[k] = v;
        }
        out.push({ id: name, tbDeviceId: d.entityId.id, metadata });
      }
    }
    return out;
  }

  async health(cdmId: string, since: number, now: number, bucketMs: number): Promise<Map<string, DeviceHealth>> {
    const head = `from(bucket: ${JSON.stringify(tenantBucket(cdmId))})
  |> range(start: ${new Date(since).toISOString()}, stop: ${new Date(now + 1).toISOString()})
  |> filter(fn: (r) => r._measurement == "${HEALTH_MEASUREMENT}"`;
    const every = `${Math.round(bucketMs / 1000)}s`;
    const window = (fn: string) => `aggregateWindow(every: ${every}, fn: ${fn}, createEmpty: false, timeSrc: "_start")`;
    type Row = { device?: string; _field?: string; _time: string; _value: number | string };
    const q = (flux: string) => this.o.influx.query<Row>(this.o.influxOrg, flux);
    const [means, sums, reboots, last] = await Promise.all([
      q(`${head} and (r._field == "battery_pct" or r._field == "signal_dbm"))\n  |> ${window('mean')}`),
      q(`${head} and (r._field == "errors" or r._field == "samples"))\n  |> ${window('sum')}`),
      q(`${head} and r._field == "uptime_s")\n  |> difference()\n  |> filter(fn: (r) => r._value < 0)\n  |> ${window('count')}`),
      q(`${head} and r._field == "sw_version")\n  |> last()`),
    ]);
    const out = new Map<string, DeviceHealth & { byT: Map<number, Bucket> }>();
    const entry = (device: string) => {
      let e = out.get(device);
      if (!e) out.set(device, (e = { buckets: [], byT: new Map() }));
      return e;
    };
    const bucket = (r: Row) => {
      const e = entry(r.device!);
      const t = Date.parse(r._time);
      let b = e.byT.get(t);
      if (!b) e.byT.set(t, (b = { t }));
      return b;
    };
    const FIELD: Record<string, keyof Bucket> = { battery_pct: 'battery', signal_dbm: 'signal', errors: 'errors', samples: 'samples' };
    for (const r of [...means, ...sums]) {
      const k = r.device && r._field ? FIELD[r._field] : undefined;
      if (k) bucket(r)[k] = Number(r._value);
    }
    for (const r of reboots) if (r.device) bucket(r).reboots = Number(r._value);
    for (const r of last) {
      if (!r.device) continue;
      const e = entry(r.device);
      e.lastSeen = Date.parse(r._time);
      e.firmware = String(r._value);
    }
    const result = new Map<string, DeviceHealth>();
    for (const [device, e] of out) {
      result.set(device, { ...(e.lastSeen ? { lastSeen: e.lastSeen, firmware: e.firmware } : {}), buckets: [...e.byT.values()].sort((a, b) => a.t - b.t) });
    }
    return result;
  }
}
