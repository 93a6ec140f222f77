import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { parse } from 'yaml';
import { beforeAll, describe, expect, it } from 'vitest';
import { ensureTestTools } from '../../stack/src/test-tools.ts';
import { HAWKBIT_VERSION } from '../../stack/src/services/hawkbit.ts';
import { KEYCLOAK_VERSION } from '../../stack/src/services/keycloak.ts';
import { STEP_CA } from '../../stack/src/services/stepca.ts';
import { TB_VERSION } from '../../stack/src/services/thingsboard.ts';
import { BRIDGE_ENVS as BRIDGES, requiredVariables } from '../../deploy/src/bridge-envs.ts';
import { COMPOSE_REALM, renderComposeRealm } from './realm.ts';

/**
 * The compose file ops run, checked without a Docker engine: Debian's docker-compose validates it,
 * then every bridge gets every variable its configuration requires, pointing at services that
 * exist and are healthy before it starts, and no secret is left without a CHANGE_ME flag.
 */
const dir = path.resolve(import.meta.dirname, '..');
beforeAll(() => ensureTestTools('docker-compose'), 600_000);
const file = path.join(dir, 'docker-compose.yml');
const envExample = path.join(dir, '.env.example');
type Service = {
  image?: string;
  build?: unknown;
  restart?: string;
  environment?: Record<string, string>;
  healthcheck?: unknown;
  depends_on?: Record<string, { condition: string }>;
  network_mode?: string;
  ports?: string[];
  volumes?: string[];
  cap_add?: string[];
};
const compose = parse(fs.readFileSync(file, 'utf8'), { merge: true }) as { services: Record<string, Service> };
const services = compose.services;
const example = Object.fromEntries(
  fs
    .readFileSync(envExample, 'utf8')
    .split('\n')
    .filter((l) => /^[A-Z_][A-Z0-9_]*=/.test(l))
    .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
);
/** Set by the entrypoint at start (docker-entrypoint.sh), so the file may leave it empty. */
const DERIVED = new Set(['STEPCA_ROOT_FINGERPRINT']);

