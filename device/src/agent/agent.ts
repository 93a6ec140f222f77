import fs from 'node:fs/promises';
import mqtt, { type MqttClient } from 'mqtt';
import { AGENT_PROTOCOL_VERSION, RpcRequest, SHADOW } from '@cdm/common';
import { AgentCore, reportedAttributes, type AppliedState, type DeviceActions } from './core.ts';

export interface AgentOptions {
  /** ThingsBoard's MQTT/TLS listener, e.g. mqtts://tb.example.com:8883. */
  brokerUrl: string;
  /** PEM of the CA the broker's certificate chains to. */
  caPem: string;
  certPem: string;
  keyPem: string;
  /** Where the applied configuration is remembered across restarts. */
  stateFile: string;
  bootId: string;
  softwareVersion?: string;
  actions: DeviceActions;
  log: (msg: string) => void;
}

const TOPIC = {
  rpcRequest: 'v1/devices/me/rpc/request/+',
  rpcResponse: (id: string) => `v1/devices/me/rpc/response/${id}`,
  attributes: 'v1/devices/me/attributes',
  attributesRequest: (n: number) => `v1/devices/me/attributes/request/${n}`,
  attributesResponse: 'v1/devices/me/attributes/response/+',
};

async function loadState(file: string): Promise<AppliedState> {
  try {
    const s = JSON.parse(await fs.readFile(file, 'utf8')) as AppliedState;
    if (typeof s.version === 'number' && s.config && typeof s.config === 'object') return s;
  } catch {
    // first start, or a file from a crash mid-write (never: it is renamed into place)
  }
  return { config: {}, version: 0, at: 0 };
}

async function saveState(file: string, s: AppliedState): Promise<void> {
  await fs.writeFile(`${file}.tmp`, JSON.stringify(s), { mode: 0o600 });
  await fs.rename(`${file}.tmp`, file);
}

/**
 * The device agent: one MQTT session to ThingsBoard authenticated by the device certificate alone.
 * Executes RPC operations (reply first, then act: a reboot's answer must leave before the device
 * goes down), applies desired configuration pushed as shared attributes and asks for it on every
 * (re)connect, so a device that was offline catches up. What it reports is kept in `stateFile` and
 * published again on each connect; MQTT QoS 1 resends what a dropped session did not confirm.
 */
export class Agent {
  private constructor(
    private readonly client: MqttClient,
    readonly core: AgentCore,
  ) {}

  static async start(o: AgentOptions): Promise<Agent> {
    const state = await loadState(o.stateFile);
    const core = new AgentCore(o.actions, state, (s) => saveState(o.stateFile, s));
    const client = mqtt.connect(o.brokerUrl, {
      ca: o.caPem,
      cert: o.certPem,
      key: o.keyPem,
      protocolVersion: 4,
      keepalive: 30,
      clean: true,
      reconnectPeriod: 3000 + Math.floor(Math.random() * 2000),
      connectTimeout: 30_000,
    });
    const agent = new Agent(client, core);
    let request = 0;
    let shared: Record<string, unknown> = {};
    const publish = (topic: string, body: unknown) =>
      new Promise<void>((resolve) => client.publish(topic, JSON.stringify(body), { qos: 1 }, (err) => (err && o.log(`publish to ${topic} failed: ${err.message}`), resolve())));
    const onDesired = async (attrs: Record<string, unknown>) => {
      // ThingsBoard pushes only the keys that changed; the desired state is their union.
      shared = { ...shared, ...attrs };
      const reported = await core.onDesired(shared);
      if (reported) {
        o.log(`configuration version ${String(shared[SHADOW.desiredVersion])}: ${core.state.error ? core.state.error.message : 'applied'}`);
        await publish(TOPIC.attributes, reported);
      }
    };
    client.on('connect', () => {
      o.log('connected to ThingsBoard');
      client.subscribe([TOPIC.rpcRequest, TOPIC.attributes, TOPIC.attributesResponse], { qos: 1 }, (err) => {
        if (err) return o.log(`subscribe failed: ${err.message}`);
        void publish(TOPIC.attributes, {
          agent_protocol: AGENT_PROTOCOL_VERSION,
          boot_id: o.bootId,
          ...(o.softwareVersion ? { current_sw_version: o.softwareVersion } : {}),
          ...reportedAttributes(core.state),
        });
        void publish(TOPIC.attributesRequest(++request), { sharedKeys: `${SHADOW.desired},${SHADOW.desiredVersion}` });
      });
    });
    client.on('error', (err) => o.log(`MQTT: ${err.message}`));
    client.on('message', (topic, payload) => {
      let body: unknown;
      try {
        body = JSON.parse(payload.toString());
      } catch {
        return o.log(`ignored a message on ${topic} that is not JSON`);
      }
      if (topic.startsWith('v1/devices/me/rpc/request/')) {
        const id = topic.slice('v1/devices/me/rpc/request/'.length);
        const req = RpcRequest.safeParse(body);
        const answer = req.success ? core.onRpc(req.data.method, req.data.params) : Promise.resolve({ reply: { ok: false as const, error: 'not an RPC request {method, params}' }, after: undefined });
        void answer.then(async ({ reply, after }) => {
          o.log(`rpc ${id} ${req.success ? req.data.method : '?'}: ${reply.ok ? 'ok' : reply.error}`);
          await publish(TOPIC.rpcResponse(id), reply);
          if (after) await after().catch((err: Error) => o.log(`after rpc ${id}: ${err.message}`));
        });
      } else if (topic === TOPIC.attributes) {
        void onDesired(body as Record<string, unknown>);
      } else if (topic.startsWith('v1/devices/me/attributes/response/')) {
        void onDesired(((body as { shared?: Record<string, unknown> }).shared ?? {}) as Record<string, unknown>);
      }
    });
    return agent;
  }

  async stop(): Promise<void> {
    await this.client.endAsync();
  }
}
