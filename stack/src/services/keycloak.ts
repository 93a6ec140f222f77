import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { PORTS } from '../paths.ts';
import { execFileP, httpOk, spawnDetached, stopDetached } from '../proc.ts';
import type { Service, StackContext } from '../types.ts';
import { ensureDebian } from './apt.ts';
import { findJdk, mavenArtifact } from './java.ts';

export const KEYCLOAK_VERSION = '26.4.7';
const VERSION = KEYCLOAK_VERSION;
const url = `http://127.0.0.1:${PORTS.keycloak}`;
const home = (ctx: StackContext) => path.join(ctx.stateDir, `keycloak-${VERSION}`);
const realmFile = (ctx: StackContext) => path.join(ctx.repoDir, 'stack', 'keycloak', 'cdm-realm.json');
const realmSha = (ctx: StackContext) =>
  crypto
    .createHash('sha256')
    .update(fs.readFileSync(realmFile(ctx)))
    .digest('hex');
/** The realm file the running Keycloak imported: a changed file means a fresh database and import. */
const stampFile = (ctx: StackContext) => path.join(home(ctx), 'realm.sha256');
const stampCurrent = (ctx: StackContext) => fs.existsSync(stampFile(ctx)) && fs.readFileSync(stampFile(ctx), 'utf8') === realmSha(ctx);
const tarball = () => mavenArtifact(() => {}, { group: 'org.keycloak', artifact: 'keycloak-quarkus-dist', version: VERSION, type: 'tar.gz' });

/** Keycloak in dev mode (H2 file database under the state dir), realm `cdm` imported on first start. */
export const keycloak: Service = {
  name: 'keycloak',
  real: true,
  version: VERSION,
  startTimeoutSec: 180,
  async install(ctx) {
    // Maven fetches from Maven Central; Keycloak 26 needs a JDK >= 17 (Debian 12 ships 17).
    await ensureDebian(ctx.log, [{ bin: 'mvn', pkg: 'maven' }]);
    try {
      findJdk(17);
    } catch {
      await ensureDebian(ctx.log, [{ bin: '/usr/lib/jvm/java-17-openjdk-amd64/bin/java', pkg: 'openjdk-17-jdk-headless' }]);
    }
    await mavenArtifact(ctx.log, { group: 'org.keycloak', artifact: 'keycloak-quarkus-dist', version: VERSION, type: 'tar.gz' });
  },
  async start(ctx) {
    // Unpacked per state dir (1 s) so its H2 data lives with the rest of the stack's state.
    if (!fs.existsSync(path.join(home(ctx), 'bin', 'kc.sh'))) {
      fs.mkdirSync(ctx.stateDir, { recursive: true });
      await execFileP('tar', ['xzf', await tarball(), '-C', ctx.stateDir]);
    }
    if (!stampCurrent(ctx)) {
      // --import-realm skips a realm that exists, so a changed realm file needs an empty database.
      await stopDetached(ctx, 'keycloak', 30_000);
      fs.rmSync(path.join(home(ctx), 'data', 'h2'), { recursive: true, force: true });
      ctx.log('[keycloak] realm file changed: fresh database, realm imported again');
    }
    const importDir = path.join(home(ctx), 'data', 'import');
    fs.mkdirSync(importDir, { recursive: true });
    fs.copyFileSync(realmFile(ctx), path.join(importDir, 'cdm-realm.json'));
    fs.writeFileSync(stampFile(ctx), realmSha(ctx));
    // Keycloak 26 supports JDK 21+ (17 deprecated): prefer the newest JDK on the machine.
    const javaHome = findJdk(17);
    spawnDetached(ctx, 'keycloak', path.join(home(ctx), 'bin', 'kc.sh'), ['start-dev', '--http-host=127.0.0.1', `--http-port=${PORTS.keycloak}`, '--import-realm'], {
      env: {
        JAVA_HOME: javaHome,
        PATH: `${javaHome}/bin:${process.env.PATH}`,
        KC_BOOTSTRAP_ADMIN_USERNAME: 'admin',
        KC_BOOTSTRAP_ADMIN_PASSWORD: 'admin',
        JAVA_OPTS_APPEND: '-Xms256m -Xmx768m',
      },
    });
  },
  healthy: async (ctx) => stampCurrent(ctx) && (await httpOk(`${url}/realms/cdm/.well-known/openid-configuration`, (s) => s === 200)),
  endpoint: () => ({
    url,
    credentials: { username: 'admin', password: 'admin' },
    extra: {
      realm: 'cdm',
      tenantSyncClientId: 'cdm-tenant-sync',
      tenantSyncClientSecret: 'cdm-tenant-sync-dev-secret',
      bridgeClientId: 'cdm-bridge',
      bridgeClientSecret: 'cdm-bridge-dev-secret',
      terminalClientId: 'cdm-terminal',
      users: 'tenant /tenants/acme: alice/alice-dev (operators), oscar/oscar-dev (oncall), adam/adam-dev (admins); rita/rita-dev (/platform/release-managers)',
    },
  }),
  stop: (ctx) => stopDetached(ctx, 'keycloak', 30_000),
};
