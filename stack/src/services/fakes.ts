import path from 'node:path';
import { fakesCodeHash } from '../fakes/code-hash.ts';
import { OPERATOR_TOKEN } from '../fakes/influxdb/fake.ts';
import { PORTS } from '../paths.ts';
import { spawnDetached, stopDetached } from '../proc.ts';
import type { Endpoint, Service } from '../types.ts';

/** A contract fake as a background process of the stack (tsx runs the TypeScript directly). */
function fake(name: string, port: number, version: string, endpoint: Omit<Endpoint, 'url'>, needs: string[] = []): Service {
  const url = `http://127.0.0.1:${port}`;
  return {
    name,
    real: false,
    version,
    startTimeoutSec: 30,
    needs,
    async install() {},
    async start(ctx) {
      await stopDetached(ctx, name, 5000); // an outdated fake may still hold the port
      spawnDetached(ctx, name, process.execPath, ['--import', 'tsx', path.join(ctx.repoDir, 'stack', 'src', 'fakes', 'main.ts'), name, String(port)], {
        cwd: ctx.repoDir,
      });
    },
    async healthy() {
      try {
        const res = await fetch(`${url}/__fake/info`, { signal: AbortSignal.timeout(3000) });
        return res.ok && ((await res.json()) as { code: string }).code === fakesCodeHash();
      } catch {
        return false;
      }
    },
    endpoint: () => ({ url, ...endpoint }),
    stop: (ctx) => stopDetached(ctx, name, 5000),
  };
}

export const grafanaFake = fake('grafana', PORTS.grafanaFake, 'contract: Grafana HTTP API (9.5.0-pre)', {
  credentials: { username: 'admin', password: 'admin' },
});
export const influxdbV2Fake = fake(
  'influxdb2',
  PORTS.influxdbFake,
  'contract: InfluxDB OSS 2.7 API, data proxied to influxd 1.8',
  {
    credentials: { token: OPERATOR_TOKEN },
    extra: { org: 'cdm' },
  },
  ['influxdb'],
);
