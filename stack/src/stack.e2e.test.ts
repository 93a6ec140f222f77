import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { GrafanaClient, HawkbitClient, InfluxClient, KeycloakClient, StepCaClient, ThingsBoardClient, WireGuardClient, decryptProvisionerKey, readEncryptedKey } from '@cdm/common';
import mqtt from 'mqtt';
import { describe, expect, inject, it } from 'vitest';

/**
 * One pass over every upstream of the local stack through cdm's own clients: the real Keycloak,
 * step-ca, InfluxDB, Mosquitto, WireGuard, ThingsBoard and hawkBit, and the Grafana and InfluxDB 2
 * contract fakes. The global setup started the stack (or reused it) and fails loudly if it cannot.
 */
const stack = inject('stack');
const run = crypto.randomBytes(3).toString('hex');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cdm-e2e-'));

function csr(cn: string): { csr: string; key: string } {
  const keyFile = path.join(tmp, `${cn}.key`);
  const out = execFileSync('openssl', ['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', keyFile, '-subj', `/CN=${cn}`], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  return { csr: out, key: fs.readFileSync(keyFile, 'utf8') };
}

async function stepca(): Promise<StepCaClient> {
  const e = stack.stepca!;
  const jwe = readEncryptedKey(e.extra!.caJson!, e.extra!.provisioner!);
  const provisioner = await decryptProvisionerKey(e.extra!.provisioner!, jwe, fs.readFileSync(e.extra!.provisionerPasswordFile!, 'utf8').trim());
  return StepCaClient.connect({ baseURL: e.url, rootFingerprint: e.extra!.rootFingerprint!, provisioner });
}

describe('real upstreams', () => {
  it('Keycloak: the cdm realm is imported and the tenant-sync service account manages tenant groups', async () => {
    const e = stack.keycloak!;
    const kc = new KeycloakClient({ baseURL: e.url, realm: 'cdm', clientId: e.extra!.tenantSyncClientId!, clientSecret: e.extra!.tenantSyncClientSecret! });
    const tenants = await kc.getGroupByPath('/tenants');
    expect(tenants?.id).toBeTruthy();
    expect((await kc.listSubGroups(tenants!.id!)).map((g) => g.name)).toContain('acme');
    const id = await kc.createGroup(`e2e-${run}`, tenants!.id!);
    expect((await kc.listSubGroups(tenants!.id!)).map((g) => g.id)).toContain(id);
    const operators = await kc.getGroupByPath('/tenants/acme/operators');
    expect((await kc.listMembers(operators!.id!)).map((u) => u.username)).toEqual(['alice']);
    await kc.deleteGroup(id);
    expect((await kc.listSubGroups(tenants!.id!)).map((g) => g.id)).not.toContain(id);
  });

  it('Keycloak: brute-force protection locks an account after 5 wrong passwords (the right one is then refused too)', async () => {
    const e = stack.keycloak!;
    const admin = new KeycloakClient({ baseURL: e.url, realm: 'cdm', authRealm: 'master', clientId: 'admin-cli', username: 'admin', password: 'admin' });
    const username = `bf-${run}`;
    const password = `pw-${crypto.randomBytes(6).toString('hex')}`;
    const id = await admin.createUser({ username, email: `${username}@e2e.example`, firstName: 'Brute', lastName: 'Force', password });
    const login = async (pw: string) =>
      (await fetch(`${e.url}/realms/cdm/protocol/openid-connect/token`, { method: 'POST', body: new URLSearchParams({ grant_type: 'password', client_id: 'cdm-terminal', username, password: pw }) }))
        .status;
    try {
      expect(await login(password)).toBe(200);
      for (let i = 0; i < 5; i++) expect(await login(`wrong-${i}`)).toBe(401);
      expect(await login(password)).toBe(401);
    } finally {
      await admin.deleteUser(id);
    }
  });

  it('step-ca: signs a CSR with a one-time token, the chain verifies to the pinned root, renews over mTLS, revokes', async () => {
    const ca = await stepca();
    await ca.health();
    const dev = `dev-${run}`;
    const req = csr(dev);
    const signed = await ca.sign(req.csr, dev);
    const leaf = new crypto.X509Certificate(signed.crt);
    expect(leaf.subject).toContain(`CN=${dev}`);
    const chainFile = path.join(tmp, 'chain.pem');
    fs.writeFileSync(chainFile, signed.certChain.slice(1).join(''));
    const leafFile = path.join(tmp, 'leaf.pem');
    fs.writeFileSync(leafFile, signed.crt);
    expect(execFileSync('openssl', ['verify', '-CAfile', stack.stepca!.extra!.rootCert!, '-untrusted', chainFile, leafFile], { encoding: 'utf8' })).toContain(': OK');
    const renewed = await ca.renew(signed.crt, req.key);
    const next = new crypto.X509Certificate(renewed.crt);
    expect(next.subject).toBe(leaf.subject);
    expect(next.serialNumber).not.toBe(leaf.serialNumber);
    await ca.revoke(BigInt(`0x${next.serialNumber}`).toString(10));
    // A revoked certificate can no longer renew itself.
    await expect(ca.renew(renewed.crt, req.key)).rejects.toThrow(/step-ca: POST \/1\.0\/renew failed \(HTTP 401\)/);
  });

  it('WireGuard: adds and removes a peer on the hub in its network namespace', async () => {
    const e = stack.wireguard!;
    const wg = new WireGuardClient({ interface: e.extra!.interface!, netns: e.extra!.netns! });
    const pub = await wg.pubkey(await wg.genkey());
    await wg.setPeer({ publicKey: pub, allowedIps: ['10.77.250.1/32'], persistentKeepalive: 25 });
    const dump = await wg.dump();
    expect(dump.publicKey).toBe(e.extra!.serverPublicKey);
    expect(dump.peers.find((p) => p.publicKey === pub)?.allowedIps).toEqual(['10.77.250.1/32']);
    await wg.removePeer(pub);
    expect((await wg.dump()).peers.some((p) => p.publicKey === pub)).toBe(false);
  });

  it('InfluxDB: a bucket and a scoped token from the v2 API, a point written and read back through the real influxd', async () => {
    const e = stack.influxdb2!;
    const op = new InfluxClient({ baseURL: e.url, token: e.credentials!.token! });
    const org = (await op.findOrg('cdm'))!;
    const bucket = await op.createBucket({ orgID: org.id, name: `e2e-${run}` });
    const auth = await op.createAuthorization({ orgID: org.id, description: 'e2e', permissions: [{ action: 'write', resource: { type: 'buckets', id: bucket.id, orgID: org.id } }] });
    const device = new InfluxClient({ baseURL: e.url, token: auth.token! });
    await device.write('cdm', bucket.name, [`health,device=dev-${run} battery=77i ${Date.now()}`]);
    const rows = await op.query<{ _value: number; device: string }>('cdm', `from(bucket: "${bucket.name}") |> range(start: -5m) |> filter(fn: (r) => r._field == "battery")`);
    expect(rows.map((r) => [r.device, r._value])).toEqual([[`dev-${run}`, 77]]);
    await expect(device.query('cdm', `from(bucket: "${bucket.name}") |> range(start: -5m)`)).rejects.toThrow(/could not find bucket/);
  });

  it('Mosquitto: publishes and subscribes on the plain listener and over mutual TLS with a step-ca certificate', async () => {
    const roundTrip = async (client: mqtt.MqttClient, topic: string) => {
      await client.subscribeAsync(topic);
      const got = new Promise<string>((resolve) => client.on('message', (_t, m) => resolve(m.toString())));
      await client.publishAsync(topic, `hello ${run}`);
      const msg = await got;
      await client.endAsync();
      return msg;
    };
    expect(await roundTrip(await mqtt.connectAsync(stack.mosquitto!.url), `cdm/e2e/${run}`)).toBe(`hello ${run}`);
    const ca = await stepca();
    const dev = `dev-mqtt-${run}`;
    const req = csr(dev);
    const signed = await ca.sign(req.csr, dev);
    const tls = await mqtt.connectAsync(stack.mosquitto!.extra!.mtlsUrl!, {
      ca: fs.readFileSync(stack.stepca!.extra!.rootCert!),
      cert: signed.certChain.join(''),
      key: req.key,
    });
    expect(await roundTrip(tls, `cdm/e2e/tls/${run}`)).toBe(`hello ${run}`);
    // Without a client certificate the device listener refuses the connection.
    await expect(mqtt.connectAsync(stack.mosquitto!.extra!.mtlsUrl!, { ca: fs.readFileSync(stack.stepca!.extra!.rootCert!), reconnectPeriod: 0, connectTimeout: 5000 })).rejects.toThrow();
  });
});

describe('real ThingsBoard and hawkBit', () => {
  it('ThingsBoard: tenant, tenant admin, a device with its step-ca certificate as X.509 credentials that publishes over MQTT/TLS', async () => {
    const e = stack.thingsboard!;
    const sys = new ThingsBoardClient({ baseURL: e.url, username: e.credentials!.username!, password: e.credentials!.password! });
    const tenant = await sys.saveTenant({ title: `e2e-${run}` });
    try {
      const admin = await sys.saveUser({ email: `admin-${run}@example.com`, authority: 'TENANT_ADMIN', tenantId: tenant.id });
      const t = await sys.actAs(admin.id!.id);
      const dev = `dev-tb-${run}`;
      const req = csr(dev);
      const cert = await (await stepca()).sign(req.csr, dev);
      const device = await t.saveDeviceWithCredentials({ name: dev }, { credentialsType: 'X509_CERTIFICATE', credentialsValue: cert.crt });
      const connect = (certChain: string, key: string) =>
        mqtt.connectAsync(e.extra!.mqttsUrl!, { ca: fs.readFileSync(stack.stepca!.extra!.rootCert!), cert: certChain, key, reconnectPeriod: 0, connectTimeout: 10_000 });
      const client = await connect(cert.certChain.join(''), req.key);
      await client.publishAsync('v1/devices/me/telemetry', JSON.stringify({ temperature: 21.5 }));
      await client.endAsync();
      const deadline = Date.now() + 10_000;
      let latest: Record<string, { value: unknown }[]> = {};
      // ThingsBoard answers a key it has no value for with value null.
      const has = () => latest.temperature?.[0]?.value != null;
      while (Date.now() < deadline && !has()) {
        latest = await t.getLatestTelemetry({ id: device.id!.id, entityType: 'DEVICE' }, ['temperature']);
        if (!has()) await new Promise((r) => setTimeout(r, 200));
      }
      expect(String(latest.temperature?.[0]?.value)).toBe('21.5');
      // A certificate from the same CA that no device holds: TLS succeeds, MQTT refuses the session.
      const stranger = csr(`stranger-${run}`);
      const other = await (await stepca()).sign(stranger.csr, `stranger-${run}`);
      await expect(connect(other.certChain.join(''), stranger.key)).rejects.toThrow(/Not authorized|Connection refused/i);
    } finally {
      await sys.deleteTenant(tenant.id!.id);
    }
  });

  it('hawkBit: a target created, read and deleted', async () => {
    const e = stack.hawkbit!;
    const hb = new HawkbitClient({ baseURL: e.url, username: e.credentials!.username!, password: e.credentials!.password! });
    await hb.createTargets([{ controllerId: `dev-${run}`, name: `dev-${run}` }]);
    // hawkBit: a target created through the management API is 'unknown' until it first polls.
    expect((await hb.getTarget(`dev-${run}`))?.updateStatus).toBe('unknown');
    expect(await hb.deleteTarget(`dev-${run}`)).toBe(true);
  });
});

describe('contract fakes (Grafana, InfluxDB 2 management)', () => {
  it('Grafana: an organisation with an InfluxDB data source', async () => {
    const e = stack.grafana!;
    const g = new GrafanaClient({ baseURL: e.url, username: e.credentials!.username!, password: e.credentials!.password! });
    const orgId = await g.createOrg(`e2e-${run}`);
    await g.createDataSource(orgId, { name: 'influxdb', type: 'influxdb', url: stack.influxdb2!.url, jsonData: { version: 'Flux', organization: 'cdm' } });
    expect((await g.listDataSources(orgId)).map((d) => d.name)).toEqual(['influxdb']);
    await g.deleteOrg(orgId);
  });

  it('a running fake rejects a request its spec forbids', async () => {
    const res = await fetch(`${stack.grafana!.url}/api/orgs`, {
      method: 'POST',
      headers: { Authorization: `Basic ${Buffer.from('admin:admin').toString('base64')}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ title: 'no name' }),
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { message: string }).message).toMatch(/name/);
  });
});
