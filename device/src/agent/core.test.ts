import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { LinuxActions } from './actions.ts';
import { AgentCore, type AppliedState } from './core.ts';

/** A device's root in a temporary directory, with stand-ins for systemctl, journalctl and the image's hooks. */
function device() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cdm-agent-'));
  const script = (name: string, body: string) => {
    const f = path.join(dir, name);
    fs.writeFileSync(f, `#!/bin/sh\n${body}\n`, { mode: 0o755 });
    return f;
  };
  const hooks = path.join(dir, 'self-test.d');
  fs.mkdirSync(hooks);
  const actions = new LinuxActions({
    stateDir: dir,
    selfTestDir: hooks,
    rebootCmd: [script('reboot', `echo "$@" >> ${dir}/reboots`)],
    recoveryCmd: [script('recovery', `touch ${dir}/recovery-requested`)],
    journalctl: script('journalctl', 'echo "args: $*"; echo "2026-11-29T10:00:00+0000 dev app[1]: started"'),
    configFile: path.join(dir, 'config.json'),
  });
  let saved: AppliedState | undefined;
  const core = (state: AppliedState = { config: {}, version: 0, at: 0 }) =>
    new AgentCore(
      actions,
      state,
      async (s) => void (saved = s),
      () => 1_000,
    );
  return { dir, hooks, script, core, saved: () => saved };
}

describe('device agent', () => {
  it('refuses unknown operations and parameters out of schema, with the reason', async () => {
    const d = device();
    const c = d.core();
    expect((await c.onRpc('rm-rf', {})).reply).toEqual({ ok: false, error: expect.stringMatching(/unknown operation "rm-rf"/) });
    expect((await c.onRpc('reboot', { delay_s: 'now' })).reply).toEqual({ ok: false, error: expect.stringMatching(/delay_s/) });
    expect(fs.existsSync(path.join(d.dir, 'reboots'))).toBe(false);
  });

  it('reboot answers first, then reboots; factory reset leaves the marker for the initramfs; recovery runs the hook', async () => {
    const d = device();
    const c = d.core();
    const r = await c.onRpc('reboot', {});
    expect(r.reply).toEqual({ ok: true, result: { rebooting_in_s: 0 } });
    expect(fs.existsSync(path.join(d.dir, 'reboots'))).toBe(false);
    await r.after!();
    expect(fs.readFileSync(path.join(d.dir, 'reboots'), 'utf8')).toBe('\n');
    await (
      await c.onRpc('factory-reset', {})
    ).after!();
    expect(fs.existsSync(path.join(d.dir, 'factory-reset'))).toBe(true);
    await (
      await c.onRpc('recovery', {})
    ).after!();
    expect(fs.existsSync(path.join(d.dir, 'recovery-requested'))).toBe(true);
    expect(fs.readFileSync(path.join(d.dir, 'reboots'), 'utf8').split('\n').length - 1).toBe(3);
  });

  it('diagnostics: journal lines since, the self-test hooks (failures named), sensors', async () => {
    const d = device();
    fs.writeFileSync(path.join(d.hooks, '10-storage'), '#!/bin/sh\necho storage ok\n', { mode: 0o755 });
    fs.writeFileSync(path.join(d.hooks, '20-modem'), '#!/bin/sh\necho "modem not answering" >&2\nexit 3\n', { mode: 0o755 });
    fs.writeFileSync(path.join(d.hooks, 'README'), 'not a check\n');
    const r = await d.core().onRpc('diagnostics', { logs_since_s: 600, log_lines: 50, self_test: true, sensors: true });
    expect(r.reply.ok).toBe(true);
    const res = (r.reply as { result: any }).result;
    expect(res.logs[0]).toBe('args: --no-pager -o short-iso -n 50 --since -600s');
    expect(res.self_test).toEqual({
      ok: false,
      checks: [
        { name: '10-storage', ok: true, output: 'storage ok\n' },
        { name: '20-modem', ok: false, output: 'modem not answering\n' },
      ],
    });
    expect(res.sensors.uptime_s).toBeGreaterThan(0);
  });

  it('configuration: applied atomically and reported; an invalid version refused and reported, the applied one kept', async () => {
    const d = device();
    const c = d.core();
    expect(await c.onDesired({ config: { sampling_interval_s: 5 }, config_version: 1 })).toEqual({
      config_reported: { sampling_interval_s: 5 },
      config_reported_version: 1,
      config_last_sync: 1_000,
      config_error: '',
      config_error_version: 0,
    });
    expect(JSON.parse(fs.readFileSync(path.join(d.dir, 'config.json'), 'utf8'))).toEqual({ sampling_interval_s: 5 });
    // The same version again (a reconnect's request) changes nothing.
    expect(await c.onDesired({ config: { sampling_interval_s: 5 }, config_version: 1 })).toBeUndefined();
    const refused = await c.onDesired({ config: JSON.stringify({ sampling_interval_s: 5, turbo: true }), config_version: 2 });
    expect(refused).toMatchObject({ config_reported_version: 1, config_error: expect.stringMatching(/refused version 2: configuration: .*turbo/), config_error_version: 2 });
    expect(JSON.parse(fs.readFileSync(path.join(d.dir, 'config.json'), 'utf8'))).toEqual({ sampling_interval_s: 5 });
    expect(await c.onDesired({ config: { log_level: 'debug' }, config_version: 3 })).toMatchObject({ config_reported: { log_level: 'debug' }, config_reported_version: 3, config_error: '' });
    // After a restart the applied state is remembered: version 3 is not applied again.
    const again = d.core(d.saved());
    expect(await again.onDesired({ config: { log_level: 'debug' }, config_version: 3 })).toBeUndefined();
    // config-apply re-applies the desired configuration now.
    expect((await again.onRpc('config-apply', {})).reply).toMatchObject({ ok: true, result: { applied_version: 3 } });
  });

  it('config-apply before any desired configuration arrived says so', async () => {
    expect((await device().core().onRpc('config-apply', {})).reply).toEqual({ ok: false, error: 'no desired configuration received from the platform yet' });
  });
});
