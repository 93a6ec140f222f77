import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { PORTS } from '../paths.ts';
import { logFile, spawnDetached, startOwned, stopDetached, tcpOpen } from '../proc.ts';
import type { Service, StackContext } from '../types.ts';
import { ensureDebian } from './apt.ts';
import { ensureJdk17 } from './java.ts';
import { ensureDatabase, PG_TB } from './postgres.ts';
import { obtainThingsBoard, TB_VERSION, tbHome } from './thingsboard-build.ts';
import { serverCertificate } from './stepca.ts';
import { HOST_FROM_DEVICES } from './wireguard.ts';

const url = `http://127.0.0.1:${PORTS.thingsboard}`;
const SYSADMIN = { username: 'sysadmin@thingsboard.org', password: 'sysadmin' };
const dir = (ctx: StackContext) => path.join(ctx.stateDir, 'thingsboard');
const home = tbHome;
/** Written once the database schema and system data are installed (the install takes minutes). */
const installedStamp = (ctx: StackContext) => path.join(dir(ctx), `schema-installed-${TB_VERSION}`);

/** The environment ThingsBoard runs (and installs its schema) with: loopback only, no outbound calls. */
async function environment(ctx: StackContext, o: { port: number; database: string } = { port: PORTS.thingsboard, database: PG_TB.database }): Promise<Record<string, string>> {
  // Devices reach MQTT/TLS from their network namespaces at the hub's host address (as the
  // enrollment API), so the certificate names that address and the listener binds it.
  const tls = await serverCertificate(ctx, path.join(dir(ctx), 'tls'), HOST_FROM_DEVICES);
  const extra = o.port !== PORTS.thingsboard;
  return {
    SPRING_DATASOURCE_URL: `jdbc:postgresql://127.0.0.1:${PORTS.postgres}/${o.database}`,
    SPRING_DATASOURCE_USERNAME: PG_TB.username,
    SPRING_DATASOURCE_PASSWORD: PG_TB.password,
    DATABASE_TS_TYPE: 'sql',
    TB_QUEUE_TYPE: 'in-memory',
    CACHE_TYPE: 'caffeine',
    HTTP_BIND_ADDRESS: '127.0.0.1',
    HTTP_BIND_PORT: String(o.port),
    // A second instance (benchmarks) serves REST only.
    MQTT_ENABLED: String(!extra),
    MQTT_BIND_ADDRESS: '127.0.0.1',
    MQTT_BIND_PORT: String(PORTS.thingsboardMqtt),
    // Devices authenticate with their step-ca certificate (X.509 device credentials).
    MQTT_SSL_ENABLED: String(!extra),
    MQTT_SSL_BIND_ADDRESS: HOST_FROM_DEVICES,
    MQTT_SSL_BIND_PORT: String(PORTS.thingsboardMqtts),
    MQTT_SSL_CREDENTIALS_TYPE: 'PEM',
    MQTT_SSL_PEM_CERT: tls.cert,
    MQTT_SSL_PEM_KEY: tls.key,
    COAP_ENABLED: 'false',
    COAP_SERVER_ENABLED: 'false',
    LWM2M_ENABLED: 'false',
    SNMP_ENABLED: 'false',
    EDGES_ENABLED: 'false',
    UPDATES_ENABLED: 'false',
    TB_GATEWAY_DASHBOARD_SYNC_ENABLED: 'false',
    IOT_HUB_BASE_URL: 'http://127.0.0.1:9',
    UI_HELP_BASE_URL: 'http://127.0.0.1:9',
    INSTALL_DATA_DIR: path.join(home(ctx), 'data'),
    // Local RocksDB state (calculated fields, entity query cache) per instance under the state
    // dir, not in ~/.rocksdb, where a second instance would find it locked.
    TB_QUEUE_CF_ROCKS_DB_PATH: path.join(dir(ctx), `rocksdb-${o.database}`, 'cf_states'),
    TB_EDQS_ROCKSDB_PATH: path.join(dir(ctx), `rocksdb-${o.database}`, 'edqs'),
  };
}

