import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { PORTS } from '../paths.ts';
import { execFileP, logFile, spawnDetached, startOwned, stopDetached } from '../proc.ts';
import type { Service, StackContext } from '../types.ts';
import { ensureDebian } from './apt.ts';
import { ensureJdk17 } from './java.ts';
import { ensureDatabase, PG_TB } from './postgres.ts';
import { buildFromSource, builtFromSource, type SourceBuild } from './source-build.ts';
import { serverCertificate } from './stepca.ts';

export const TB_VERSION = '4.3.1.3';
const url = `http://127.0.0.1:${PORTS.thingsboard}`;
const SYSADMIN = { username: 'sysadmin@thingsboard.org', password: 'sysadmin' };
const dir = (ctx: StackContext) => path.join(ctx.stateDir, 'thingsboard');
const home = (ctx: StackContext) => path.join(ctx.cacheDir, 'upstreams', `thingsboard-${TB_VERSION}`);
/** Written once the database schema and system data are installed (the install takes minutes). */
const installedStamp = (ctx: StackContext) => path.join(dir(ctx), `schema-installed-${TB_VERSION}`);

const LANGCHAIN = (artifact: string) => `        <dependency>
            <groupId>dev.langchain4j</groupId>
            <artifactId>${artifact}</artifactId>
        </dependency>
`;
const CHAT_MODEL = (config: string) => `public ChatModel configureChatModel(${config} chatModelConfig)`;
const AI_FILE = 'application/src/main/java/org/thingsboard/server/service/ai/Langchain4jChatModelConfigurerImpl.java';

/**
 * ThingsBoard CE 4.3.1.3 from its release tag (thingsboard/thingsboard 10535161), the server
 * without its web UI (the UI build downloads Node; the REST API, MQTT and rule engine are whole).
 * What the Maven Central these machines reach does not serve is replaced:
 * - ThingsBoard's langchain4j fork (1.16.1-TB1) by upstream dev.langchain4j 1.16.3; its Google
 *   GenAI and OpenAI-official modules are not served, so the three AI chat providers built on them
 *   (Gemini, Vertex Gemini, GitHub Models) answer "not in this build" — cdm uses no AI node;
 * - three Spring artifacts at the nearest served patch level (pinned in dependencyManagement);
 * - tbel 1.2.9 and winsw 1.8 (properties); the Gradle packaging step (downloads Gradle) is off;
 * - the application module's tests are not compiled (they need ThingsBoard's unserved Java client).
 */
export const thingsboardBuild: SourceBuild = {
  name: 'thingsboard',
  version: TB_VERSION,
  archive: { file: 'thingsboard-4.3.1.3-src.tar.gz', sha256: '830e5792eed49ade5e729ffc48641d3a7e4d2778de7e57bb3fa089fbb1a6a62d' },
  edits: [
    { file: 'pom.xml', replace: '<langchain4j.version>1.16.1-TB1</langchain4j.version>', with: '<langchain4j.version>1.16.3</langchain4j.version>' },
    ...['pom.xml', 'application/pom.xml', 'common/data/pom.xml', 'rule-engine/rule-engine-api/pom.xml', 'rule-engine/rule-engine-components/pom.xml'].map((file) => ({
      file,
      replace: '<groupId>org.thingsboard.langchain4j</groupId>',
      with: '<groupId>dev.langchain4j</groupId>',
      count: file === 'application/pom.xml' ? 8 : 1,
    })),
    { file: 'application/pom.xml', replace: LANGCHAIN('langchain4j-google-genai'), with: '' },
    { file: 'application/pom.xml', replace: LANGCHAIN('langchain4j-open-ai-official'), with: '' },
    { file: AI_FILE, replace: 'import dev.langchain4j.model.google.genai.GoogleGenAiChatModel;\n', with: '' },
    { file: AI_FILE, replace: 'import dev.langchain4j.model.openaiofficial.OpenAiOfficialChatModel;\n', with: '' },
    ...['GoogleAiGeminiChatModelConfig', 'GoogleVertexAiGeminiChatModelConfig', 'GitHubModelsChatModelConfig'].map((c) => ({
      file: AI_FILE,
      method: CHAT_MODEL(c),
      body: 'throw new UnsupportedOperationException("this AI provider is not in this ThingsBoard build (cdm local stack)");',
    })),
    // The release archive has no .git (git archive): build info without a commit id (unused at run time).
    { file: 'pom.xml', replace: '<commitIdGenerationMode>full</commitIdGenerationMode>', with: '<commitIdGenerationMode>full</commitIdGenerationMode>\n                        <failOnNoGitDirectory>false</failOnNoGitDirectory>' },
    // Its tests need ThingsBoard's Java REST client 4.3.1.3, which is not served: not compiled.
    {
      file: 'application/pom.xml',
      replace: '        <dependency>\n            <groupId>org.thingsboard.client</groupId>\n            <artifactId>thingsboard-ce-client</artifactId>\n            <scope>test</scope>\n        </dependency>\n',
      with: '',
    },
    { file: 'application/pom.xml', replace: '<main.dir>${basedir}/..</main.dir>', with: '<main.dir>${basedir}/..</main.dir>\n        <maven.test.skip>true</maven.test.skip>' },
    {
      file: 'pom.xml',
      replace: '    <dependencyManagement>\n        <dependencies>\n',
      with: `    <dependencyManagement>
        <dependencies>
            <dependency><groupId>org.springframework.integration</groupId><artifactId>spring-integration-redis</artifactId><version>6.5.5</version></dependency>
            <dependency><groupId>org.springframework.boot</groupId><artifactId>spring-boot-starter-websocket</artifactId><version>3.5.14</version></dependency>
            <dependency><groupId>org.springframework.boot</groupId><artifactId>spring-boot-starter-freemarker</artifactId><version>3.5.14</version></dependency>
`,
    },
  ],
  mvnArgs: [
    '-pl', 'application', '-am', 'package', '-DskipTests', '-Dlicense.skip=true',
    '-Dskip.installyarn=true', '-Dskip.yarn=true', '-Dpkg.package.phase=none', '-Dtbel.version=1.2.9', '-Dwinsw.version=1.8',
  ],
  jdkMajor: 17,
  outputs: { 'application/target/thingsboard-4.3.1.3-boot.jar': 'thingsboard.jar', 'application/target/data': 'data' },
};

