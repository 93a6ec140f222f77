/**
 * Enrollment throughput: the same CSRs enrolled through enroll-bridge (HTTP API → step-ca →
 * ThingsBoard → hawkBit → WireGuard, with the durable store) and signed by bare step-ca, in one
 * run, same concurrency, on the local stack: real step-ca, ThingsBoard, hawkBit and WireGuard hub
 * (a fresh tenant per run, removed afterwards with its devices, targets and peers).
 *
 * Also prints what each upstream costs alone for the same devices (the floor under each step), the
 * CPU each local-stack component spent per enrollment, where an enrollment's time goes by phase,
 * and what recording an enrollment costs the store when it already holds --held devices.
 *
 *   npm run bench:enroll [-- --devices 300 --concurrency 16 --held 100000]
 */
import 'reflect-metadata';
import crypto, { webcrypto } from 'node:crypto';
import fs from 'node:fs';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import * as x509 from '@peculiar/x509';
import { TenantActors, ThingsBoardClient, createLogger, loadConfig, targetDescription } from '@cdm/common';
import { composeEnrollBridge, createApi, createClaim, enrollBridgeConfig, type EnrollPhase } from '@cdm/enroll-bridge';
import { bridgeEnv, defaultContext, thingsboardTenant, up } from '@cdm/stack';
import { cpuSince, stackCpu } from './proc-cpu.ts';
import { storeAtScale } from './store-scale.ts';

