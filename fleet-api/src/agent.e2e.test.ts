import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { HawkbitClient, targetDescription } from '@cdm/common';
import { enroll } from '@cdm/device';
import { addDeviceNs, removeDeviceNs, repoDir } from '@cdm/stack';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { fleetScene } from './e2e.test-helpers.ts';

/**
 * Through the fleet API, on the real Keycloak, ThingsBoard and enroll-bridge, against the device
 * agent (device/src/agent) running in a device network namespace on the hub's LAN, holding its own
 * mutual-TLS MQTT session to ThingsBoard with the certificate it enrolled with. systemctl, journalctl and the image's hooks
 * are stand-ins that record what they were asked; "reboot" ends the agent, and the test boots it
 * again with a new boot id.
 */
const stack = inject('stack');
const scene = await fleetScene(stack, 'agent');
const { call, until } = scene;
const deviceId = `AGT${scene.run.toUpperCase()}01`;
const DEV = 211;
const dev = path.join(scene.tmp, 'device');
const state = path.join(dev, 'state');
let agent: ChildProcess | undefined;
let boots = 0;
const agentLog: string[] = [];

function script(name: string, body: string): string {
  const f = path.join(dev, name);
  fs.writeFileSync(f, `#!/bin/sh\n${body}\n`, { mode: 0o755 });
  return f;
}

