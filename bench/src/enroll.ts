/**
 * Enrollment throughput: the same CSRs enrolled through enroll-bridge (HTTP API → step-ca →
 * ThingsBoard → hawkBit → WireGuard, with the durable store) and signed by bare step-ca, in one
 * run, same concurrency, on the local stack: real step-ca, ThingsBoard, hawkBit and WireGuard hub
 * (a fresh tenant per run, removed afterwards with its devices, targets and peers).
 *
 *   npm run bench:enroll [-- --devices 300 --concurrency 16]
 */
import 'reflect-metadata';
import crypto, { webcrypto } from 'node:crypto';
import fs from 'node:fs';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import * as x509 from '@peculiar/x509';
import { ThingsBoardClient, createLogger, loadConfig } from '@cdm/common';
import { composeEnrollBridge, createApi, createClaim, enrollBridgeConfig } from '@cdm/enroll-bridge';
import { bridgeEnv, defaultContext, up } from '@cdm/stack';

const arg = (name: string, dflt: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const N = arg('devices', 300);
const C = arg('concurrency', 16);
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
  const bridge = await composeEnrollBridge(config, logger);
  const tb = new ThingsBoardClient({ baseURL: config.THINGSBOARD_URL, username: config.THINGSBOARD_USERNAME, password: config.THINGSBOARD_PASSWORD });
  const t = await tb.saveTenant({ title: tenant, additionalInfo: { cdmId: tenant } });
  await tb.saveUser({ email: `cdm-bridge+${tenant}@cdm.invalid`, authority: 'TENANT_ADMIN', tenantId: { id: t.id!.id, entityType: 'TENANT' } });
  const server = createApi({ enroller: bridge.enroller, logger, rootPem: bridge.clients.stepca.rootPem, perAddressPerMinute: 1e6, perClaimPerMinute: 1e6 }).listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const { token } = createClaim(bridge.store, { tenantId: tenant, uses: N, expires: '1d' });

  console.log(`preparing ${N} device keys and CSRs…`);
  const devices = await Promise.all(Array.from({ length: N }, (_, i) => device(i, run)));

  const bare = await timed(devices, async (d) => void (await bridge.clients.stepca.sign(d.csr, d.deviceId)));
  let done = 0;
  const tick = setInterval(() => process.stderr.write(`\r  enrolled ${done}/${N}   `), 1000);
  const bridged = await timed(devices, async (d) => {
    const res = await fetch(`${base}/v1/enroll`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: JSON.stringify(d) });
    if (res.status !== 200) throw new Error(`enroll ${d.deviceId}: ${res.status} ${await res.text()}`);
    await res.arrayBuffer();
    done++;
  });
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
  console.log(`addresses in use: ${bridge.store.addressesInUse()}`);

  process.stderr.write('cleaning up: WireGuard peers, hawkBit targets, the ThingsBoard tenant…\n');
  for (const d of devices) {
    await bridge.clients.wireguard.removePeer(d.wgPublicKey).catch(() => undefined);
    await bridge.clients.hawkbit.deleteTarget(d.deviceId).catch(() => undefined);
  }
  await tb.deleteTenant(t.id!.id);
  server.close();
  bridge.store.close();
}

main().then(
  () => process.exit(0),
  (err: Error) => {
    console.error(`bench enroll: ${err.message}`);
    process.exit(1);
  },
);
