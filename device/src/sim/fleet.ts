import { EventEmitter } from 'node:events';
import type { MqttClient } from 'mqtt';
import { connectDevice, type BrokerOptions } from './connection.ts';
import { DEFAULT_PROFILE, VirtualDevice, type FleetProfile, type UpdateOutcome } from './device-model.ts';
import type { DeviceIdentity, InfluxTarget } from './identity.ts';
import { HealthWriter, healthPoint } from './influx-writer.ts';
import { deviceSeed, rng } from './rng.ts';
import { topics } from './schema.ts';
import { AgentCore } from '../agent/core.ts';
import { SimActions } from './sim-actions.ts';
import { RpcRequest } from '@cdm/common';

export interface FleetOptions {
  identities: DeviceIdentity[];
  broker: BrokerOptions;
  /** InfluxDB v2 API base URL devices write health to (the token comes with each identity). */
  influxUrl: string;
  sampleIntervalS?: number;
  windowS?: number;
  seed?: number;
  profile?: Partial<FleetProfile>;
  /** TLS handshakes in flight at once while the fleet comes up. */
  connectConcurrency?: number;
  /** Time between "UPDATING" and the reboot result. */
  installDelayMs?: number;
  /** How long a rebooting device is offline. */
  rebootMs?: number;
  now?: () => number;
}

export interface FleetStats {
  devices: number;
  connected: number;
  connectFailures: number;
  reconnects: number;
  /** MQTT messages the broker acknowledged (QoS 1). */
  messages: number;
  publishFailures: number;
  windows: number;
  attributeUpdates: number;
  updatesOk: number;
  updatesFailed: number;
  points: number;
  failedPoints: number;
  /** Operations received over RPC (the agent protocol), and reboots they caused. */
  rpcs: number;
  reboots: number;
  lastError?: string;
}

interface SimDevice {
  identity: DeviceIdentity;
  model: VirtualDevice;
  topics: ReturnType<typeof topics>;
  client?: MqttClient;
  /** Offset of this device's window in the fleet's, so reports spread out instead of arriving in one burst. */
  phaseMs: number;
  lastSampleMs: number;
  nextSampleMs: number;
  nextFlushMs: number;
  /** The agent protocol, as on a real device. */
  agent: AgentCore;
  actions: SimActions;
}

export type FleetEvents = { update: [{ device: string; outcome: UpdateOutcome }]; error: [Error] };

/**
 * N virtual devices in one process: each with its own mutual-TLS MQTT session, sampling on its
 * own schedule and sending one aggregate per window (telemetry over MQTT, health point to
 * InfluxDB). One timer drives every device, so a thousand cost one loop, not a thousand timers.
 */
export class Fleet extends EventEmitter<FleetEvents> {
  private readonly devices = new Map<string, SimDevice>();
  private readonly writer: HealthWriter;
  private readonly now: () => number;
  private timer: NodeJS.Timeout | undefined;
  private readonly counts = { connected: 0, connectFailures: 0, reconnects: 0, messages: 0, publishFailures: 0, windows: 0, attributeUpdates: 0, updatesOk: 0, updatesFailed: 0, rpcs: 0 };

  constructor(private readonly o: FleetOptions) {
    super();
    this.now = o.now ?? Date.now;
    this.writer = new HealthWriter({ url: o.influxUrl });
    const profile = { ...DEFAULT_PROFILE, ...o.profile };
    const start = this.now();
    const windowS = o.windowS ?? 10;
    o.identities.forEach((identity, i) => {
      const r = rng(deviceSeed(o.seed ?? 1, i));
      const model = new VirtualDevice(identity.id, identity.tenant, r, start, { sampleIntervalS: o.sampleIntervalS ?? 1, windowS }, profile);
      const phaseMs = Math.floor(r() * windowS * 1000);
      const d = { identity, model, topics: topics(identity.id, o.broker.broker), phaseMs, lastSampleMs: start, nextSampleMs: start, nextFlushMs: start + phaseMs } as SimDevice;
      d.actions = new SimActions(model, () => this.reboot(d), this.now);
      d.agent = new AgentCore(d.actions, { config: {}, version: 0, at: 0 }, async () => undefined, this.now);
      this.devices.set(identity.id, d);
    });
  }

