import { execFile, execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import https from 'node:https';
import fs from 'node:fs';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { HawkbitClient, ThingsBoardClient, createLogger, loadConfig } from '@cdm/common';
import { composeEnrollBridge, createApi, createApiServer, createClaim, enrollBridgeConfig, registerFactoryCa } from '@cdm/enroll-bridge';
import { HOST_FROM_DEVICES, addDeviceNs, bridgeEnv, defaultContext, removeDeviceNs, thingsboardTenant } from '@cdm/stack';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { makeFactoryPki } from '../../enroll-bridge/src/factory.test-helpers.ts';

/**
 * device/enroll.sh itself, in its own network namespace on the hub's LAN as a device would run it,
 * against the enrollment API over TLS (certificate from the real step-ca), the real WireGuard hub
 * and the ThingsBoard and hawkBit contract fakes.
 */
const stack = inject('stack');
const ctx = defaultContext();
const run = crypto.randomBytes(3).toString('hex');
const tenant = `e2e-sh-${run}`;
const serial = `SN${run.toUpperCase()}0042`;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cdm-enroll-sh-'));
const script = path.resolve(import.meta.dirname, '..', 'enroll.sh');
const exec = promisify(execFile);
const DEV = 201;
const ns = `cdm-dev-${DEV}`;

fs.mkdirSync(path.join(tmp, 'tokens'));
fs.writeFileSync(path.join(tmp, 'tokens', `${tenant}.json`), JSON.stringify({ cdmId: tenant, org: 'cdm', bucket: `cdm-${tenant}`, authId: 'a', token: 'tok' }));
const config = loadConfig(enrollBridgeConfig, { ...bridgeEnv(stack, ctx.stateDir)['enroll-bridge'], DATA_DIR: path.join(tmp, 'data'), TENANT_TOKEN_DIR: path.join(tmp, 'tokens'), LOG_LEVEL: 'warn' });
const bridge = await composeEnrollBridge(config, createLogger('enroll-sh-e2e', { level: 'silent' }));
const tb = new ThingsBoardClient({ baseURL: config.THINGSBOARD_URL, username: config.THINGSBOARD_USERNAME, password: config.THINGSBOARD_PASSWORD });
const hawkbit = new HawkbitClient({ baseURL: config.HAWKBIT_URL, username: config.HAWKBIT_USERNAME, password: config.HAWKBIT_PASSWORD });
let server: ReturnType<typeof createApiServer>;
let hostile: https.Server;
let hostileRoot = '';
let hostileAnswer: Record<string, unknown> = {};
let admin: ThingsBoardClient;
const etc = path.join(tmp, 'etc');
const state = path.join(tmp, 'state');

function sh(args: string[], env: Record<string, string> = {}, netns = ns) {
  return exec('ip', ['netns', 'exec', netns, 'bash', script, ...args], { env: { PATH: process.env.PATH!, CDM_ETC: etc, CDM_STATE: state, ...env }, timeout: 120_000 }).then(
    (r) => ({ code: 0, out: r.stdout + r.stderr }),
    (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, out: e.stdout + e.stderr }),
  );
}

