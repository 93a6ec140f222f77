// @peculiar/x509 resolves its ASN.1 parsers through tsyringe, which needs the Reflect metadata API.
import 'reflect-metadata';
import crypto, { webcrypto } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import path from 'node:path';
import * as x509 from '@peculiar/x509';
import type { StepCaClient } from '@cdm/common';
import { z } from 'zod';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);
const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;

export interface InfluxTarget {
  org: string;
  bucket: string;
  token: string;
}

/** What a device holds after enrollment: its key, its certificate chain, where it writes health. */
export interface DeviceIdentity {
  id: string;
  tenant: string;
  certPem: string;
  keyPem: string;
  influx: InfluxTarget;
}

/** A fresh P-256 key (PKCS#8 PEM, never leaves the process) and a CSR with CN = device id. */
export async function keyAndCsr(deviceId: string): Promise<{ keyPem: string; csrPem: string }> {
  const keys = (await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify'])) as unknown as { privateKey: never; publicKey: never };
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({ name: `CN=${deviceId}`, keys, signingAlgorithm: ALG });
  const pkcs8 = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey));
  const keyPem = `-----BEGIN PRIVATE KEY-----\n${pkcs8
    .toString('base64')
    .replace(/(.{64})/g, '$1\n')
    .replace(/\n?$/, '\n')}-----END PRIVATE KEY-----\n`;
  return { keyPem, csrPem: csr.toString('pem') };
}

/** The simulator never builds a tunnel; enroll-bridge still needs a valid WireGuard key to reserve a peer. */
const wgPublicKey = () => crypto.generateKeyPairSync('x25519').publicKey.export({ type: 'spki', format: 'der' }).subarray(-32).toString('base64');

const enrollAnswer = z.object({
  deviceId: z.string(),
  tenantId: z.string(),
  certificate: z.object({ chain: z.string() }),
  influxdb: z.object({ org: z.string(), bucket: z.string(), token: z.string() }),
});

/**
 * Enrolls through enroll-bridge as enroll.sh does: claim as bearer token, CSR and WireGuard key;
 * over https the API's certificate must chain to `caPem` (the device's pinned root).
 */
export async function enroll(apiUrl: string, claim: string, deviceId: string, caPem?: string): Promise<DeviceIdentity> {
  const { keyPem, csrPem } = await keyAndCsr(deviceId);
  const { status, body } = await postJson(`${apiUrl.replace(/\/$/, '')}/v1/enroll`, { deviceId, csr: csrPem, wgPublicKey: wgPublicKey() }, { authorization: `Bearer ${claim}` }, caPem);
  if (status !== 200) throw new Error(`enroll ${deviceId}: HTTP ${status} ${(body as { error?: string }).error ?? ''}`.trim());
  const a = enrollAnswer.parse(body);
  return { id: deviceId, tenant: a.tenantId, certPem: a.certificate.chain, keyPem, influx: a.influxdb };
}

function postJson(url: string, payload: unknown, headers: Record<string, string>, caPem?: string): Promise<{ status: number; body: unknown }> {
  const u = new URL(url);
  const data = JSON.stringify(payload);
  return new Promise((resolve, reject) => {
    const req = (u.protocol === 'https:' ? https : http).request(
      u,
      { method: 'POST', headers: { ...headers, 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) }, ...(caPem ? { ca: caPem } : {}), timeout: 60_000 },
      (res) => {
        let text = '';
        res.on('data', (d: Buffer) => (text += d));
        res.on('end', () => {
          let body: unknown = {};
          try {
            body = JSON.parse(text);
          } catch {
            /* not JSON: the status says enough */
          }
          resolve({ status: res.statusCode ?? 0, body });
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer from ${u.host} in 60 s`)));
    req.on('error', reject);
    req.end(data);
  });
}

/** `certs/` layout: fleet.json (tenant, InfluxDB target, device ids) and <id>.crt / <id>.key. */
const manifest = z.object({
  tenant: z.string().min(1),
  influxdb: z.object({ org: z.string(), bucket: z.string(), token: z.string() }),
  devices: z.array(z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{2,63}$/)),
});
export type CertManifest = z.infer<typeof manifest>;
export const MANIFEST = 'fleet.json';

export function loadCertDir(dir: string, limit?: number): DeviceIdentity[] {
  const file = path.join(dir, MANIFEST);
  if (!fs.existsSync(file)) throw new Error(`${file} not found: create the certificates first (sim make-certs --out ${dir})`);
  const m = manifest.parse(JSON.parse(fs.readFileSync(file, 'utf8')));
  const ids = limit === undefined ? m.devices : m.devices.slice(0, limit);
  if (limit !== undefined && ids.length < limit) throw new Error(`${dir} holds ${m.devices.length} devices, ${limit} asked for`);
  return ids.map((id) => ({
    id,
    tenant: m.tenant,
    certPem: fs.readFileSync(path.join(dir, `${id}.crt`), 'utf8'),
    keyPem: fs.readFileSync(path.join(dir, `${id}.key`), 'utf8'),
    influx: m.influxdb,
  }));
}

/**
 * Certificates for a load run without enrolling each device: CSRs signed by step-ca directly
 * (the same certificates enrollment would hand out), `concurrency` at a time.
 */
export async function makeCertDir(o: {
  stepca: StepCaClient;
  dir: string;
  tenant: string;
  influx: InfluxTarget;
  ids: string[];
  concurrency?: number;
  onProgress?: (done: number) => void;
}): Promise<void> {
  fs.mkdirSync(o.dir, { recursive: true, mode: 0o700 });
  let next = 0;
  let done = 0;
  await Promise.all(
    Array.from({ length: o.concurrency ?? 16 }, async () => {
      while (next < o.ids.length) {
        const id = o.ids[next++]!;
        const { keyPem, csrPem } = await keyAndCsr(id);
        const signed = await o.stepca.sign(csrPem, id);
        fs.writeFileSync(path.join(o.dir, `${id}.key`), keyPem, { mode: 0o600 });
        fs.writeFileSync(path.join(o.dir, `${id}.crt`), signed.certChain.length ? signed.certChain.join('\n') : signed.crt);
        o.onProgress?.(++done);
      }
    }),
  );
  const m: CertManifest = { tenant: o.tenant, influxdb: o.influx, devices: o.ids };
  // Written last: a directory without it is an interrupted run, not a usable fleet.
  fs.writeFileSync(path.join(o.dir, MANIFEST), JSON.stringify(m, null, 2), { mode: 0o600 });
}
