import { InfluxDB, Point, type WriteApi } from '@influxdata/influxdb-client';
import type { InfluxTarget } from './identity.ts';
import { HEALTH_FIELDS, HEALTH_MEASUREMENT } from './schema.ts';

export type HealthValues = { [K in keyof typeof HEALTH_FIELDS]: (typeof HEALTH_FIELDS)[K] extends 'string' ? string : number };

/** The health point as devices write it; tags and fields are the ones in schema.ts. */
export function healthPoint(tenant: string, device: string, v: HealthValues, tsMs: number): Point {
  const p = new Point(HEALTH_MEASUREMENT).tag('tenant', tenant).tag('device', device).timestamp(new Date(tsMs));
  for (const [k, type] of Object.entries(HEALTH_FIELDS) as [keyof HealthValues, string][]) {
    const x = v[k];
    if (type === 'string') p.stringField(k, x);
    else if (type === 'int') p.intField(k, x);
    else p.floatField(k, x);
  }
  return p;
}

export interface WriterStats {
  points: number;
  failedPoints: number;
  lastError?: string;
}

/** The device tag of a line as healthPoint writes it (device ids need no escaping). */
const DEVICE_TAG = /,device=([^,\s]+)/;

/**
 * Batches health points per InfluxDB target (each tenant's bucket and the write token enrollment
 * handed out): a thousand devices become one write request a second instead of a hundred.
 */
export class HealthWriter {
  readonly stats: WriterStats = { points: 0, failedPoints: 0 };
  /** Points InfluxDB accepted, per device: what a load test compares with what it stored. */
  readonly acked = new Map<string, number>();
  private readonly apis = new Map<string, WriteApi>();
  private readonly clients = new Map<string, InfluxDB>();

  constructor(private readonly o: { url: string; batchSize?: number; flushIntervalMs?: number; timeoutMs?: number }) {}

  write(target: InfluxTarget, point: Point): void {
    this.api(target).writePoint(point);
  }

  private api(t: InfluxTarget): WriteApi {
    const key = `${t.org}\u0000${t.bucket}\u0000${t.token}`;
    let api = this.apis.get(key);
    if (!api) {
      let client = this.clients.get(t.token);
      if (!client) this.clients.set(t.token, (client = new InfluxDB({ url: this.o.url, token: t.token, timeout: this.o.timeoutMs ?? 15_000 })));
      api = client.getWriteApi(t.org, t.bucket, 'ms', {
        batchSize: this.o.batchSize ?? 2000,
        flushInterval: this.o.flushIntervalMs ?? 1000,
        maxRetries: 3,
        maxBufferLines: 200_000,
        writeSuccess: (lines) => {
          this.stats.points += lines.length;
          for (const l of lines) {
            const d = DEVICE_TAG.exec(l)?.[1];
            if (d) this.acked.set(d, (this.acked.get(d) ?? 0) + 1);
          }
        },
        writeFailed: (err, lines, attempt, expires) => {
          this.stats.lastError = err.message;
          // Called per attempt; count the points once, when the client gives up on them (a 4xx is never retried).
          const status = (err as { statusCode?: number }).statusCode ?? 0;
          if (attempt > 3 || Date.now() > expires || (status >= 400 && status < 500 && status !== 429)) this.stats.failedPoints += lines.length;
          return undefined;
        },
      });
      this.apis.set(key, api);
    }
    return api;
  }

  async close(): Promise<void> {
    await Promise.all([...this.apis.values()].map((a) => a.close().catch(() => undefined)));
    this.apis.clear();
  }
}