beforeAll(async () => {
  // The bridge's own TLS certificate from step-ca, for the address devices reach it on.
  const key = path.join(tmp, 'api.key');
  const csr = execFileSync(
    'openssl',
    ['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', key, '-subj', `/CN=${HOST_FROM_DEVICES}`, '-addext', `subjectAltName=IP:${HOST_FROM_DEVICES}`],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] },
  );
  const cert = await bridge.clients.stepca.sign(csr, HOST_FROM_DEVICES, { sans: [HOST_FROM_DEVICES] });
  const app = createApi({ enroller: bridge.enroller, logger: createLogger('api', { level: 'silent' }), rootPem: bridge.clients.stepca.rootPem, perAddressPerMinute: 100, perClaimPerMinute: 100 });
  server = createApiServer(app, { cert: [cert.crt, ...cert.certChain.slice(1)].join('\n'), key: fs.readFileSync(key), rootPem: bridge.clients.stepca.rootPem });
  await new Promise<void>((r) => server.listen(0, HOST_FROM_DEVICES, r));
  // A hostile bridge on the same address, with a certificate that chains to the pinned root (a
  // compromised bridge, or one a network attacker got a certificate for): its answers are set per test.
  hostile = https.createServer({ cert: [cert.crt, ...cert.certChain.slice(1)].join('\n'), key: fs.readFileSync(key) }, (req, res) => {
    if (req.url === '/v1/root.pem') return void res.end(hostileRoot);
    req.resume();
    req.on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(hostileAnswer)));
  });
  await new Promise<void>((r) => hostile.listen(0, HOST_FROM_DEVICES, r));

  ({ as: admin } = await thingsboardTenant(tb, tenant));

  await addDeviceNs(DEV);
  fs.mkdirSync(etc, { recursive: true });
  fs.writeFileSync(path.join(tmp, 'product_serial'), `${serial}\n`);
  fs.writeFileSync(
    path.join(etc, 'device-config'),
    [
      `BRIDGE_API_URL=https://${HOST_FROM_DEVICES}:${(server.address() as AddressInfo).port}`,
      `ROOT_FINGERPRINT=${stack.stepca!.extra!.rootFingerprint}`,
      `SERIAL_SOURCE=${path.join(tmp, 'product_serial')}`,
      'ATTEMPTS=2',
      '',
    ].join('\n'),
  );
  fs.writeFileSync(path.join(etc, 'claim'), (await createClaim(bridge.store, { tenantId: tenant, uses: 1, expires: '1h' })).token);
});

afterAll(async () => {
  await removeDeviceNs(DEV);
  await removeDeviceNs(DEV + 1);
  await bridge.enroller.decommission(serial).catch(() => undefined);
  await bridge.enroller.decommission(`${serial}F`).catch(() => undefined);
  server?.close();
  hostile?.close();
  await bridge.store.close();
});

