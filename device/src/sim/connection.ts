import mqtt, { type MqttClient } from 'mqtt';
import type { DeviceIdentity } from './identity.ts';

export interface BrokerOptions {
  /** mqtts:// URL of the broker's mutual-TLS listener. */
  url: string;
  /** PEM of the CA(s) the broker's certificate chains to (step-ca root). */
  ca: string;
  broker: 'thingsboard' | 'mosquitto';
  connectTimeoutMs?: number;
}

/**
 * One device's MQTT session, authenticated by its certificate alone (the broker maps the CN to
 * the device). Reconnects on its own after a drop, as device firmware does.
 */
export function connectDevice(d: DeviceIdentity, b: BrokerOptions): Promise<MqttClient> {
  return mqtt.connectAsync(
    b.url,
    {
      clientId: d.id,
      ca: b.ca,
      cert: d.certPem,
      key: d.keyPem,
      protocolVersion: 4,
      keepalive: 60,
      clean: true,
      connectTimeout: b.connectTimeoutMs ?? 30_000,
      // Spread reconnects out so a broker restart does not bring a thundering herd of handshakes.
      reconnectPeriod: 5_000 + Math.floor(Math.random() * 5_000),
    },
    // Without this, a refused first connect would keep retrying instead of failing the call.
    false,
  );
}