async function installSchema(ctx: StackContext, javaHome: string, env: Record<string, string>, stamp = installedStamp(ctx)): Promise<void> {
  ctx.log('[up] thingsboard: installing the database schema and system data (about 2 minutes, once)');
  const started = Date.now();
  const tick = setInterval(() => ctx.log(`[up]   ... thingsboard schema install (${Math.round((Date.now() - started) / 1000)} s)`), 30_000);
  fs.mkdirSync(path.dirname(logFile(ctx, 'thingsboard-install')), { recursive: true });
  const log = fs.openSync(logFile(ctx, 'thingsboard-install'), 'a');
  try {
    const code = await new Promise<number | null>((resolve, reject) => {
      const child = spawn(
        path.join(javaHome, 'bin', 'java'),
        [
          '-Xmx1g',
          '-cp',
          path.join(home(ctx), 'thingsboard.jar'),
          '-Dloader.main=org.thingsboard.server.ThingsboardInstallApplication',
          '-Dinstall.load_demo=false',
          '-Dinstall.upgrade=false',
          'org.springframework.boot.loader.launch.PropertiesLauncher',
        ],
        { cwd: dir(ctx), env: { ...process.env, ...env }, stdio: ['ignore', log, log] },
      );
      child.on('error', reject);
      child.on('exit', resolve);
    });
    if (code !== 0) throw new Error(`ThingsBoard schema install failed (exit ${code}); see ${logFile(ctx, 'thingsboard-install')}`);
  } finally {
    clearInterval(tick);
    fs.closeSync(log);
  }
  fs.writeFileSync(stamp, new Date().toISOString());
  ctx.log(`[up] thingsboard: schema installed in ${Math.round((Date.now() - started) / 1000)} s`);
}

/**
 * A second ThingsBoard (same build, REST only) on its own port and database in the stack's
 * PostgreSQL, for benchmarks that must not touch the dev stack's tenants. The schema is installed
 * the first time (minutes) and kept: callers remove what they made. Stopped with the returned
 * function, or when this process exits.
 */
export async function startThingsBoardInstance(ctx: StackContext, o: { port: number; database: string }): Promise<{ url: string; stop: () => Promise<void> }> {
  await ensureDatabase(o.database);
  const javaHome = await ensureJdk17(ctx.log);
  const env = await environment(ctx, o);
  const stamp = path.join(dir(ctx), `schema-installed-${TB_VERSION}-${o.database}`);
  if (!fs.existsSync(stamp)) await installSchema(ctx, javaHome, env, stamp);
  const url = `http://127.0.0.1:${o.port}`;
  const { stop } = await startOwned(`a second ThingsBoard on ${url}`, path.join(javaHome, 'bin', 'java'), ['-Xms256m', '-Xmx1536m', '-jar', path.join(home(ctx), 'thingsboard.jar')], {
    cwd: dir(ctx),
    env,
    ready: () => loginOk(url),
    timeoutMs: 360_000,
  });
  return { url, stop };
}

async function loginOk(base: string): Promise<boolean> {
  try {
    const res = await fetch(`${base}/api/auth/login`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(SYSADMIN), signal: AbortSignal.timeout(5000) });
    return res.status === 200;
  } catch {
    return false;
  }
}

/**
 * Real ThingsBoard CE on loopback: REST on 18090, MQTT on 18893 (plain) and 18894 (TLS, X.509
 * device certificates from the stack's step-ca), PostgreSQL for entities and time series,
 * in-memory queue and caffeine cache (one node).
 */
export { TB_VERSION };

export const thingsboard: Service = {
  name: 'thingsboard',
  real: true,
  version: `CE ${TB_VERSION}`,
  startTimeoutSec: 360,
  // wireguard: the devices' LAN address the MQTT/TLS listener binds exists once the hub is up.
  needs: ['postgres', 'stepca', 'wireguard'],
  async install(ctx) {
    await ensureJdk17(ctx.log);
    await ensureDebian(ctx.log, [{ bin: 'dpkg-deb', pkg: 'dpkg' }]);
    await obtainThingsBoard(ctx);
  },
  async start(ctx) {
    // One that answers but is not healthy (e.g. its listener on an old address) holds the ports.
    await stopDetached(ctx, 'thingsboard', 30_000);
    fs.mkdirSync(dir(ctx), { recursive: true });
    const javaHome = await ensureJdk17(ctx.log);
    const env = await environment(ctx);
    if (!fs.existsSync(installedStamp(ctx))) await installSchema(ctx, javaHome, env);
    spawnDetached(ctx, 'thingsboard', path.join(javaHome, 'bin', 'java'), ['-Xms256m', '-Xmx1536m', '-jar', path.join(home(ctx), 'thingsboard.jar')], {
      cwd: dir(ctx),
      env,
    });
  },
  // A ThingsBoard started before the listener moved to the devices' address is restarted by `up`.
  healthy: async () => (await loginOk(url)) && (await tcpOpen(HOST_FROM_DEVICES, PORTS.thingsboardMqtts)),
  endpoint: (ctx) => ({
    url,
    credentials: { ...SYSADMIN },
    extra: {
      mqttUrl: `mqtt://127.0.0.1:${PORTS.thingsboardMqtt}`,
      mqttsUrl: `mqtts://${HOST_FROM_DEVICES}:${PORTS.thingsboardMqtts}`,
      caChain: path.join(dir(ctx), 'tls', 'ca-chain.crt'),
    },
  }),
  stop: (ctx) => stopDetached(ctx, 'thingsboard', 30_000),
};
