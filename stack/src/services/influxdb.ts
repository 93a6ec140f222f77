import fs from 'node:fs';
import path from 'node:path';
import { PORTS } from '../paths.ts';
import { httpOk, spawnDetached, stopDetached } from '../proc.ts';
import type { Service, StackContext } from '../types.ts';
import { binDir, ensureGoBinary } from './gobuild.ts';

const INFLUXD = { name: 'influxd', module: 'github.com/influxdata/influxdb/cmd/influxd', version: 'v1.8.10' };
const url = `http://127.0.0.1:${PORTS.influxdb}`;
const dir = (ctx: StackContext) => path.join(ctx.stateDir, 'influxdb');

/**
 * Real InfluxDB 1.8 serving the v2 write and Flux query API. Authentication is off on this
 * loopback-only dev instance; the InfluxDB 2 management fake in front of it checks tokens.
 */
function config(ctx: StackContext): string {
  const d = dir(ctx);
  return `reporting-disabled = true
bind-address = "127.0.0.1:${PORTS.influxdb + 2}"
[meta]
  dir = "${d}/meta"
[data]
  dir = "${d}/data"
  wal-dir = "${d}/wal"
  query-log-enabled = false
  # Write a shard's cache down to compressed TSM files after 15 s without writes (default 10 min):
  # the benchmarks then measure the bytes a tier takes on disk, not its write-ahead log.
  cache-snapshot-write-cold-duration = "15s"
[http]
  enabled = true
  bind-address = "127.0.0.1:${PORTS.influxdb}"
  auth-enabled = false
  flux-enabled = true
  log-enabled = false
[monitor]
  store-enabled = false
[continuous_queries]
  enabled = false
`;
}

export const influxdb: Service = {
  name: 'influxdb',
  real: true,
  version: `influxd ${INFLUXD.version}`,
  // influxd opens every shard before it answers: 30 s was not enough here once the state held the
  // databases of a few full test runs (204 of them, 268 MB).
  startTimeoutSec: 180,
  async install(ctx) {
    await ensureGoBinary(ctx, INFLUXD);
  },
  async start(ctx) {
    fs.mkdirSync(dir(ctx), { recursive: true });
    const conf = path.join(dir(ctx), 'influxdb.conf');
    fs.writeFileSync(conf, config(ctx));
    spawnDetached(ctx, 'influxdb', path.join(binDir(ctx), 'influxd'), ['run', '-config', conf]);
  },
  healthy: () => httpOk(`${url}/ping`, (s) => s === 204),
  endpoint: () => ({ url, extra: { api: 'v2 write/query (Flux); 1.x /query for CREATE DATABASE', auth: 'disabled (loopback dev instance)' } }),
  stop: (ctx) => stopDetached(ctx, 'influxdb'),
};