const arg = (name: string, dflt: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const N = arg('devices', 300);
const C = arg('concurrency', 16);
const HELD = arg('held', 100_000);
async function timed<T>(items: T[], fn: (t: T) => Promise<void>): Promise<{ ms: number; lat: number[] }> {
  const lat: number[] = [];
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: C }, async () => {
      while (next < items.length) {
        const item = items[next++]!;
        const s = performance.now();
        await fn(item);
        lat.push(performance.now() - s);
      }
    }),
  );
  return { ms: performance.now() - t0, lat: lat.sort((a, b) => a - b) };
}
const pct = (l: number[], p: number) => l[Math.min(l.length - 1, Math.floor((p / 100) * l.length))]!;

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);
const alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
async function device(i: number, run: string) {
  const id = `bench-${run}-${String(i).padStart(5, '0')}`;
  const keys = (await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify'])) as unknown as { privateKey: never; publicKey: never };
  const csr = (await x509.Pkcs10CertificateRequestGenerator.create({ name: `CN=${id}`, keys, signingAlgorithm: alg })).toString('pem');
  const wg = crypto.generateKeyPairSync('x25519').publicKey.export({ type: 'spki', format: 'der' }).subarray(-32).toString('base64');
  return { deviceId: id, csr, wgPublicKey: wg };
}

async function main(): Promise<void> {
  const ctx = defaultContext(() => {});
  console.log('local stack: starting or reusing…');
  const stack = await up(ctx);
  const run = crypto.randomBytes(3).toString('hex');
  const tenant = `bench-${run}`;
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cdm-bench-enroll-'));
  fs.mkdirSync(path.join(tmp, 'tokens'));
  fs.writeFileSync(path.join(tmp, 'tokens', `${tenant}.json`), JSON.stringify({ cdmId: tenant, org: 'cdm', bucket: `cdm-${tenant}`, token: 't' }));
  const env = { ...bridgeEnv(stack, ctx.stateDir)['enroll-bridge'], DATA_DIR: path.join(tmp, 'data'), TENANT_TOKEN_DIR: path.join(tmp, 'tokens'), LOG_LEVEL: 'warn' };
  const config = loadConfig(enrollBridgeConfig, env);
  const logger = createLogger('bench', { level: 'silent' });
  const phases = new Map<EnrollPhase, number[]>();
  const bridge = await composeEnrollBridge(config, logger, { observe: (phase, ms) => phases.set(phase, [...(phases.get(phase) ?? []), ms]) });
  const tb = new ThingsBoardClient({ baseURL: config.THINGSBOARD_URL, username: config.THINGSBOARD_USERNAME, password: config.THINGSBOARD_PASSWORD });
  const { tenant: t } = await thingsboardTenant(tb, tenant);
  const server = createApi({ enroller: bridge.enroller, logger, rootPem: bridge.clients.stepca.rootPem, perAddressPerMinute: 1e6, perClaimPerMinute: 1e6 }).listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const { token } = await createClaim(bridge.store, { tenantId: tenant, uses: N, expires: '1d' });

  console.log(`preparing ${N} device keys and CSRs…`);
  const devices = await Promise.all(Array.from({ length: N }, (_, i) => device(i, run)));

  const bare = await timed(devices, async (d) => void (await bridge.clients.stepca.sign(d.csr, d.deviceId)));
  // What each upstream costs on its own for one device in one call, same concurrency (other device
  // ids, removed below): the floor under each step that cdm's code cannot go below.
  const raw = await Promise.all(devices.map(async (_, i) => device(i, `${run}r`)));
  const rawCerts = new Map<string, string>();
  for (const d of raw) rawCerts.set(d.deviceId, (await bridge.clients.stepca.sign(d.csr, d.deviceId)).crt);
  const actor = await new TenantActors(tb).actor(tenant);
  const floors: Record<string, { ms: number; lat: number[] }> = {
    'hawkBit: create target': await timed(
      raw,
      async (d) => void (await bridge.clients.hawkbit.createTargets([{ controllerId: d.deviceId, name: d.deviceId, description: targetDescription(tenant) }])),
    ),
    'ThingsBoard: create device with certificate': await timed(raw, async (d) => {
      await actor.saveDeviceWithCredentials({ name: d.deviceId, type: 'default' }, { credentialsType: 'X509_CERTIFICATE', credentialsValue: rawCerts.get(d.deviceId)! });
    }),
    'WireGuard: wg set peer': await timed(raw, async (d) => {
      const i = raw.indexOf(d);
      await bridge.clients.wireguard.setPeer({ publicKey: d.wgPublicKey, allowedIps: [`10.254.${i >> 8}.${i & 255}/32`] });
    }),
  };

  let done = 0;
  const tick = setInterval(() => process.stderr.write(`\r  enrolled ${done}/${N}   `), 1000);
  const cpu0 = process.cpuUsage();
  const stack0 = stackCpu();
  const bridged = await timed(devices, async (d) => {
    const res = await fetch(`${base}/v1/enroll`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: JSON.stringify(d) });
    if (res.status !== 200) throw new Error(`enroll ${d.deviceId}: ${res.status} ${await res.text()}`);
    await res.arrayBuffer();
    done++;
  });
  const cpu = process.cpuUsage(cpu0);
  const perComponent = cpuSince(stack0);
  clearInterval(tick);
  process.stderr.write('\n');
  const rate = (r: { ms: number }) => (N / (r.ms / 1000)).toFixed(1);
  console.log(`\nenrollment, ${N} devices, concurrency ${C}, ${os.cpus().length} cores, Node ${process.version}`);
  console.log('path | per second | p50 ms | p99 ms | total s');
  console.log(`bare step-ca sign | ${rate(bare)} | ${pct(bare.lat, 50).toFixed(1)} | ${pct(bare.lat, 99).toFixed(1)} | ${(bare.ms / 1000).toFixed(2)}`);
  console.log(
    `enroll-bridge (sign + ThingsBoard + hawkBit + WireGuard + store) | ${rate(bridged)} | ${pct(bridged.lat, 50).toFixed(1)} | ${pct(bridged.lat, 99).toFixed(1)} | ${(bridged.ms / 1000).toFixed(2)}`,
  );
  console.log(`ratio enroll-bridge / bare step-ca throughput: ${(bare.ms / bridged.ms).toFixed(3)}`);
  console.log('\nthe upstreams alone, one call per device, same concurrency (the floor under each step)');
  console.log('call | per second | p50 ms | p99 ms');
  for (const [name, r] of Object.entries(floors)) console.log(`${name} | ${rate(r)} | ${pct(r.lat, 50).toFixed(1)} | ${pct(r.lat, 99).toFixed(1)}`);
  const slowest = Object.entries(floors).sort((a, b) => b[1].ms - a[1].ms)[0]!;
  console.log(`ratio enroll-bridge / slowest upstream alone (${slowest[0]}): ${(slowest[1].ms / bridged.ms).toFixed(3)}`);
  console.log(`this process's CPU per enrollment (the bridge, and the bench's HTTP client): ${((cpu.user + cpu.system) / 1000 / N).toFixed(1)} ms`);
  console.log(`\nCPU per enrollment by component (${os.cpus().length} cores shared by all of them)`);
  console.log('component | ms per enrollment');
  for (const [name, sec] of perComponent) if (sec > 0) console.log(`${name} | ${((sec * 1000) / N).toFixed(1)}`);
  console.log("\nwhere an enrollment's time goes (per enrollment; ThingsBoard, hawkBit and WireGuard run at the same time)");
  console.log('phase | mean ms | p50 ms | p99 ms');
  for (const [phase, l] of phases) {
    const sorted = [...l].sort((a, b) => a - b);
    console.log(`${phase} | ${(l.reduce((a, b) => a + b, 0) / l.length).toFixed(1)} | ${pct(sorted, 50).toFixed(1)} | ${pct(sorted, 99).toFixed(1)}`);
  }
  console.log(`addresses in use: ${bridge.store.addressesInUse()}`);
  const scale = await storeAtScale(HELD);
  console.log(`\nstore: recording one enrollment (device and address, one durable transaction) with no devices held ${scale.emptyMs.toFixed(2)} ms, with ${HELD} held ${scale.fullMs.toFixed(2)} ms`);
  console.log(`ratio store at ${HELD} devices / empty store: ${scale.ratio.toFixed(2)}`);

  process.stderr.write('cleaning up: WireGuard peers, hawkBit targets, the ThingsBoard tenant…\n');
  for (const d of [...devices, ...raw]) {
    await bridge.clients.wireguard.removePeer(d.wgPublicKey).catch(() => undefined);
    await bridge.clients.hawkbit.deleteTarget(d.deviceId).catch(() => undefined);
  }
  await tb.deleteTenant(t.id!.id);
  server.close();
  await bridge.store.close();
}

main().then(
  () => process.exit(0),
  (err: Error) => {
    console.error(`bench enroll: ${err.message}`);
    process.exit(1);
  },
);