const RELEASE_DEB = `https://github.com/thingsboard/thingsboard/releases/download/v${TB_VERSION}/thingsboard-${TB_VERSION}.deb`;

/** The released Debian package (what a user on the internet installs): its jar and data folder. */
async function fromRelease(ctx: StackContext): Promise<string | undefined> {
  const out = home(ctx);
  if (fs.existsSync(path.join(out, 'release.stamp'))) return out;
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), 15_000);
  let res: Response;
  try {
    res = await fetch(RELEASE_DEB, { signal: abort.signal });
  } catch (err) {
    ctx.log(`[install] thingsboard: release ${RELEASE_DEB} not reachable (${(err as Error).message}); building from source`);
    return undefined;
  } finally {
    clearTimeout(timer);
  }
  if (!res.ok || !res.body) {
    ctx.log(`[install] thingsboard: release ${RELEASE_DEB} answered ${res.status}; building from source`);
    return undefined;
  }
  ctx.log(`[install] thingsboard: downloading ${RELEASE_DEB}`);
  const tmp = fs.mkdtempSync(path.join(ctx.cacheDir, 'tb-deb-'));
  try {
    const deb = path.join(tmp, 'tb.deb');
    await pipeline(Readable.fromWeb(res.body as import('node:stream/web').ReadableStream), fs.createWriteStream(deb));
    await execFileP('dpkg-deb', ['-x', deb, path.join(tmp, 'x')]);
    const share = path.join(tmp, 'x', 'usr', 'share', 'thingsboard');
    fs.rmSync(out, { recursive: true, force: true });
    fs.mkdirSync(out, { recursive: true });
    fs.copyFileSync(path.join(share, 'bin', 'thingsboard.jar'), path.join(out, 'thingsboard.jar'));
    fs.cpSync(path.join(share, 'data'), path.join(out, 'data'), { recursive: true });
    fs.writeFileSync(path.join(out, 'release.stamp'), RELEASE_DEB);
    return out;
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

/** The environment ThingsBoard runs (and installs its schema) with: loopback only, no outbound calls. */
async function environment(ctx: StackContext, o: { port: number; database: string } = { port: PORTS.thingsboard, database: PG_TB.database }): Promise<Record<string, string>> {
  const tls = await serverCertificate(ctx, path.join(dir(ctx), 'tls'));
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
    MQTT_SSL_BIND_ADDRESS: '127.0.0.1',
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
        ['-Xmx1g', '-cp', path.join(home(ctx), 'thingsboard.jar'), '-Dloader.main=org.thingsboard.server.ThingsboardInstallApplication',
          '-Dinstall.load_demo=false', '-Dinstall.upgrade=false', 'org.springframework.boot.loader.launch.PropertiesLauncher'],
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
export const thingsboard: Service = {
  name: 'thingsboard',
  real: true,
  version: `CE ${TB_VERSION}`,
  startTimeoutSec: 360,
  needs: ['postgres', 'stepca'],
  async install(ctx) {
    await ensureJdk17(ctx.log);
    await ensureDebian(ctx.log, [{ bin: 'dpkg-deb', pkg: 'dpkg' }]);
    if (builtFromSource(ctx, thingsboardBuild) || (await fromRelease(ctx))) return;
    await buildFromSource(ctx, thingsboardBuild);
  },
  async start(ctx) {
    fs.mkdirSync(dir(ctx), { recursive: true });
    const javaHome = await ensureJdk17(ctx.log);
    const env = await environment(ctx);
    if (!fs.existsSync(installedStamp(ctx))) await installSchema(ctx, javaHome, env);
    spawnDetached(ctx, 'thingsboard', path.join(javaHome, 'bin', 'java'), ['-Xms256m', '-Xmx1536m', '-jar', path.join(home(ctx), 'thingsboard.jar')], {
      cwd: dir(ctx),
      env,
    });
  },
  healthy: () => loginOk(url),
  endpoint: (ctx) => ({
    url,
    credentials: { ...SYSADMIN },
    extra: {
      mqttUrl: `mqtt://127.0.0.1:${PORTS.thingsboardMqtt}`,
      mqttsUrl: `mqtts://127.0.0.1:${PORTS.thingsboardMqtts}`,
      caChain: path.join(dir(ctx), 'tls', 'ca-chain.crt'),
    },
  }),
  stop: (ctx) => stopDetached(ctx, 'thingsboard', 30_000),
};