/** Boots the device: a new boot id, the agent started as systemd would; resolves once ThingsBoard shows the new boot. */
async function boot(): Promise<string> {
  const bootId = `boot-${++boots}-${scene.run}`;
  fs.writeFileSync(path.join(dev, 'boot_id'), `${bootId}\n`);
  // `ip netns exec` becomes the agent's process (exec), so signals and $PPID reach node itself.
  agent = spawn('ip', ['netns', 'exec', `cdm-dev-${DEV}`, process.execPath, '--import', 'tsx', path.join(repoDir, 'device', 'src', 'agent', 'main.ts')], {
    cwd: repoDir,
    env: {
      PATH: process.env.PATH!,
      CDM_ETC: path.join(dev, 'etc'),
      CDM_STATE: state,
      TB_MQTT_URL: scene.mqtt.url,
      CDM_AGENT_CA: scene.mqtt.caFile,
      CDM_AGENT_BOOT_ID_FILE: path.join(dev, 'boot_id'),
      CDM_AGENT_REBOOT_CMD: `${script('systemctl', `echo "$*" >> ${dev}/reboots; kill -TERM $PPID`)} reboot`,
      CDM_AGENT_RECOVERY_CMD: script('recovery', `touch ${dev}/recovery`),
      CDM_AGENT_JOURNALCTL: script('journalctl', 'echo "journalctl $*"; echo "2026-11-29T10:00:00+0000 device app[42]: sampling every 7 s"'),
      CDM_AGENT_SELF_TEST_DIR: path.join(dev, 'self-test.d'),
      CDM_AGENT_CONFIG_FILE: path.join(dev, 'etc', 'config.json'),
      CDM_SW_VERSION: '1.4.0',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  agent.stdout!.on('data', (d: Buffer) => agentLog.push(d.toString()));
  agent.stderr!.on('data', (d: Buffer) => agentLog.push(d.toString()));
  const entity = await scene.tbDevice(deviceId);
  await until(
    `agent boot ${bootId} reported to ThingsBoard`,
    async () => (await scene.tbAdmin.getAttributes(entity, 'CLIENT_SCOPE', ['boot_id']))[0]?.value,
    (v) => v === bootId,
    60_000,
  ).catch((err: Error) => Promise.reject(new Error(`${err.message}\nagent: ${agentLog.join('').slice(-2000)}`)));
  return bootId;
}

async function shutdown(): Promise<void> {
  if (!agent || agent.exitCode !== null) return;
  const exited = new Promise((r) => agent!.once('exit', r));
  agent.kill('SIGTERM');
  await exited;
}

/** The device is down until the test boots it (the reboot stand-in ends the agent). */
const agentExited = () =>
  until(
    'agent exit',
    async () => agent?.exitCode,
    (c) => c !== null && c !== undefined,
    30_000,
    200,
  );

const command = async (who: Parameters<typeof call>[0], operation: string, params?: object, expiresInSeconds?: number) =>
  call(who, 'POST', `/devices/${deviceId}/command`, { operation, ...(params ? { params } : {}), ...(expiresInSeconds ? { expiresInSeconds } : {}) });
const settled = (commandId: string, final = ['successful', 'failed', 'timeout', 'expired', 'cancelled']) =>
  until(
    `command ${commandId}`,
    async () => (await call('oncall', 'GET', `/devices/${deviceId}/commands/${commandId}`)).body,
    (c) => final.includes(c.status),
    60_000,
  );

beforeAll(async () => {
  await addDeviceNs(DEV);
  fs.mkdirSync(path.join(dev, 'etc'), { recursive: true });
  fs.mkdirSync(path.join(dev, 'self-test.d'));
  fs.writeFileSync(path.join(dev, 'self-test.d', '10-storage'), '#!/bin/sh\necho "data partition 12 % used"\n', { mode: 0o755 });
  fs.writeFileSync(path.join(dev, 'self-test.d', '20-modem'), '#!/bin/sh\necho "modem: no SIM" >&2\nexit 2\n', { mode: 0o755 });
  // Enrolled as enroll.sh does: its own key and CSR, the claim as bearer token; the state it leaves.
  const id = await enroll(scene.enrollUrl, await scene.claim(1), deviceId);
  fs.mkdirSync(state, { mode: 0o700 });
  fs.writeFileSync(path.join(state, 'device.crt'), id.certPem);
  fs.writeFileSync(path.join(state, 'device.key'), id.keyPem, { mode: 0o600 });
  await boot();
}, 300_000);

afterAll(async () => {
  await shutdown();
  await removeDeviceNs(DEV);
  await scene.close();
});

describe('fleet API → ThingsBoard → device agent', () => {
  it('configuration: desired set through the API, applied on the device, reported back in sync', async () => {
    const before = (await call('operator', 'GET', `/devices/${deviceId}/shadow`)).body;
    const changed = await call('operator', 'PATCH', `/devices/${deviceId}/shadow`, { version: before.version, desired: { sampling_interval_s: 7, log_level: 'debug', features: { gps: true } } });
    expect(changed.body).toMatchObject({ state: 'pending', version: before.version + 1 });
    const synced = await until(
      'shadow in sync',
      async () => (await call('oncall', 'GET', `/devices/${deviceId}/shadow`)).body,
      (s) => s.state === 'in-sync' && s.reportedVersion === before.version + 1,
    );
    expect(synced).toMatchObject({ reported: { sampling_interval_s: 7, log_level: 'debug', features: { gps: true } }, delta: {}, lastSync: expect.any(String) });
    expect(JSON.parse(fs.readFileSync(path.join(dev, 'etc', 'config.json'), 'utf8'))).toEqual({ sampling_interval_s: 7, log_level: 'debug', features: { gps: true } });
    // Someone else's edit from the old version loses.
    expect((await call('admin', 'PATCH', `/devices/${deviceId}/shadow`, { version: before.version, desired: { log_level: 'warn' } })).status).toBe(409);
  });

  it('diagnostics: logs since, the self-test (failing hook named) and sensors come back to the API', async () => {
    const c = await command('oncall', 'diagnostics', { logs_since_s: 300, log_lines: 20, self_test: true, sensors: true });
    expect(c.status).toBe(202);
    const done = await settled(c.body.commandId);
    expect(done.status, JSON.stringify(done)).toBe('successful');
    expect(done.result.logs).toEqual(['journalctl --no-pager -o short-iso -n 20 --since -300s', '2026-11-29T10:00:00+0000 device app[42]: sampling every 7 s']);
    expect(done.result.self_test).toEqual({
      ok: false,
      checks: [
        { name: '10-storage', ok: true, output: 'data partition 12 % used\n' },
        { name: '20-modem', ok: false, output: 'modem: no SIM\n' },
      ],
    });
    expect(done.result.sensors.uptime_s).toBeGreaterThan(0);
  });

  it('reboot: answered, then the device goes down and comes back with a new boot', async () => {
    const c = await command('operator', 'reboot');
    expect((await settled(c.body.commandId)).status).toBe('successful');
    await agentExited();
    expect(fs.readFileSync(path.join(dev, 'reboots'), 'utf8')).toContain('reboot');
    const bootId = await boot();
    const entity = await scene.tbDevice(deviceId);
    expect((await scene.tbAdmin.getAttributes(entity, 'CLIENT_SCOPE', ['boot_id']))[0]?.value).toBe(bootId);
    expect((await call('oncall', 'GET', `/devices/${deviceId}`)).body).toMatchObject({ deviceId, firmware: '1.4.0', certificate: { serial: expect.any(String) } });
  });

  it('factory reset: refused to an operator (403, audited), run for an admin', async () => {
    expect((await command('operator', 'factory-reset')).status).toBe(403);
    expect((await command('outsider', 'factory-reset')).status).toBe(404);
    const c = await command('admin', 'factory-reset');
    expect((await settled(c.body.commandId)).status).toBe('successful');
    await agentExited();
    expect(fs.existsSync(path.join(state, 'factory-reset'))).toBe(true);
    await boot();
    const audit = (await call('admin', 'GET', `/audit?tenant=${scene.tenantId}`)).body.entries.map((e: any) => `${e.actorName} ${e.action} ${e.outcome}`);
    expect(audit).toEqual(expect.arrayContaining([`${scene.people.operator} command.factory-reset refused`, `${scene.people.admin} command.factory-reset done`]));
  });

  it('offline: a command waits queued and is delivered when the device returns; one that expires says so', async () => {
    await shutdown();
    const waits = await command('oncall', 'diagnostics', { sensors: true }, 600);
    const expires = await command('oncall', 'diagnostics', {}, 3);
    expect((await settled(waits.body.commandId, ['queued'])).status).toBe('queued');
    const expired = await settled(expires.body.commandId);
    expect(expired).toMatchObject({ status: 'expired', error: expect.stringMatching(/offline/) });
    await boot();
    const delivered = await settled(waits.body.commandId);
    expect(delivered.status).toBe('successful');
    expect(delivered.result.sensors).toBeDefined();
  });

  it("deployment: an admin deploys the tenant's published set to the device through the API; hawkBit has it as asked; cancelled", async () => {
    const hb = new HawkbitClient({ baseURL: stack.hawkbit!.url, username: stack.hawkbit!.credentials!.username!, password: stack.hawkbit!.credentials!.password! });
    // As ota-bridge publish leaves it: module and set marked with the tenant.
    const sm = await hb.createSoftwareModule({ name: `rauc-${scene.group}`, version: '2.0.0', type: 'os' });
    const ds = await hb.createDistributionSet({ name: `firmware-${scene.group}`, version: '2.0.0', type: 'os', description: targetDescription(scene.tenantId), modules: [{ id: sm.id }] });
    const body = { tenant: scene.group, distributionSetId: ds.id, selector: { ids: [deviceId] }, groups: [100], successPct: 100, errorPct: 0, start: true };
    expect((await call('operator', 'POST', '/ota/deployments', body)).status).toBe(403);
    const d = await call('admin', 'POST', '/ota/deployments', body);
    expect(d.status).toBe(201);
    const id = d.body.deploymentId as number;
    const inHawkbit = await hb.getRollout(id);
    expect(inHawkbit).toMatchObject({
      description: targetDescription(scene.tenantId),
      distributionSetId: ds.id,
      totalTargets: 1,
      targetFilterQuery: `description=="cdm tenant ${scene.tenantId}";controllerId=in=(${deviceId})`,
    });
    expect(['starting', 'running']).toContain(inHawkbit!.status);
    const read = (await call('oncall', 'GET', `/ota/deployments/${id}`)).body;
    expect(read).toMatchObject({ deploymentId: id, tenantId: scene.tenantId, distributionSetId: ds.id, totalTargets: 1, stages: [{ targetPercentage: 100, totalTargets: 1 }] });
    expect((await call('outsider', 'GET', `/ota/deployments/${id}`)).status).toBe(404);
    await call('admin', 'POST', `/ota/deployments/${id}/cancel`);
    const gone = await until(
      'rollout removed in hawkBit',
      () => hb.getRollout(id),
      (r) => !r || r.status === 'deleting' || r.status === 'deleted',
      60_000,
      1000,
    );
    expect(gone?.status ?? 'gone').toMatch(/gone|deleting|deleted/);
  });

  it('registration: an admin registers a device ahead of manufacturing; it enrolls with the claim from the label, once, and only as itself', async () => {
    const serial = `REG${scene.run.toUpperCase()}01`;
    expect((await call('operator', 'POST', '/devices', { tenant: scene.group, deviceId: serial })).status).toBe(403);
    const r = await call('admin', 'POST', '/devices', { tenant: scene.group, deviceId: serial, expires: '2d' });
    expect(r).toMatchObject({ status: 201, body: { deviceId: serial, tenantId: scene.tenantId, claim: { deviceId: serial, maxUses: 1 } } });
    const label = new URL(r.body.ownerAssignment.content);
    expect(label.searchParams.get('device')).toBe(serial);
    const token = label.searchParams.get('claim')!;
    // Another device cannot use it; the device itself can, once.
    await expect(enroll(scene.enrollUrl, token, `${serial}X`)).rejects.toThrow(/HTTP 4\d\d/);
    const id = await enroll(scene.enrollUrl, token, serial);
    expect(id.tenant).toBe(scene.tenantId);
    await expect(enroll(scene.enrollUrl, token, serial)).rejects.toThrow(/HTTP 4\d\d/);
    expect((await call('oncall', 'GET', `/devices/${serial}`)).body).toMatchObject({ deviceId: serial, status: 'active' });
    expect((await call('admin', 'POST', '/devices', { tenant: scene.group, deviceId: serial })).status).toBe(409);
  });

  it("another system: its own Keycloak client, its service account in the tenant's operators, lists devices and sends a command; no more than operators may", async () => {
    const token = await scene.system('erp', 'operator');
    const listed = await scene.callWith(token, 'GET', `/devices?tenant=${scene.tenantId}`);
    expect(listed.body.devices.map((d: { deviceId: string }) => d.deviceId)).toContain(deviceId);
    const c = await scene.callWith(token, 'POST', `/devices/${deviceId}/command`, { operation: 'diagnostics', params: { sensors: true } });
    expect(c.status).toBe(202);
    expect((await settled(c.body.commandId)).status).toBe('successful');
    expect((await scene.callWith(token, 'POST', `/devices/${deviceId}/command`, { operation: 'factory-reset' })).status).toBe(403);
  });
});