describe('device/enroll.sh in a device namespace', () => {
  it('refuses a CA root whose fingerprint does not match the image', async () => {
    const r = await sh(['enroll'], { CDM_CONFIG: writeConfig({ ROOT_FINGERPRINT: 'a'.repeat(64) }) });
    expect(r.code).toBe(1);
    expect(r.out).toContain('does not match ROOT_FINGERPRINT: refusing to trust it');
    expect(fs.existsSync(path.join(state, 'root_ca.crt'))).toBe(false);
    expect(await bridge.store.getDevice(serial)).toBeUndefined();
  });

  it('enrolls with no human step: chain verifies, tunnel pings the hub, device in ThingsBoard and hawkBit', async () => {
    const r = await sh(['enroll']);
    expect(r.code, r.out).toBe(0);
    expect(r.out).toContain(`enrolled ${serial}`);
    expect(execFileSync('openssl', ['verify', '-CAfile', stack.stepca!.extra!.rootCert!, '-untrusted', path.join(state, 'device.crt'), path.join(state, 'device.crt')]).toString()).toContain(': OK');
    expect(fs.statSync(path.join(state, 'device.key')).mode & 0o777).toBe(0o600);
    const ping = execFileSync('ip', ['netns', 'exec', ns, 'ping', '-c', '3', '-W', '2', '10.77.0.1']).toString();
    expect(ping).toMatch(/3 received/);
    const d = await admin.findDeviceByName(serial);
    expect(d?.type).toBe('cdm-x509');
    expect((await hawkbit.getTarget(serial))?.controllerId).toBe(serial);
    // The private keys never left the device: the bridge knows only the public halves.
    const rec = (await bridge.store.getDevice(serial))!;
    expect(rec.wgPublicKey).toBe(
      execFileSync('wg', ['pubkey'], { input: fs.readFileSync(path.join(state, 'wg.key')) })
        .toString()
        .trim(),
    );
  });

  it('keeps exactly the pinned root and nothing else, and deletes the used claim', async () => {
    const kept = fs.readFileSync(path.join(state, 'root_ca.crt'), 'utf8');
    expect(kept.match(/BEGIN CERTIFICATE/g)).toHaveLength(1);
    expect(new crypto.X509Certificate(kept).fingerprint256.replace(/:/g, '').toLowerCase()).toBe(stack.stepca!.extra!.rootFingerprint);
    expect(fs.existsSync(path.join(etc, 'claim'))).toBe(false);
  });

  it('attack: a hostile bridge cannot plant a second trusted CA or write config through its answer', async () => {
    const { stdout: stranger } = await exec('openssl', [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-keyout',
      '/dev/null',
      '-subj',
      '/CN=attacker CA',
      '-days',
      '1',
    ]);
    // The pinned root first (its fingerprint matches), then the attacker's CA.
    hostileRoot = `${bridge.clients.stepca.rootPem}\n${stranger}`;
    const good = {
      deviceId: '',
      tenantId: tenant,
      certificate: { chain: 'x', serial: '1', notAfter: '2030-01-01T00:00:00Z' },
      wireguard: { address: '10.77.9.9/32', serverPublicKey: 'A'.repeat(43) + '=', endpoint: '10.214.0.1:51820', allowedIps: ['10.77.0.0/16'] },
      hawkbit: { controllerId: '', securityToken: 'abcdefgh12' },
      influxdb: { org: 'cdm', bucket: 'b', token: 't' },
    };
    const key = `ssh-ed25519 ${'A'.repeat(68)}`;
    const cases: [string, (a: typeof good & Record<string, unknown>) => void, string][] = [
      [
        'a second, unrestricted authorized_keys line',
        (a) => Object.assign(a, { terminal: { from: '10.77.0.1', authorizedKey: `${key}\nssh-ed25519 ${'B'.repeat(68)} root-for-anyone` } }),
        'bad terminal.authorizedKey',
      ],
      ['options smuggled into the key', (a) => Object.assign(a, { terminal: { from: '10.77.0.1" ,command="sh', authorizedKey: key } }), 'bad terminal.from'],
      ['a route for the whole internet into the tunnel', (a) => (a.wireguard.allowedIps = ['0.0.0.0/0']), 'bad wireguard.allowedIps'],
      ['an option injected into the WireGuard configuration', (a) => (a.wireguard.endpoint = '10.214.0.1:51820\nPostUp = id'), 'bad wireguard.endpoint'],
      ['an answer for another device', (a) => (a.deviceId = 'someone-else'), 'the answer is for another device'],
    ];
    for (const [name, spoil, reason] of cases) {
      const hState = fs.mkdtempSync(path.join(tmp, 'hostile-'));
      fs.writeFileSync(path.join(hState, 'claim'), 'cdm_claim_x');
      const answer = structuredClone(good) as typeof good & Record<string, unknown>;
      answer.deviceId = serial;
      spoil(answer);
      hostileAnswer = answer;
      const conf = writeConfig({
        BRIDGE_API_URL: `https://${HOST_FROM_DEVICES}:${(hostile.address() as AddressInfo).port}`,
        AUTHORIZED_KEYS_FILE: path.join(hState, 'authorized_keys'),
        CLAIM_FILE: path.join(hState, 'claim'),
        ATTEMPTS: '1',
      });
      const r = await sh(['enroll'], { CDM_CONFIG: conf, CDM_STATE: hState });
      expect(r.code, `${name}: ${r.out}`).toBe(1);
      expect(r.out, name).toContain(reason);
      expect(fs.existsSync(path.join(hState, 'authorized_keys')), name).toBe(false);
      expect(fs.existsSync(path.join(hState, 'enrollment.json')), name).toBe(false);
      // Only the pinned root was kept: the attacker's CA that came after it in root.pem was dropped.
      expect(fs.readFileSync(path.join(hState, 'root_ca.crt'), 'utf8').match(/BEGIN CERTIFICATE/g), name).toHaveLength(1);
    }
  });

  it('is idempotent on the next boot', async () => {
    const r = await sh(['enroll']);
    expect(r.code, r.out).toBe(0);
    expect(r.out).toContain('already enrolled');
  });

  it('renews over mTLS with its current certificate; ThingsBoard follows the new certificate', async () => {
    const before = (await bridge.store.getDevice(serial))!;
    expect((await sh(['renew'])).out).toContain('nothing to do');
    const r = await sh(['renew', '--force']);
    expect(r.code, r.out).toBe(0);
    const after = (await bridge.store.getDevice(serial))!;
    expect(after.certSerial).not.toBe(before.certSerial);
    const installed = fs.readFileSync(path.join(state, 'device.crt'), 'utf8');
    const creds = await admin.getDeviceCredentials((await admin.findDeviceByName(serial))!.id!.id);
    // ThingsBoard keeps the leaf without its PEM armour; MQTT matches a device by its hash.
    const leaf = new crypto.X509Certificate(installed.split(/(?<=-----END CERTIFICATE-----)/)[0]!);
    expect(creds?.credentialsValue).toBe(leaf.raw.toString('base64'));
    // A device whose renewal answer was lost still holds only the old certificate: renewing with it
    // again returns the certificate already issued instead of locking the device out.
    fs.writeFileSync(path.join(tmp, 'old.crt'), before.certPem!);
    const withOld = async () => {
      const cnf = path.join(tmp, 'csr.cnf');
      fs.writeFileSync(cnf, `[req]\nprompt = no\ndistinguished_name = dn\n[dn]\nCN = ${serial}\n`);
      const csr = execFileSync('openssl', ['req', '-new', '-key', path.join(state, 'device.key'), '-config', cnf]).toString();
      const r = await exec('ip', [
        'netns',
        'exec',
        ns,
        'curl',
        '-sS',
        '--cacert',
        path.join(state, 'root_ca.crt'),
        '--cert',
        path.join(tmp, 'old.crt'),
        '--key',
        path.join(state, 'device.key'),
        '-H',
        'content-type: application/json',
        '--data',
        JSON.stringify({ csr }),
        `https://${HOST_FROM_DEVICES}:${(server.address() as AddressInfo).port}/v1/renew`,
      ]);
      return JSON.parse(r.stdout) as { serial?: string; error?: string };
    };
    expect(await withOld()).toMatchObject({ serial: after.certSerial });
    expect((await bridge.store.getDevice(serial))!.certSerial).toBe(after.certSerial);
    // Once the device renews with the new certificate, the old one no longer renews.
    expect((await sh(['renew', '--force'])).code).toBe(0);
    expect(await withOld()).toMatchObject({ error: "that is not the device's current certificate" });
  });

  it('enrolls with its factory certificate when it has no claim (second claim method, mTLS)', async () => {
    const pki = makeFactoryPki(`Factory ${run}`);
    await registerFactoryCa(bridge.store, tenant, pki.rootPem, pki.prove(tenant));
    const id = `${serial}F`;
    const f = pki.device(id);
    const fEtc = path.join(tmp, 'etc-f');
    fs.mkdirSync(fEtc);
    fs.copyFileSync(f.cert, path.join(fEtc, 'factory.crt'));
    fs.copyFileSync(f.key, path.join(fEtc, 'factory.key'));
    fs.writeFileSync(path.join(tmp, 'serial-f'), `${id}\n`);
    fs.writeFileSync(path.join(fEtc, 'device-config'), fs.readFileSync(path.join(etc, 'device-config'), 'utf8').replace(/^SERIAL_SOURCE=.*$/m, `SERIAL_SOURCE=${path.join(tmp, 'serial-f')}`));
    await addDeviceNs(DEV + 1);
    // Another interface name only because both test devices share one filesystem, where wireguard-go
    // keeps its control socket per name (/var/run/wireguard/<if>.sock).
    const r = await sh(['enroll'], { CDM_ETC: fEtc, CDM_STATE: path.join(tmp, 'state-f'), CDM_WG_IF: 'cdm1' }, `cdm-dev-${DEV + 1}`);
    expect(r.code, r.out).toBe(0);
    expect(r.out).toContain('(factory certificate)');
    expect(await bridge.store.getDevice(id)).toMatchObject({ status: 'active', tenantId: tenant });
    expect(execFileSync('ip', ['netns', 'exec', `cdm-dev-${DEV + 1}`, 'ping', '-c', '2', '-W', '2', '10.77.0.1']).toString()).toMatch(/2 received/);
  });
});

function writeConfig(over: Record<string, string>): string {
  const base = fs.readFileSync(path.join(etc, 'device-config'), 'utf8');
  const f = path.join(tmp, `config-${crypto.randomBytes(3).toString('hex')}`);
  fs.writeFileSync(
    f,
    `${base}${Object.entries(over)
      .map(([k, v]) => `${k}=${v}`)
      .join('\n')}\n`,
  );
  return f;
}
