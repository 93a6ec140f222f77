import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { targetDescription } from '@cdm/common';
import { repoDir } from '@cdm/stack';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { otaScene } from './e2e.test-helpers.ts';
import { ALARM_FAILURE } from './tb-ota.ts';

/**
 * The device's boot health check (device/health.sh) after an update, against the real hawkBit and
 * ota-bridge: RAUC and the bootloader are stand-ins (a `rauc` on PATH and a `reboot` that boots the
 * primary slot, keeping their state in a file), the image's checks a hook directory. A healthy slot
 * is marked good and the update reported successful; a slot that fails its checks three times is
 * marked bad, the failure reported by DDI feedback — ota-bridge raises OTA Failure — and the device
 * reboots into the previous slot.
 */
const stack = inject('stack');
const scene = await otaScene(stack, 'health', 2);
const [good, bad] = scene.devices as [string, string];
const exec = promisify(execFile);
const VERSION = '4.0.0';
afterAll(() => scene.close(), 120_000);

/** A device's files: configuration, enrollment state, hooks, and the RAUC/bootloader stand-ins. */
function deviceRoot(id: string, hooks: Record<string, string>) {
  const root = fs.mkdtempSync(path.join(scene.tmp, `dev-${id}-`));
  const [etc, state, bin] = ['etc', 'state', 'bin'].map((d) => path.join(root, d)) as [string, string, string];
  for (const d of [etc, state, bin, path.join(etc, 'health.d')]) fs.mkdirSync(d, { recursive: true });
  const boot = path.join(root, 'bootloader.json');
  // After the install the updater made slot B primary and rebooted: B runs on trial, A is the previous one.
  fs.writeFileSync(boot, JSON.stringify({ booted: 'B', primary: 'B', slots: { A: 'good', B: 'unconfirmed' } }));
  const script = (name: string, body: string) => fs.writeFileSync(path.join(bin, name), `#!/usr/bin/env bash\nset -euo pipefail\nB=${boot}\n${body}\n`, { mode: 0o755 });
  script(
    'rauc',
    [
      'case "$*" in',
      '  "status --output-format=json") jq -c "{booted}" "$B" ;;',
      '  "status mark-good") jq ".slots[.booted] = \\"good\\"" "$B" > "$B.n" && mv "$B.n" "$B" ;;',
      // mark-bad: the bootloader will not start this slot again; the other one becomes primary.
      '  "status mark-bad") jq ".slots[.booted] = \\"bad\\" | .primary = (if .booted == \\"A\\" then \\"B\\" else \\"A\\" end)" "$B" > "$B.n" && mv "$B.n" "$B" ;;',
      '  *) echo "rauc stand-in: unknown $*" >&2; exit 2 ;;',
      'esac',
    ].join('\n'),
  );
  script('reboot', 'jq ".booted = .primary | .reboots = ((.reboots // 0) + 1)" "$B" > "$B.n" && mv "$B.n" "$B"');
  for (const [name, body] of Object.entries(hooks)) fs.writeFileSync(path.join(etc, 'health.d', name), `#!/usr/bin/env bash\n${body}\n`, { mode: 0o755 });
  fs.writeFileSync(path.join(etc, 'device-config'), [`HAWKBIT_URL=${scene.config.HAWKBIT_URL}`, 'HEALTH_RETRY_SECONDS=0', `REBOOT_CMD=${path.join(bin, 'reboot')}`, ''].join('\n'));
  fs.writeFileSync(path.join(state, 'enrollment.json'), JSON.stringify({ deviceId: id, tenantId: scene.cdmId }));
  fs.writeFileSync(path.join(state, 'hawkbit.token'), scene.tokens[id]!);
  const run = () =>
    exec('bash', [path.join(repoDir, 'device', 'health.sh')], { env: { PATH: `${bin}:${process.env.PATH}`, CDM_ETC: etc, CDM_STATE: state } }).then(
      (r) => ({ code: 0, err: r.stderr }),
      (e: { code: number; stderr: string }) => ({ code: e.code, err: e.stderr }),
    );
  return { root, state, boot: () => JSON.parse(fs.readFileSync(boot, 'utf8')) as { booted: string; primary: string; slots: Record<string, string>; reboots?: number }, run };
}

