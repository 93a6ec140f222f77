import { parseConfig, parseOperation, SHADOW, type DeviceConfig, type Operation, type RpcReply } from '@cdm/common';

/** What a device does for each operation: the real agent runs commands, the simulator changes its model. */
export interface DeviceActions {
  /** Schedules a reboot after `delayS` (the reply goes out first). */
  reboot(delayS: number): Promise<void>;
  /** Marks the data partition for wiping at next boot, then reboots. */
  factoryReset(): Promise<void>;
  /** Boots into the recovery system. */
  recovery(): Promise<void>;
  logs(sinceS: number | undefined, lines: number): Promise<string[]>;
  selfTest(): Promise<{ name: string; ok: boolean; output: string }[]>;
  sensors(): Promise<Record<string, number | string>>;
  /** Applies a validated configuration atomically (written whole, then switched to). */
  applyConfig(config: DeviceConfig): Promise<void>;
}

/** The applied state the agent keeps across restarts and reports as client attributes. */
export interface AppliedState {
  config: DeviceConfig;
  version: number;
  at: number;
  error?: { version: number; message: string };
}

export type Attributes = Record<string, unknown>;

export const reportedAttributes = (s: AppliedState): Attributes => ({
  [SHADOW.reported]: s.config,
  [SHADOW.reportedVersion]: s.version,
  [SHADOW.lastSync]: s.at,
  [SHADOW.error]: s.error?.message ?? '',
  [SHADOW.errorVersion]: s.error?.version ?? 0,
});

/**
 * The agent's protocol, independent of MQTT: an RPC in, a reply out; desired configuration in,
 * reported attributes out. It refuses what it does not know (operation, parameters, configuration
 * keys) with the reason, so the platform sees why instead of a silent no.
 */
export class AgentCore {
  /** Operations run one at a time: a reboot never races a factory reset. */
  private busy: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly actions: DeviceActions,
    public state: AppliedState,
    private readonly persist: (s: AppliedState) => Promise<void>,
    private readonly now: () => number = Date.now,
    /** The latest desired configuration ThingsBoard has pushed (config-apply re-applies it). */
    private desired?: { config: unknown; version: number },
  ) {}

  async onRpc(method: string, params: unknown): Promise<{ reply: RpcReply; after?: () => Promise<void> }> {
    const op = parseOperation(method, params);
    if (!op.ok) return { reply: { ok: false, error: op.error } };
    const run = this.busy.then(() => this.execute(method as Operation, op.params));
    this.busy = run.catch(() => undefined);
    try {
      return await run;
    } catch (err) {
      return { reply: { ok: false, error: `${method} failed on the device: ${(err as Error).message}` } };
    }
  }

  /** Desired configuration from shared attributes (pushed or requested); returns what to report, if anything changed. */
  async onDesired(attrs: Attributes): Promise<Attributes | undefined> {
    const version = Number(attrs[SHADOW.desiredVersion]);
    if (!Number.isInteger(version) || version <= 0) return undefined;
    this.desired = { config: attrs[SHADOW.desired], version };
    if (version <= this.state.version || version === this.state.error?.version) return undefined;
    return this.apply(this.desired);
  }

  private async apply(d: { config: unknown; version: number }): Promise<Attributes> {
    const raw = typeof d.config === 'string' ? safeJson(d.config) : d.config;
    const parsed = parseConfig(raw ?? {});
    if (!parsed.ok) {
      this.state = { ...this.state, error: { version: d.version, message: `refused version ${d.version}: ${parsed.error}` } };
    } else {
      try {
        await this.actions.applyConfig(parsed.config);
        this.state = { config: parsed.config, version: d.version, at: this.now() };
      } catch (err) {
        this.state = { ...this.state, error: { version: d.version, message: `applying version ${d.version} failed: ${(err as Error).message}` } };
      }
    }
    await this.persist(this.state);
    return reportedAttributes(this.state);
  }

  private async execute(op: Operation, p: Record<string, unknown>): Promise<{ reply: RpcReply; after?: () => Promise<void> }> {
    switch (op) {
      case 'reboot': {
        const delay = Number(p.delay_s ?? 0);
        return { reply: { ok: true, result: { rebooting_in_s: delay } }, after: () => this.actions.reboot(delay) };
      }
      case 'factory-reset':
        return { reply: { ok: true, result: { factory_reset: 'data partition marked for wiping; rebooting' } }, after: () => this.actions.factoryReset() };
      case 'recovery':
        return { reply: { ok: true, result: { recovery: 'rebooting into the recovery system' } }, after: () => this.actions.recovery() };
      case 'diagnostics': {
        const result: Record<string, unknown> = { at: new Date(this.now()).toISOString(), config_version: this.state.version };
        result.logs = await this.actions.logs(p.logs_since_s as number | undefined, Number(p.log_lines));
        if (p.self_test) {
          const checks = await this.actions.selfTest();
          result.self_test = { ok: checks.every((c) => c.ok), checks };
        }
        if (p.sensors) result.sensors = await this.actions.sensors();
        return { reply: { ok: true, result } };
      }
      case 'config-apply': {
        if (!this.desired) return { reply: { ok: false, error: 'no desired configuration received from the platform yet' } };
        const reported = await this.apply(this.desired);
        return this.state.version === this.desired.version
          ? { reply: { ok: true, result: { applied_version: this.state.version, reported } } }
          : { reply: { ok: false, error: this.state.error?.message ?? 'not applied' } };
      }
    }
  }
}

function safeJson(s: string): unknown {
  try {
    return JSON.parse(s);
  } catch {
    return s;
  }
}