  /** Connects every device (`connectConcurrency` handshakes at a time), then starts the clock. */
  async start(onConnected?: (n: number) => void): Promise<void> {
    const list = [...this.devices.values()];
    let next = 0;
    await Promise.all(
      Array.from({ length: Math.min(this.o.connectConcurrency ?? 32, list.length) }, async () => {
        while (next < list.length) {
          const d = list[next++]!;
          try {
            await this.connect(d);
            this.counts.connected++;
            onConnected?.(this.counts.connected);
          } catch (err) {
            this.counts.connectFailures++;
            this.emit('error', new Error(`${d.identity.id}: connect failed: ${(err as Error).message}`));
          }
        }
      }),
    );
    this.startClock();
    this.timer = setInterval(() => this.tick(), 200);
  }

  /** Samples and windows count from now (connecting a thousand devices takes a while). */
  startClock(): void {
    const begin = this.now();
    for (const d of this.devices.values()) {
      d.lastSampleMs = d.nextSampleMs = begin;
      d.nextFlushMs = begin + d.phaseMs;
    }
  }

  private async connect(d: SimDevice): Promise<void> {
    const client = await connectDevice(d.identity, this.o.broker);
    d.client = client;
    const rpcPrefix = d.topics.rpcRequest.slice(0, -1);
    const responsePrefix = d.topics.attributesResponse.slice(0, -1);
    client.on('reconnect', () => this.counts.reconnects++);
    client.on('error', () => undefined); // a dropped session reconnects; errors are counted as reconnects
    client.on('message', (topic, payload) => {
      let body: unknown;
      try {
        body = JSON.parse(payload.toString());
      } catch {
        return; // not ours to judge; a device ignores what it cannot read
      }
      if (!body || typeof body !== 'object' || Array.isArray(body)) return;
      if (topic.startsWith(rpcPrefix)) return void this.onRpc(d, client, topic.slice(rpcPrefix.length), body);
      const attrs = topic.startsWith(responsePrefix) ? ((body as { shared?: Record<string, unknown> }).shared ?? {}) : (body as Record<string, unknown>);
      if (topic !== d.topics.attributes && !topic.startsWith(responsePrefix)) return;
      const effects = d.model.onAttributes(attrs);
      if (effects.length) this.counts.attributeUpdates++;
      for (const e of effects) if (e.kind === 'install') void this.install(d.identity.id, e.version);
      void d.agent.onDesired(attrs).then((reported) => reported && this.publish(d, d.topics.attributes, reported));
    });
    await client.subscribeAsync([d.topics.attributes, d.topics.rpcRequest, d.topics.attributesResponse], { qos: 1 });
    this.publish(d, d.topics.attributes, { current_sw_version: d.model.swVersion, boot_ms: d.model.bootMs });
    this.publish(d, d.topics.attributesRequest(1), { sharedKeys: 'config,config_version' });
  }

  private async onRpc(d: SimDevice, client: MqttClient, id: string, body: unknown): Promise<void> {
    this.counts.rpcs++;
    const req = RpcRequest.safeParse(body);
    const { reply, after } = req.success ? await d.agent.onRpc(req.data.method, req.data.params) : { reply: { ok: false as const, error: 'not an RPC request' }, after: undefined };
    await client.publishAsync(d.topics.rpcResponse(id), JSON.stringify(reply), { qos: 1 }).catch(() => this.counts.publishFailures++);
    if (after) await after().catch((err: Error) => this.emit('error', new Error(`${d.identity.id}: ${err.message}`)));
  }

  /** A reboot: the session drops for rebootMs, then the device connects again as after a boot. */
  private async reboot(d: SimDevice): Promise<void> {
    const old = d.client;
    d.client = undefined;
    await old?.endAsync().catch(() => undefined);
    await new Promise((r) => setTimeout(r, this.o.rebootMs ?? 2000));
    try {
      await this.connect(d);
    } catch (err) {
      this.counts.connectFailures++;
      this.emit('error', new Error(`${d.identity.id}: reconnect after reboot failed: ${(err as Error).message}`));
    }
  }

  private publish(d: SimDevice, topic: string, body: unknown): void {
    d.client?.publish(topic, JSON.stringify(body), { qos: 1 }, (err) => {
      if (err) this.counts.publishFailures++;
      else this.counts.messages++;
    });
  }

