import http from 'node:http';
import zlib from 'node:zlib';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Fleet } from './fleet.ts';
import type { DeviceIdentity } from './identity.ts';
import { HEALTH_FIELDS } from './schema.ts';

/** The fleet's clock and InfluxDB side without a broker: a local HTTP server stands in for InfluxDB's write API. */
let server: http.Server;
let url = '';
const writes: { query: URLSearchParams; auth?: string; lines: string[] }[] = [];
beforeAll(async () => {
  server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      // The client gzips larger batches.
      const raw = Buffer.concat(chunks);
      const body = (req.headers['content-encoding'] === 'gzip' ? zlib.gunzipSync(raw) : raw).toString();
      writes.push({ query: new URL(req.url!, 'http://x').searchParams, auth: req.headers.authorization, lines: body.split('\n').filter(Boolean) });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => server.close());

const identity = (i: number): DeviceIdentity => ({ id: `dev-${i}`, tenant: 'acme', certPem: '', keyPem: '', influx: { org: 'cdm', bucket: 'cdm-acme', token: 'write-token' } });

describe('Fleet clock and health points', () => {
  it('sends one aggregate per device per window, spread over the window, as device_health points', async () => {
    let now = 1_000_000;
    const fleet = new Fleet({
      identities: Array.from({ length: 50 }, (_, i) => identity(i)),
      broker: { url: 'mqtts://unused', ca: '', broker: 'mosquitto' },
      influxUrl: url,
      windowS: 10,
      now: () => now,
    });
    fleet.startClock();
    const perSecond: number[] = [];
    for (let s = 1; s <= 30; s++) {
      const before = fleet.stats().windows;
      for (let k = 0; k < 5; k++) {
        now += 200;
        fleet.tick();
      }
      perSecond.push(fleet.stats().windows - before);
    }
    // 50 devices × 3 windows in 30 s; no second carries more than a fraction of the fleet.
    expect(fleet.stats().windows).toBe(150);
    expect(Math.max(...perSecond)).toBeLessThan(25);
    await fleet.stop();
    const lines = writes.flatMap((w) => w.lines);
    expect(lines).toHaveLength(150);
    expect(writes[0]!.auth).toBe('Token write-token');
    expect(writes[0]!.query.get('bucket')).toBe('cdm-acme');
    expect(writes[0]!.query.get('precision')).toBe('ms');
    const line = lines.find((l) => l.includes('device=dev-7'))!;
    expect(line).toMatch(/^device_health,device=dev-7,tenant=acme /);
    for (const f of Object.keys(HEALTH_FIELDS)) expect(line).toContain(`${f}=`);
    expect(line).toMatch(/samples=\d+i/);
    expect(line).toMatch(/sw_version="\d+\.\d+\.\d+"/);
    expect(fleet.stats()).toMatchObject({ points: 150, failedPoints: 0 });
    // What a load test compares with what InfluxDB stored: the accepted points, per device.
    expect(fleet.pointsByDevice().size).toBe(50);
    expect([...fleet.pointsByDevice().values()].every((n) => n === 3)).toBe(true);
  });

  it('refuses to install on a device it does not run', async () => {
    const fleet = new Fleet({ identities: [identity(1)], broker: { url: 'mqtts://unused', ca: '', broker: 'mosquitto' }, influxUrl: url });
    await expect(fleet.install('nope', '2.0.0')).rejects.toThrow('no simulated device nope');
    await fleet.stop();
  });
});
