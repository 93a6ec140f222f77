import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { rolloutBody as sharedRolloutBody, RolloutError, startWhenReady, targetDescription, type HawkbitClient, type RolloutPlan } from '@cdm/common';
import { checkRebuild, chunkedImages, chunkPath, missingChunks, stockChunks } from './casync.ts';
import { verifyRaucBundle } from './rauc.ts';

export type { RolloutAction } from '@cdm/common';

export interface PublishRequest extends RolloutPlan {
  bundle: string;
  start: boolean;
  /** A delta (casync) bundle's chunks: the store `rauc convert` wrote (default: beside the bundle, `<name>.castr`). */
  chunks?: string;
}

export interface PublishDeps {
  hawkbit: HawkbitClient;
  /** RAUC keyring (the only CAs trusted): a bundle that does not verify is refused before any upload. */
  keyring?: string;
  onProgress?: (sent: number, total: number) => void;
  say?: (line: string) => void;
  /** The platform's chunk store (CHUNK_STORE_DIR), which devices fetch delta bundles' chunks from. */
  chunkStore?: string;
  /** How long to wait for hawkBit to finish creating the rollout before starting it. */
  readyTimeoutMs?: number;
}

/** The CLI's refusals: the shared rollout rules' (RolloutError) and its own. */
export class PublishError extends RolloutError {}

/** Pure: checks the options and builds hawkBit's rollout body (the shared rules, with the CLI's flag names). */
export function rolloutBody(req: RolloutPlan, distributionSetId: number, now = new Date()) {
  try {
    return sharedRolloutBody(req, distributionSetId, now);
  } catch (err) {
    if (err instanceof RolloutError) throw new PublishError(`--${err.message}`);
    throw err;
  }
}

async function sha256Of(file: string): Promise<string> {
  const h = crypto.createHash('sha256');
  for await (const chunk of fs.createReadStream(file)) h.update(chunk as Buffer);
  return h.digest('hex');
}

const MiB = (b: number) => `${(b / 1024 / 1024).toFixed(1)} MiB`;

/**
 * A delta (casync) bundle is installable only if every chunk its indexes reference is in the store
 * its devices fetch from: copied there, then proven by rebuilding each image from that store alone
 * to the sha256 the signed manifest names. A plain bundle passes through untouched.
 */
async function stockDeltaChunks(req: PublishRequest, d: PublishDeps, say: (line: string) => void): Promise<void> {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'cdm-publish-'));
  try {
    const images = await chunkedImages(req.bundle, work);
    if (!images.length) return;
    const name = path.basename(req.bundle);
    if (!d.chunkStore) throw new PublishError(`${name} is a delta (casync) bundle and CHUNK_STORE_DIR is not set: publish copies its chunks into the store devices fetch them from`);
    const from = req.chunks ?? `${req.bundle.replace(/\.raucb$/, '')}.castr`;
    const missing = missingChunks(images, [from, d.chunkStore]);
    if (missing.length) {
      throw new PublishError(
        `${missing.length} chunk(s) ${name} needs are in neither ${from} nor the chunk store (first: ${chunkPath(missing[0]!)}): give the .castr directory rauc convert wrote beside the bundle (--chunks DIR)`,
      );
    }
    say(`delta bundle: ${images.map((i) => `${i.filename} (${i.chunks.length} chunks)`).join(', ')}; rebuilding each image from ${from}`);
    await checkRebuild(images, [from, d.chunkStore], work);
    const s = stockChunks(images, from, d.chunkStore);
    try {
      await checkRebuild(images, [d.chunkStore], work);
    } catch (err) {
      for (const rel of s.added) fs.rmSync(path.join(d.chunkStore, rel), { force: true });
      throw err;
    }
    say(`chunk store ${d.chunkStore}: ${s.chunks} chunks (${MiB(s.bytes)}), ${s.added.length} new (${MiB(s.addedBytes)}); every image rebuilds from it to the manifest's sha256`);
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

/**
 * A signed RAUC bundle → hawkBit: a delta bundle's chunks into the chunk store, software module
 * with the bundle as artifact (checksum checked against hawkBit's answer), distribution set, rollout over the tenant's devices in the given
 * groups, started if asked. Re-running with the same bundle and version reuses module and set.
 */
export async function publish(req: PublishRequest, d: PublishDeps): Promise<{ softwareModuleId: number; distributionSetId: number; rolloutId: number; rolloutName: string; status: string }> {
  const say = d.say ?? (() => undefined);
  if (!fs.existsSync(req.bundle)) throw new PublishError(`no bundle at ${req.bundle}`);
  const body = rolloutBody(req, 0); // options checked before anything is uploaded
  // Devices install only what their keyring signed: an unchecked bundle would brick the rollout.
  if (!d.keyring) throw new PublishError('RAUC_KEYRING is not set: publish verifies every bundle against the keyring your devices use before uploading it');
  await verifyRaucBundle(req.bundle, d.keyring);
  say(`signature of ${path.basename(req.bundle)} verified against ${d.keyring}`);
  await stockDeltaChunks(req, d, say);
  const sha256 = await sha256Of(req.bundle);
  const smName = `rauc-${req.tenant.name}`;
  const sm =
    (await d.hawkbit.findSoftwareModule(smName, req.version)) ??
    (await d.hawkbit.createSoftwareModule({ name: smName, version: req.version, type: 'os', description: `RAUC bundle for tenant ${req.tenant.name}` }));
  say(`software module ${sm.name} ${sm.version} (id ${sm.id}); uploading ${path.basename(req.bundle)}, sha256 ${sha256}`);
  const artifact = await d.hawkbit.uploadArtifact(sm.id, req.bundle, { sha256, onProgress: d.onProgress });
  if (artifact.hashes?.sha256?.toLowerCase() !== sha256) {
    throw new PublishError(
      `hawkBit stored the bundle with sha256 ${artifact.hashes?.sha256 ?? '(none)'}, not ${sha256}: upload corrupted; delete artifact ${artifact.id} of module ${sm.id} and publish again`,
    );
  }
  const dsName = `firmware-${req.tenant.name}`;
  const ds =
    (await d.hawkbit.findDistributionSet(dsName, req.version)) ??
    (await d.hawkbit.createDistributionSet({ name: dsName, version: req.version, type: 'os', description: targetDescription(req.tenant.cdmId), modules: [{ id: sm.id }] }));
  const rollout = await d.hawkbit.createRollout({ ...body, distributionSetId: ds.id });
  say(
    `rollout "${rollout.name}" (id ${rollout.id}) over the devices of ${req.tenant.name}: groups ${req.groups.join('/')} %, each held ${req.holdSeconds} s once ${req.successPct} % succeeded, pause at ${req.errorPct} % errors`,
  );
  let status = rollout.status;
  if (req.start) {
    try {
      status = await startWhenReady(d.hawkbit, rollout, d.readyTimeoutMs);
    } catch (err) {
      throw err instanceof RolloutError && !(err instanceof PublishError) ? new PublishError(err.message) : err;
    }
    say(`rollout started (${status})`);
  }
  return { softwareModuleId: sm.id, distributionSetId: ds.id, rolloutId: rollout.id, rolloutName: rollout.name, status };
}
