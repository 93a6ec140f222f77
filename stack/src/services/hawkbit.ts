import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PORTS } from '../paths.ts';
import { spawnDetached, startOwned, stopDetached } from '../proc.ts';
import type { Service, StackContext } from '../types.ts';
import { ensureJdk17, mavenArtifact } from './java.ts';
import { buildFromSource, builtFromSource, type SourceBuild } from './source-build.ts';

export const HAWKBIT_VERSION = '1.0.4';
const url = `http://127.0.0.1:${PORTS.hawkbit}`;
const dir = (ctx: StackContext) => path.join(ctx.stateDir, 'hawkbit');
const jarName = 'hawkbit-update-server.jar';

/**
 * hawkBit 1.0.4 from its release tag (eclipse-hawkbit/hawkbit a717cb5f), the update server module
 * only. Four versions the root pom asks for are not served by the Maven Central these machines
 * reach; the nearest served ones replace them (patch level of Spring Boot, Spring Cloud, the
 * RabbitMQ HTTP client — DMF is off — and Spring AI, used by the MCP module only).
 */
export const hawkbitBuild: SourceBuild = {
  name: 'hawkbit',
  version: HAWKBIT_VERSION,
  archive: { file: 'hawkbit-1.0.4-src.tar.gz', sha256: 'ab411e8e76fe7581cdf457c0127c425e9596829319464e857459709b4ec85cb2' },
  edits: [
    {
      file: 'pom.xml',
      replace: '<artifactId>spring-boot-starter-parent</artifactId>\n        <version>3.5.15</version>',
      with: '<artifactId>spring-boot-starter-parent</artifactId>\n        <version>3.5.7</version>',
    },
    { file: 'pom.xml', replace: '<spring.boot.version>3.5.15</spring.boot.version>', with: '<spring.boot.version>3.5.7</spring.boot.version>' },
    { file: 'pom.xml', replace: '<spring.cloud.version>2025.0.3</spring.cloud.version>', with: '<spring.cloud.version>2025.0.0</spring.cloud.version>' },
    { file: 'pom.xml', replace: '<spring-ai.version>1.1.8</spring-ai.version>', with: '<spring-ai.version>1.1.2</spring-ai.version>' },
    { file: 'pom.xml', replace: '<rabbitmq.http-client.version>5.5.0</rabbitmq.http-client.version>', with: '<rabbitmq.http-client.version>5.4.0</rabbitmq.http-client.version>' },
  ],
  mvnArgs: ['-pl', 'hawkbit-monolith/hawkbit-update-server', '-am', 'package', '-DskipTests', '-Dspotless.skip=true', '-Dlicense.skip=true'],
  jdkMajor: 17,
  outputs: { 'hawkbit-monolith/hawkbit-update-server/target/hawkbit-update-server-0-SNAPSHOT.jar': jarName },
};

/**
 * The released update server from Maven Central where it is served (what a user on the internet
 * gets), else built from the pinned source archive. Returns the jar's path.
 */
async function obtainJar(ctx: StackContext): Promise<string> {
  const built = builtFromSource(ctx, hawkbitBuild);
  if (built) return path.join(built, jarName);
  try {
    return await mavenArtifact(() => {}, { group: 'org.eclipse.hawkbit', artifact: 'hawkbit-update-server', version: HAWKBIT_VERSION });
  } catch {
    ctx.log(`[install] hawkbit: org.eclipse.hawkbit:hawkbit-update-server:${HAWKBIT_VERSION} is not served by this Maven Central; building it from source`);
  }
  return path.join(await buildFromSource(ctx, hawkbitBuild), jarName);
}

/** Remembers which jar install() settled on, so start() does not ask Maven Central again. */
const jarRef = (ctx: StackContext) => path.join(ctx.cacheDir, 'upstreams', `hawkbit-${HAWKBIT_VERSION}.jar-path`);

/**
 * Real hawkBit update server (management API, DDI, rollout scheduler) on loopback, data in an H2
 * file database under the state dir so a restart keeps targets, rollouts and artifacts.
 */
export const hawkbit: Service = {
  name: 'hawkbit',
  real: true,
  version: HAWKBIT_VERSION,
  startTimeoutSec: 240,
  async install(ctx) {
    await ensureJdk17(ctx.log);
    const jar = await obtainJar(ctx);
    fs.mkdirSync(path.dirname(jarRef(ctx)), { recursive: true });
    fs.writeFileSync(jarRef(ctx), jar);
  },
  async start(ctx) {
    const d = dir(ctx);
    fs.mkdirSync(d, { recursive: true });
    const { cmd, args } = await command(ctx, PORTS.hawkbit, `jdbc:h2:file:${path.join(d, 'db', 'hawkbit')};MODE=LEGACY`, path.join(d, 'artifacts'));
    spawnDetached(ctx, 'hawkbit', cmd, args, { cwd: d });
  },
  // An authenticated management call: up, migrated, and the development user accepted.
  healthy: () => httpOkAuthed(`${url}/rest/v1/system/configs`),
  endpoint: () => ({ url, credentials: { username: 'admin', password: 'admin' }, extra: { tenant: 'DEFAULT' } }),
  stop: (ctx) => stopDetached(ctx, 'hawkbit', 30_000),
};

async function command(ctx: StackContext, port: number, datasource: string, artifacts: string): Promise<{ cmd: string; args: string[] }> {
  if (!fs.existsSync(jarRef(ctx))) await hawkbit.install(ctx);
  const jar = fs.readFileSync(jarRef(ctx), 'utf8').trim();
  const javaHome = await ensureJdk17(ctx.log);
  return {
    cmd: path.join(javaHome, 'bin', 'java'),
    args: ['-Xms128m', '-Xmx768m', '-jar', jar, '--server.address=127.0.0.1', `--server.port=${port}`, `--spring.datasource.url=${datasource}`, `--org.eclipse.hawkbit.artifact.fs.path=${artifacts}`],
  };
}

/**
 * A second, empty hawkBit from the same jar (in-memory database) on its own port, for benchmarks
 * that must start from a clean server. Stopped with the returned function (or when this process exits).
 */
export async function startFreshHawkbit(
  ctx: StackContext,
  port: number,
  o: { env?: Record<string, string>; credentials?: { username: string; password: string } } = {},
): Promise<{ url: string; stop: () => Promise<void> }> {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'cdm-hawkbit-'));
  const { cmd, args } = await command(ctx, port, `jdbc:h2:mem:fresh${port};MODE=LEGACY;DB_CLOSE_DELAY=-1`, path.join(work, 'artifacts'));
  const url = `http://127.0.0.1:${port}`;
  const { stop } = await startOwned(`a fresh hawkBit on ${url}`, cmd, args, {
    cwd: work,
    env: o.env,
    ready: () => httpOkAuthed(`${url}/rest/v1/system/configs`, o.credentials),
    timeoutMs: 240_000,
    onStop: () => fs.rmSync(work, { recursive: true, force: true }),
  });
  return { url, stop };
}

async function httpOkAuthed(u: string, c = { username: 'admin', password: 'admin' }): Promise<boolean> {
  try {
    const res = await fetch(u, { headers: { Authorization: `Basic ${Buffer.from(`${c.username}:${c.password}`).toString('base64')}` }, signal: AbortSignal.timeout(3000) });
    return res.status === 200;
  } catch {
    return false;
  }
}
