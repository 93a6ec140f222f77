import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { InfluxClient, loadConfig, stepcaEnv, stepcaFrom } from '@cdm/common';
import { makeCertDir } from '@cdm/device';
import { bridgeEnv, type up } from '@cdm/stack';
import { z } from 'zod';
import type { Targets } from '../../device/src/sim/run.ts';

/** A simulated fleet's place on the local stack: its own bucket, a write token, a certificate per device. */
export interface BenchFleet {
  bucket: { id: string; name: string };
  /** The certificate directory the simulator reads (`--certs`). */
  dir: string;
  ids: string[];
  targets: Targets;
  /** Deletes the bucket and the certificates. */
  remove(): Promise<void>;
}

/**
 * What the simulator benches share: a fresh bucket behind the InfluxDB 2 API, a write token scoped
 * to it, `size` device certificates signed by the stack's step-ca, and the stack's broker and
 * InfluxDB as targets. Progress every `progressEvery` certificates on stderr.
 */
export async function benchFleet(stack: Awaited<ReturnType<typeof up>>, stateDir: string, o: { prefix: string; size: number; progressEvery: number }): Promise<BenchFleet> {
  const run = crypto.randomBytes(3).toString('hex');
  const operator = new InfluxClient({ baseURL: stack.influxdb2!.url, token: stack.influxdb2!.credentials!.token! });
  const org = (await operator.findOrg('cdm'))!;
  const bucket = await operator.createBucket({ orgID: org.id, name: `cdm-${o.prefix}-${run}` });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `cdm-${o.prefix}-`));
  const remove = async () => {
    await operator.deleteBucket(bucket.id).catch(() => undefined);
    fs.rmSync(dir, { recursive: true, force: true });
  };
  try {
    const write = await operator.createAuthorization({
      orgID: org.id,
      description: `${o.prefix} ${run}`,
      permissions: [{ action: 'write', resource: { type: 'buckets', id: bucket.id, orgID: org.id } }],
    });
    const stepca = await stepcaFrom(loadConfig(z.object(stepcaEnv), bridgeEnv(stack, stateDir)['enroll-bridge']));
    const ids = Array.from({ length: o.size }, (_, i) => `${o.prefix}-${run}-${String(i + 1).padStart(6, '0')}`);
    const t0 = performance.now();
    await makeCertDir({
      stepca,
      dir,
      tenant: `${o.prefix}-${run}`,
      influx: { org: 'cdm', bucket: bucket.name, token: write.token! },
      ids,
      onProgress: (n) => n % o.progressEvery === 0 && process.stderr.write(`\r  signed ${n}/${ids.length}`),
    });
    process.stderr.write(`\n  ${ids.length} certificates in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
    const targets = { brokerUrl: stack.mosquitto!.extra!.mtlsUrl!, caPem: fs.readFileSync(stack.mosquitto!.extra!.caChain!, 'utf8'), influxUrl: stack.influxdb2!.url };
    return { bucket: { id: bucket.id, name: bucket.name }, dir, ids, targets, remove };
  } catch (err) {
    await remove();
    throw err;
  }
}
