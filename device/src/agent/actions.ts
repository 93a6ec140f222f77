import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type { DeviceConfig } from '@cdm/common';
import type { DeviceActions } from './core.ts';

const run = promisify(execFile);

export interface LinuxActionsOptions {
  /** The agent's state directory (the same as enroll.sh's, /var/lib/cdm). */
  stateDir: string;
  /** Executables run in order by the self-test (the image's checks), e.g. /usr/lib/cdm/self-test.d. */
  selfTestDir: string;
  /** Argument vectors, not shell lines: no shell ever sees a parameter. */
  rebootCmd: string[];
  recoveryCmd: string[];
  journalctl: string;
  /** Applied configuration: written whole to a temporary file, synced, then renamed over this one. */
  configFile: string;
  /** Run after a configuration is switched to (e.g. systemctl reload of the application), if set. */
  reloadCmd?: string[];
  hookTimeoutMs?: number;
}

/** The operations on a Linux device: systemd for reboot, the image's hooks, journald for logs. */
export class LinuxActions implements DeviceActions {
  constructor(private readonly o: LinuxActionsOptions) {}

  async reboot(delayS: number): Promise<void> {
    if (delayS > 0) await new Promise((r) => setTimeout(r, delayS * 1000));
    await run(this.o.rebootCmd[0]!, this.o.rebootCmd.slice(1));
  }

  async factoryReset(): Promise<void> {
    // The data partition is wiped by the initramfs at next boot when this marker is there; wiping
    // the running system from here would pull the agent's own files from under it.
    await fs.writeFile(path.join(this.o.stateDir, 'factory-reset'), `${new Date().toISOString()}\n`, { mode: 0o600 });
    await this.reboot(0);
  }

  async recovery(): Promise<void> {
    await run(this.o.recoveryCmd[0]!, this.o.recoveryCmd.slice(1));
    await this.reboot(0);
  }

  async logs(sinceS: number | undefined, lines: number): Promise<string[]> {
    const args = ['--no-pager', '-o', 'short-iso', '-n', String(lines), ...(sinceS ? ['--since', `-${sinceS}s`] : [])];
    try {
      const { stdout } = await run(this.o.journalctl, args, { maxBuffer: 4 * 1024 * 1024, timeout: 20_000 });
      return stdout.split('\n').filter(Boolean).slice(-lines);
    } catch (err) {
      return [`journalctl failed: ${(err as Error).message.split('\n')[0]}`];
    }
  }

  async selfTest(): Promise<{ name: string; ok: boolean; output: string }[]> {
    let names: string[];
    try {
      names = (await fs.readdir(this.o.selfTestDir)).sort();
    } catch {
      return [{ name: '(self-test hooks)', ok: false, output: `no hook directory ${this.o.selfTestDir}` }];
    }
    const out: { name: string; ok: boolean; output: string }[] = [];
    for (const name of names) {
      const file = path.join(this.o.selfTestDir, name);
      try {
        await fs.access(file, fs.constants.X_OK);
      } catch {
        continue; // not executable: not a check (README, disabled hooks)
      }
      try {
        const { stdout, stderr } = await run(file, [], { timeout: this.o.hookTimeoutMs ?? 30_000, maxBuffer: 256 * 1024 });
        out.push({ name, ok: true, output: `${stdout}${stderr}`.slice(-2000) });
      } catch (err) {
        const e = err as Error & { stdout?: string; stderr?: string; code?: number | string };
        out.push({ name, ok: false, output: `${e.stdout ?? ''}${e.stderr ?? ''}`.slice(-2000) || `exit ${e.code ?? e.message}` });
      }
    }
    return out;
  }

  async sensors(): Promise<Record<string, number | string>> {
    const out: Record<string, number | string> = { uptime_s: Math.round(os.uptime()), load_1m: os.loadavg()[0]!, mem_free_mb: Math.round(os.freemem() / 1048576) };
    const read = async (f: string) => (await fs.readFile(f, 'utf8').catch(() => '')).trim();
    for (const zone of await fs.readdir('/sys/class/thermal').catch(() => [] as string[])) {
      const t = Number(await read(`/sys/class/thermal/${zone}/temp`));
      if (Number.isFinite(t) && t > 0) out[`${zone}_c`] = t / 1000;
    }
    for (const ps of await fs.readdir('/sys/class/power_supply').catch(() => [] as string[])) {
      const c = await read(`/sys/class/power_supply/${ps}/capacity`);
      if (c) out[`${ps}_pct`] = Number(c);
    }
    return out;
  }

  async applyConfig(config: DeviceConfig): Promise<void> {
    const tmp = `${this.o.configFile}.tmp`;
    const fh = await fs.open(tmp, 'w', 0o644);
    try {
      await fh.writeFile(`${JSON.stringify(config, null, 2)}\n`);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await fs.rename(tmp, this.o.configFile);
    if (this.o.reloadCmd?.length) await run(this.o.reloadCmd[0]!, this.o.reloadCmd.slice(1), { timeout: 30_000 });
  }
}
