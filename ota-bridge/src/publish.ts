import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { rolloutBody as sharedRolloutBody, RolloutError, startWhenReady, targetDescription, type HawkbitClient, type RolloutPlan } from '@cdm/common';
import { verifyRaucBundle } from './rauc.ts';

export type { RolloutAction } from '@cdm/common';

export interface PublishRequest extends RolloutPlan {
  bundle: string;
  start: boolean;
}

export interface PublishDeps {
  hawkbit: HawkbitClient;
  /** RAUC keyring (the only CAs trusted): a bundle that does not verify is refused before any upload. */
  keyring?: string;
  onProgress?: (sent: number, total: number) => void;
  say?: (line: string) => void;
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

/**
 * A signed RAUC bundle → hawkBit: software module with the bundle as artifact (checksum checked
 * against hawkBit's answer), distribution set, rollout over the tenant's devices in the given
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