  /** Advances every device whose sample or window is due; public for tests with a fake clock. */
  tick(): void {
    const now = this.now();
    for (const d of this.devices.values()) {
      const c = d.model.config;
      if (now >= d.nextSampleMs) {
        d.model.sample((now - d.lastSampleMs) / 1000);
        d.lastSampleMs = now;
        d.nextSampleMs = now + c.sampleIntervalS * 1000;
      }
      if (now >= d.nextFlushMs) {
        d.nextFlushMs = now + c.windowS * 1000;
        const v = d.model.flush(now);
        if (!v) continue;
        this.counts.windows++;
        const { sw_version, sw_version_code: _code, ...values } = v;
        if (d.client?.connected) this.publish(d, d.topics.telemetry, { ts: now, values: { ...values, current_sw_version: sw_version } });
        this.writer.write(d.identity.influx, healthPoint(d.identity.tenant, d.identity.id, v, now));
      }
    }
  }

  /**
   * The update hook the OTA tests use: installs `version` as the device would after a download,
   * reporting ThingsBoard's sw_state telemetry; a device told `fail_update` reports FAILED and
   * keeps running its previous version.
   */
  async install(deviceId: string, version: string): Promise<UpdateOutcome> {
    const d = this.devices.get(deviceId);
    if (!d) throw new Error(`no simulated device ${deviceId}`);
    this.publish(d, d.topics.telemetry, { ts: this.now(), values: { sw_state: 'UPDATING', target_sw_version: version } });
    await new Promise((r) => setTimeout(r, this.o.installDelayMs ?? 2000));
    const outcome = d.model.install(version, this.now());
    if (outcome.ok) this.counts.updatesOk++;
    else this.counts.updatesFailed++;
    this.publish(d, d.topics.telemetry, {
      ts: this.now(),
      values: outcome.ok ? { sw_state: 'UPDATED', current_sw_version: version } : { sw_state: 'FAILED', sw_error: outcome.error, current_sw_version: outcome.running },
    });
    this.publish(d, d.topics.attributes, { current_sw_version: d.model.swVersion });
    this.emit('update', { device: deviceId, outcome });
    return outcome;
  }

  /** Read access to one device's state (version, battery, config) for tests and the demo. */
  device(id: string): VirtualDevice | undefined {
    return this.devices.get(id)?.model;
  }

  /** One device's agent side (its applied configuration, the operations it ran), for tests. */
  agent(id: string): { agent: AgentCore; actions: SimActions } | undefined {
    const d = this.devices.get(id);
    return d && { agent: d.agent, actions: d.actions };
  }

  stats(): FleetStats {
    let reboots = 0;
    for (const d of this.devices.values()) reboots += d.actions.reboots;
    return { devices: this.devices.size, ...this.counts, reboots, ...this.writer.stats };
  }

  /** Health points InfluxDB accepted, per device id. */
  pointsByDevice(): ReadonlyMap<string, number> {
    return this.writer.acked;
  }

  /** Stops the clock, sends what is buffered, closes every session. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.writer.close();
    await Promise.all([...this.devices.values()].map((d) => d.client?.endAsync().catch(() => undefined)));
  }
}

/**
 * Devices that went silent a day or more ago: one last health point each, 25–73 h old, so the
 * "offline > 24 h" panel and alert have something to show on a fresh stack.
 */
export async function writeSilentDevices(o: { influxUrl: string; influx: InfluxTarget; tenant: string; ids: string[]; seed?: number; now?: number }): Promise<void> {
  const writer = new HealthWriter({ url: o.influxUrl });
  const now = o.now ?? Date.now();
  o.ids.forEach((id, i) => {
    const r = rng(deviceSeed((o.seed ?? 1) ^ 0x5111e47, i));
    const lastSeen = now - (25 + r() * 48) * 3_600_000;
    const m = new VirtualDevice(id, o.tenant, r, lastSeen, { sampleIntervalS: 1, windowS: 10 });
    m.sample(1);
    writer.write(o.influx, healthPoint(o.tenant, id, m.flush(lastSeen)!, lastSeen));
  });
  await writer.close();
  if (writer.stats.failedPoints) throw new Error(`writing silent devices failed: ${writer.stats.lastError}`);
}