/** The updater's part: the deployment fetched and installed, "proceeding" reported, the action left for the health check. */
async function installed(id: string, state: string): Promise<number> {
  const p = await scene.ddi[id]!.poll();
  const actionId = p.deploymentActionId!;
  expect(actionId, `${id} has a deployment`).toBeDefined();
  await scene.ddi[id]!.getDeploymentBase(actionId);
  await scene.ddi[id]!.sendFeedback(actionId, { execution: 'proceeding', finished: 'none', details: ['rauc install: ok, rebooting into slot B'] });
  fs.writeFileSync(path.join(state, 'ota-pending'), JSON.stringify({ actionId, version: VERSION }));
  return actionId;
}
const actionStatus = async (id: string, actionId: number) => (await scene.hawkbit.targetActions(id)).find((a) => a.id === actionId);

beforeAll(async () => {
  const { hawkbit, cdmId } = scene;
  const sm = await hawkbit.createSoftwareModule({ name: `rauc-${cdmId}`, version: VERSION, type: 'os' });
  const ds = await hawkbit.createDistributionSet({ name: `firmware-${cdmId}`, version: VERSION, type: 'os', description: targetDescription(cdmId), modules: [{ id: sm.id }] });
  for (const d of scene.devices) await hawkbit.assignDistributionSet(d, ds.id, 'forced');
});

describe('boot health check and rollback (device/health.sh)', () => {
  it('marks a healthy new slot good and reports the update successful with the running version', async () => {
    const dev = deviceRoot(good, { '10-platform': 'exit 0', '20-app': 'echo "app ok"' });
    const actionId = await installed(good, dev.state);
    const r = await dev.run();
    expect(r.code, r.err).toBe(0);
    expect(dev.boot()).toMatchObject({ booted: 'B', slots: { A: 'good', B: 'good' } });
    expect(dev.boot().reboots).toBeUndefined();
    expect(fs.existsSync(path.join(dev.state, 'ota-pending'))).toBe(false);
    expect(await actionStatus(good, actionId)).toMatchObject({ status: 'finished', active: false });
    const messages = (await scene.hawkbit.actionStatuses(good, actionId))!.content.flatMap((s) => s.messages ?? []);
    expect(messages.join('\n')).toContain(`booted slot B healthy, running ${VERSION}`);
    expect(r.err).not.toContain(scene.tokens[good]!); // the token never reaches a log
  });

  it('after three failed attempts marks the slot bad, reports the failure (OTA Failure in ThingsBoard) and reboots into the previous slot', async () => {
    const dev = deviceRoot(bad, { '10-platform': 'exit 0', '20-app': `echo x >> ${scene.tmp}/attempts-${bad}; echo "sensor bus not found" >&2; exit 1` });
    const actionId = await installed(bad, dev.state);
    const r = await dev.run();
    expect(r.code, r.err).toBe(0); // the reboot stand-in returned
    expect(
      fs
        .readFileSync(path.join(scene.tmp, `attempts-${bad}`), 'utf8')
        .trim()
        .split('\n'),
    ).toHaveLength(3);
    expect(dev.boot()).toMatchObject({ booted: 'A', primary: 'A', slots: { A: 'good', B: 'bad' }, reboots: 1 });
    expect(await actionStatus(bad, actionId)).toMatchObject({ status: 'error', active: false });
    const messages = (await scene.hawkbit.actionStatuses(bad, actionId))!.content.flatMap((s) => s.messages ?? []).join('\n');
    expect(messages).toContain('slot B failed its health checks 3 times; rolled back to the previous slot');
    expect(messages).toContain('20-app: sensor bus not found');
    // ota-bridge mirrors hawkBit's failure: the device's OTA Failure alarm names it.
    await scene.bridge().mirror.pass();
    expect(await scene.attrs(bad)).toMatchObject({ ota_status: 'failure', ota_target_version: VERSION });
    const alarms = await scene.alarms(scene.dev(bad), ALARM_FAILURE);
    expect(alarms).toMatchObject([{ cleared: false, details: { messages: expect.arrayContaining([expect.stringContaining('failed its health checks 3 times')]) } }]);
  });
});
