import { WindowAggregator, type Sample, type WindowAggregate } from './aggregator.ts';
import { pick, type Rng } from './rng.ts';
import { versionCode } from './schema.ts';

export interface FleetProfile {
  /** Software versions the fleet starts with, with their weights. */
  versions: readonly (readonly [string, number])[];
  /** Share of devices that start with a low battery (a few percent), so alert rules have something to show. */
  lowBatteryShare: number;
  /** Share of devices in poor coverage (mean signal below -90 dBm). */
  weakSignalShare: number;
  /** Share of flaky devices (2–5 % of samples fail instead of 0.1 %). */
  flakyShare: number;
  /** Share of devices told from the start to fail updates (as `fail_update=true` would). */
  failUpdateShare: number;
  /**
   * A battery that falls to this (%) is charged full again, as devices in service are: without it
   * the default drain empties the fleet within days, so runs longer than that set it.
   */
  rechargeAtPct?: number;
}

export const DEFAULT_PROFILE: FleetProfile = {
  versions: [
    ['1.4.0', 0.85],
    ['1.3.2', 0.15],
  ],
  lowBatteryShare: 0.03,
  weakSignalShare: 0.05,
  flakyShare: 0.05,
  failUpdateShare: 0,
};

/** Shared attributes a device reacts to (ThingsBoard pushes them on the attributes topic). */
export interface DeviceConfig {
  sampleIntervalS: number;
  windowS: number;
  failUpdate: boolean;
}

export type UpdateOutcome = { ok: true; version: string } | { ok: false; version: string; running: string; error: string };

export type Effect = { kind: 'install'; version: string } | { kind: 'reconfigured'; keys: string[] };

/**
 * A virtual device's state: battery draining, signal wandering around its site's level, errors at
 * its own rate, the software it runs. Time is passed in (never read from the clock) so it is pure.
 */
export class VirtualDevice {
  battery: number;
  signal: number;
  swVersion: string;
  updateFailures = 0;
  bootMs: number;
  config: DeviceConfig;
  private readonly signalBase: number;
  private readonly errorP: number;
  private readonly drainPerS: number;
  private readonly rechargeAt: number | undefined;
  private readonly agg = new WindowAggregator();
  private lastTarget: string | undefined;

  constructor(
    readonly id: string,
    readonly tenant: string,
    private readonly rand: Rng,
    nowMs: number,
    config: Omit<DeviceConfig, 'failUpdate'>,
    profile: FleetProfile = DEFAULT_PROFILE,
  ) {
    const r = rand;
    this.battery = r() < profile.lowBatteryShare ? 2 + r() * 7 : 20 + r() * 80;
    this.signalBase = r() < profile.weakSignalShare ? -92 - r() * 15 : -55 - r() * 30;
    this.signal = this.signalBase;
    this.errorP = r() < profile.flakyShare ? 0.02 + r() * 0.03 : 0.001;
    this.drainPerS = (0.5 + r() * 2.5) / 3600;
    this.swVersion = pick(r, profile.versions);
    this.rechargeAt = profile.rechargeAtPct;
    // Booted some time in the last week: uptimes differ as in a real fleet.
    this.bootMs = nowMs - Math.floor(r() * 7 * 86_400_000);
    this.config = { ...config, failUpdate: r() < profile.failUpdateShare };
  }

  /** One reading; `dtS` seconds since the previous one. */
  sample(dtS: number): Sample {
    const r = this.rand;
    this.battery = Math.max(0, this.battery - this.drainPerS * dtS + (r() - 0.5) * 0.02);
    if (this.rechargeAt !== undefined && this.battery <= this.rechargeAt) this.battery = 100;
    // Mean-reverting walk: stays near the site's level, moves a few dB between readings.
    this.signal = Math.max(-120, Math.min(-30, this.signal + (this.signalBase - this.signal) * 0.2 + (r() - 0.5) * 4));
    const s: Sample = { battery: this.battery, signal: this.signal, error: r() < this.errorP };
    this.agg.add(s);
    return s;
  }

  /** Closes the aggregation window: what goes on the wire. */
  flush(nowMs: number): (WindowAggregate & { uptime_s: number; sw_version: string; sw_version_code: number; update_failures: number }) | undefined {
    const a = this.agg.flush();
    if (!a) return undefined;
    return { ...a, uptime_s: Math.floor((nowMs - this.bootMs) / 1000), sw_version: this.swVersion, sw_version_code: versionCode(this.swVersion), update_failures: this.updateFailures };
  }

  /**
   * Shared attributes from the server. Unknown keys (and the device's own client attributes,
   * which a plain broker echoes back) are ignored. `sw_version` is the target ThingsBoard assigns.
   */
  onAttributes(attrs: Record<string, unknown>): Effect[] {
    const out: Effect[] = [];
    const keys: string[] = [];
    if (typeof attrs.fail_update === 'boolean') {
      this.config.failUpdate = attrs.fail_update;
      keys.push('fail_update');
    }
    const num = (v: unknown, min: number, max: number) => (typeof v === 'number' && v >= min && v <= max ? v : undefined);
    const window = num(attrs.telemetry_window_s, 1, 3600);
    if (window !== undefined) {
      this.config.windowS = window;
      keys.push('telemetry_window_s');
    }
    const sample = num(attrs.sample_interval_s, 1, 600);
    if (sample !== undefined) {
      this.config.sampleIntervalS = sample;
      keys.push('sample_interval_s');
    }
    if (keys.length) out.push({ kind: 'reconfigured', keys });
    const target = attrs.sw_version;
    if (typeof target === 'string' && target !== this.swVersion && target !== this.lastTarget) {
      this.lastTarget = target;
      out.push({ kind: 'install', version: target });
    }
    return out;
  }

  /** Installs and reboots into `version`; told to fail, the boot fails and it falls back. */
  install(version: string, nowMs: number): UpdateOutcome {
    this.lastTarget = version;
    if (this.config.failUpdate) {
      this.updateFailures++;
      return { ok: false, version, running: this.swVersion, error: `boot of ${version} failed; fell back to ${this.swVersion}` };
    }
    this.swVersion = version;
    this.bootMs = nowMs;
    return { ok: true, version };
  }
}