describe('compose/', () => {
  it('is valid for docker-compose (Debian docker-compose, no engine needed)', async () => {
    const r = await promisify(execFile)('docker-compose', ['-f', file, '--env-file', envExample, 'config', '-q']).catch((e: NodeJS.ErrnoException & { stderr?: string }) => {
      if (e.code === 'ENOENT') throw new Error('docker-compose is not installed: apt-get install -y docker-compose');
      throw new Error(`docker-compose config refused compose/docker-compose.yml: ${e.stderr}`);
    });
    expect(r.stderr).toBe('');
  });

  it('gives each bridge every variable its configuration requires, naming hosts that are services', () => {
    for (const [name, shape] of Object.entries(BRIDGES)) {
      const s = services[name];
      expect(s, `service ${name}`).toBeDefined();
      const env = s!.environment ?? {};
      const required = requiredVariables(shape);
      expect(
        required.filter((k) => !(k in env) || (env[k] === '' && !DERIVED.has(k))),
        `${name}: required variables missing`,
      ).toEqual([]);
      expect(
        Object.keys(env).filter((k) => !(k in shape) && !['STEPCA_ROOT_CERT_FILE'].includes(k)),
        `${name}: variables it does not read`,
      ).toEqual([]);
      for (const [k, v] of Object.entries(env)) {
        if (!/^https?:\/\//.test(v) || v.includes('${')) continue;
        const host = new URL(v).hostname;
        // Inside another service's network namespace, loopback is that namespace (enroll-bridge's directory).
        if (host === '127.0.0.1' && s!.network_mode?.startsWith('service:')) {
          expect(s!.depends_on?.['enroll-bridge']?.condition, `${name} waits for enroll-bridge`).toBe('service_healthy');
          continue;
        }
        expect(Object.keys(services), `${name}.${k} points at ${host}`).toContain(host);
        // It waits for what it talks to.
        expect(s!.depends_on?.[host]?.condition, `${name} waits for ${host} to be healthy`).toBe('service_healthy');
      }
    }
  });

  it('has a healthcheck for every service (built images carry theirs in the Dockerfile) and pinned image tags', () => {
    for (const [name, s] of Object.entries(services)) {
      if (s.restart === 'no') continue; // one-shot: others wait for it to complete, not to be healthy
      const dockerfile = (s.build as { dockerfile?: string } | undefined)?.dockerfile;
      const hasCheck = s.healthcheck !== undefined || (dockerfile !== undefined && /^HEALTHCHECK /m.test(fs.readFileSync(path.join(dir, '..', dockerfile), 'utf8')));
      expect(hasCheck, `${name} has a healthcheck`).toBe(true);
      if (s.image) expect(s.image, `${name} pins an exact tag`).toMatch(/:[0-9][\w.-]*$/);
    }
  });

  it('runs the versions the tests run against for real (ThingsBoard, hawkBit, Keycloak, step-ca)', () => {
    const tag = (service: string) => services[service]!.image!.split(':').pop();
    expect({ thingsboard: tag('thingsboard'), hawkbit: tag('hawkbit'), keycloak: tag('keycloak'), 'step-ca': tag('step-ca') }).toEqual({
      thingsboard: TB_VERSION,
      hawkbit: HAWKBIT_VERSION,
      keycloak: KEYCLOAK_VERSION,
      'step-ca': STEP_CA.version.replace(/^v/, ''),
    });
  });

  it('documents every ${VAR} in .env.example, and flags every secret there with CHANGE_ME', () => {
    const used = new Set([...fs.readFileSync(file, 'utf8').matchAll(/\$\{([A-Z_][A-Z0-9_]*)/g)].map((m) => m[1]!));
    expect([...used].filter((v) => !(v in example))).toEqual([]);
    const secrets = Object.keys(example).filter((k) => /PASSWORD|SECRET|TOKEN/.test(k));
    expect(secrets.length).toBeGreaterThan(10);
    expect(secrets.filter((k) => example[k] !== 'CHANGE_ME')).toEqual([]);
  });

  it('refuses to start a bridge with a CHANGE_ME left (entrypoint)', async () => {
    const r = await promisify(execFile)('sh', [path.join(dir, 'docker-entrypoint.sh')], { env: { PATH: process.env.PATH!, INFLUXDB_TOKEN: 'CHANGE_ME', BRIDGE_DIR: '/nonexistent' } }).catch(
      (e: { code: number; stderr: string }) => e,
    );
    expect(r).toMatchObject({ code: 78, stderr: expect.stringContaining('INFLUXDB_TOKEN is still CHANGE_ME') });
  });

  it('builds images as non-root, multi-stage, from pinned bases and packages', () => {
    for (const f of ['Dockerfile', 'wireguard/Dockerfile']) {
      const text = fs.readFileSync(path.join(dir, f), 'utf8');
      for (const from of text.matchAll(/^FROM (\S+)/gm)) expect(from[1], `${f}: ${from[1]}`).toMatch(/:[0-9][\w.-]*$/);
      for (const pkgs of text.matchAll(/apt-get install -y --no-install-recommends ([^\\\n]+)/g)) for (const p of pkgs[1]!.trim().split(/\s+/)) expect(p, `${f}: apt package pinned`).toMatch(/=/);
    }
    const bridge = fs.readFileSync(path.join(dir, 'Dockerfile'), 'utf8');
    expect(bridge.match(/^FROM /gm)).toHaveLength(2);
    expect(bridge).toMatch(/^USER node$/m);
    expect(bridge).toMatch(/^HEALTHCHECK /m);
  });

  it('imports a realm derived from the dev realm: no dev people, secrets as placeholders (regenerate: npx tsx compose/src/realm.ts)', () => {
    expect(fs.readFileSync(COMPOSE_REALM, 'utf8')).toBe(renderComposeRealm());
    const realm = JSON.parse(fs.readFileSync(COMPOSE_REALM, 'utf8')) as { users: { username: string }[]; clients: { clientId: string; secret?: string }[] };
    expect(realm.users.map((u) => u.username).sort()).toEqual(['service-account-cdm-bridge', 'service-account-cdm-tenant-sync']);
    for (const c of realm.clients) if (c.secret !== undefined) expect(c.secret).toMatch(/^\$\{CDM_[A-Z_]+_CLIENT_SECRET\}$/);
    for (const v of ['CDM_TENANT_SYNC_CLIENT_SECRET', 'CDM_BRIDGE_CLIENT_SECRET', 'CDM_PUBLIC_URL']) expect(services.keycloak!.environment).toHaveProperty(v);
  });

  it('starts nothing before the preflight check, which sees every setting of .env.example', () => {
    for (const [name, s] of Object.entries(services)) if (name !== 'preflight') expect(s.depends_on?.preflight?.condition, `${name} waits for preflight`).toBe('service_completed_successfully');
    expect(Object.keys(services.preflight!.environment!).sort()).toEqual(
      Object.keys(example)
        .filter((k) => k.startsWith('CDM_') && !['CDM_BIND', 'CDM_LOG_LEVEL', 'CDM_STEPCA_ROOT_FINGERPRINT', 'CDM_ESCALATION_WEBHOOK_URL', 'CDM_ESCALATE_AFTER'].includes(k)) // optional: may stay empty or default
        .sort(),
    );
  });

  it('preflight refuses a setting left CHANGE_ME or empty (the services that are not bridges would run with it)', async () => {
    const run = (env: Record<string, string>) =>
      promisify(execFile)('sh', [path.join(dir, 'preflight', 'check.sh')], { env: { PATH: process.env.PATH!, ...env } }).then(
        () => 0,
        (e: { code: number; stderr: string }) => e,
      );
    expect(await run({ CDM_PG_SUPERUSER_PASSWORD: 'CHANGE_ME', CDM_GRAFANA_ADMIN_PASSWORD: 's3cret' })).toMatchObject({ code: 78, stderr: expect.stringContaining('CDM_PG_SUPERUSER_PASSWORD') });
    expect(await run({ CDM_HAWKBIT_PASSWORD: '' })).toMatchObject({ code: 78, stderr: expect.stringContaining('CDM_HAWKBIT_PASSWORD') });
    expect(await run({ CDM_HAWKBIT_PASSWORD: 'x7-real' })).toBe(0);
  });

  it('attack: the bridge entrypoint evaluates no part of the environment (a value with a newline and $(...) runs nothing)', async () => {
    const marker = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'cdm-ep-')), 'pwned');
    const r = await promisify(execFile)('sh', [path.join(dir, 'docker-entrypoint.sh')], {
      env: { PATH: process.env.PATH!, EVIL: `x\n$(touch\${IFS}${marker})=y`, TOKEN: 'CHANGE_ME', BRIDGE_DIR: '/nonexistent' },
    }).catch((e: { code: number; stderr: string }) => e);
    expect(r).toMatchObject({ code: 78, stderr: expect.stringContaining('TOKEN is still CHANGE_ME') });
    expect(fs.existsSync(marker)).toBe(false);
  });

  it('least privilege: enroll-bridge sees no CA key, no gateway private key, holds NET_ADMIN for wg; the CA key and provisioner passwords differ', () => {
    const enroll = services['enroll-bridge']!;
    expect(enroll.cap_add).toEqual(['NET_ADMIN']);
    expect(enroll.volumes!.some((v) => v.startsWith('stepca-secrets'))).toBe(false);
    expect(enroll.volumes!.some((v) => /^\.\/terminal(:|\/gateway:)/.test(v))).toBe(false);
    expect(enroll.volumes).toContain('./terminal/gateway.pub:/terminal/gateway.pub:ro');
    expect(services['terminal-gateway']!.volumes).toContain('./terminal/gateway:/terminal/gateway:ro');
    expect(services['step-ca']!.volumes).toContain('stepca-secrets:/home/step/secrets');
    expect(enroll.environment!.STEPCA_PROVISIONER_PASSWORD).toBe('${CDM_STEPCA_PROVISIONER_PASSWORD}');
    expect(services['step-ca']!.environment!.CDM_STEPCA_PASSWORD).toBe('${CDM_STEPCA_PASSWORD}');
    expect(fs.readFileSync(path.join(dir, 'Dockerfile'), 'utf8')).toMatch(/setcap cap_net_admin\+ep \/usr\/bin\/wg/);
    for (const s of Object.values(services))
      for (const p of s.ports ?? []) if (!/^"?0\.0\.0\.0:(51820|8443|8883)/.test(p)) expect(p, 'only the device-facing ports listen on every address').toMatch(/^\$\{CDM_BIND:-127\.0\.0\.1\}:/);
  });
});
