import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fiqlValue, targetDescription, type HawkbitClient, type MgmtRolloutCreate } from '@cdm/common';
import { verifyRaucBundle } from './rauc.ts';

export type RolloutAction = 'soft' | 'forced' | 'downloadonly';

export interface PublishRequest {
  bundle: string;
  version: string;
  tenant: { cdmId: string; name: string };
  /** Group sizes in percent of the tenant's devices, in order (e.g. 5, 25, 70). */
  groups: number[];
  /** A group counts as done, and the next starts, when this share (%) of it succeeded. */
  successPct: number;
  /** The rollout pauses when this share (%) of a group failed. */
  errorPct: number;
  action: RolloutAction;
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

export class PublishError extends Error {}

/** The tenant's devices: targets enroll-bridge created carry the tenant in their description. */
export const tenantTargetFilter = (cdmId: string) => `description==${fiqlValue(targetDescription(cdmId))}`;

/** Pure: checks the options and builds hawkBit's rollout body. */
export function rolloutBody(req: PublishRequest, distributionSetId: number, now = new Date()): MgmtRolloutCreate {
  if (!req.groups.length || req.groups.some((g) => !(g > 0 && g <= 100))) throw new PublishError('--groups: percentages between 0 and 100, e.g. 5,25,70');
  const total = req.groups.reduce((a, b) => a + b, 0);
  if (Math.abs(total - 100) > 0.001) throw new PublishError(`--groups must add up to 100 (they add up to ${total})`);
  for (const [flag, v] of [['--success', req.successPct], ['--error', req.errorPct]] as const) {
    if (!(v >= 0 && v <= 100)) throw new PublishError(`${flag}: a percentage from 0 to 100`);
  }
  const successCondition = { condition: 'THRESHOLD' as const, expression: String(req.successPct) };
  const errorCondition = { condition: 'THRESHOLD' as const, expression: String(req.errorPct) };
  return {
    name: `${req.tenant.name} ${req.version} ${now.toISOString().slice(0, 16).replace('T', ' ')}`,
    description: targetDescription(req.tenant.cdmId),
    distributionSetId,
    targetFilterQuery: tenantTargetFilter(req.tenant.cdmId),
    type: req.action,
    successCondition,
    successAction: { action: 'NEXTGROUP', expression: '' },
    errorCondition,
    errorAction: { action: 'PAUSE', expression: '' },
    // hawkBit reads a group's percentage as its share of all matching targets.
    groups: req.groups.map((pct, i) => ({ name: `group-${i + 1} (${pct}%)`, targetPercentage: pct, successCondition, successAction: { action: 'NEXTGROUP', expression: '' }, errorCondition, errorAction: { action: 'PAUSE', expression: '' } })),
  };
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
  const sm = (await d.hawkbit.findSoftwareModule(smName, req.version)) ?? (await d.hawkbit.createSoftwareModule({ name: smName, version: req.version, type: 'os', description: `RAUC bundle for tenant ${req.tenant.name}` }));
  say(`software module ${sm.name} ${sm.version} (id ${sm.id}); uploading ${path.basename(req.bundle)}, sha256 ${sha256}`);
  const artifact = await d.hawkbit.uploadArtifact(sm.id, req.bundle, { sha256, onProgress: d.onProgress });
  if (artifact.hashes?.sha256?.toLowerCase() !== sha256) {
    throw new PublishError(`hawkBit stored the bundle with sha256 ${artifact.hashes?.sha256 ?? '(none)'}, not ${sha256}: upload corrupted; delete artifact ${artifact.id} of module ${sm.id} and publish again`);
  }
  const dsName = `firmware-${req.tenant.name}`;
  const ds = (await d.hawkbit.findDistributionSet(dsName, req.version)) ?? (await d.hawkbit.createDistributionSet({ name: dsName, version: req.version, type: 'os', description: `cdm firmware ${req.version}`, modules: [{ id: sm.id }] }));
  const rollout = await d.hawkbit.createRollout({ ...body, distributionSetId: ds.id });
  say(`rollout "${rollout.name}" (id ${rollout.id}) over the devices of ${req.tenant.name}: groups ${req.groups.join('/')} %, next group at ${req.successPct} % success, pause at ${req.errorPct} % errors`);
  let status = rollout.status;
  if (req.start) {
    // hawkBit's rollout scheduler (every 2 s by default) builds the groups ('creating' → 'ready')
    // and, after start, schedules the actions and starts the first group ('starting' →
    // 'running'): wait for each, so the rollout runs when publish returns.
    const deadline = Date.now() + (d.readyTimeoutMs ?? 120_000);
    const settle = async (passing: string) => {
      while (status === passing) {
        if (Date.now() > deadline) throw new PublishError(`rollout ${rollout.id} still ${status} in hawkBit after ${Math.round((d.readyTimeoutMs ?? 120_000) / 1000)} s: is its rollout scheduler running? Start it in hawkBit when it is ready`);
        await new Promise((r) => setTimeout(r, 500));
        status = (await d.hawkbit.getRollout(rollout.id))?.status ?? status;
      }
    };
    await settle('creating');
    if (status !== 'ready') throw new PublishError(`rollout ${rollout.id} is ${status} in hawkBit (approval needed?); start it there`);
    await d.hawkbit.startRollout(rollout.id);
    status = 'starting';
    await settle('starting');
    say(`rollout started (${status})`);
  }
  return { softwareModuleId: sm.id, distributionSetId: ds.id, rolloutId: rollout.id, rolloutName: rollout.name, status };
}
