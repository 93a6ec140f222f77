import type { DeviceConfig } from '@cdm/common';
import type { DeviceActions } from '../agent/core.ts';
import type { VirtualDevice } from './device-model.ts';

/**
 * The agent's operations on a simulated device: the same protocol (AgentCore) as the real agent,
 * acting on the model. A reboot drops the device's MQTT session for `rebootMs` and starts a new
 * boot; a factory reset also forgets its configuration.
 */
export class SimActions implements DeviceActions {
  reboots = 0;
  factoryResets = 0;
  recoveries = 0;

  constructor(
    private readonly model: VirtualDevice,
    private readonly restart: () => Promise<void>,
    private readonly now: () => number,
  ) {}

  async reboot(delayS: number): Promise<void> {
    if (delayS > 0) await new Promise((r) => setTimeout(r, delayS * 1000));
    this.reboots++;
    this.model.bootMs = this.now();
    await this.restart();
  }

  async factoryReset(): Promise<void> {
    this.factoryResets++;
    await this.reboot(0);
  }

  async recovery(): Promise<void> {
    this.recoveries++;
    await this.reboot(0);
  }

  async logs(sinceS: number | undefined, lines: number): Promise<string[]> {
    const n = Math.min(lines, 5);
    const t = new Date(this.now()).toISOString();
    return Array.from({ length: n }, (_, i) => `${t} ${this.model.id} app[${100 + i}]: window flushed (since ${sinceS ?? 'boot'}s)`);
  }

  async selfTest(): Promise<{ name: string; ok: boolean; output: string }[]> {
    return [
      { name: '10-battery', ok: this.model.battery > 5, output: `battery ${this.model.battery.toFixed(1)} %` },
      { name: '20-radio', ok: this.model.signal > -110, output: `signal ${this.model.signal.toFixed(0)} dBm` },
    ];
  }

  async sensors(): Promise<Record<string, number | string>> {
    return {
      battery_pct: Math.round(this.model.battery * 10) / 10,
      signal_dbm: Math.round(this.model.signal),
      uptime_s: Math.floor((this.now() - this.model.bootMs) / 1000),
      sw_version: this.model.swVersion,
    };
  }

  async applyConfig(c: DeviceConfig): Promise<void> {
    if (c.sampling_interval_s) this.model.config.sampleIntervalS = c.sampling_interval_s;
    if (c.window_s) this.model.config.windowS = c.window_s;
  }
}
