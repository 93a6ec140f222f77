import mqtt from 'mqtt';
import { topics } from './schema.ts';

/**
 * Server side of the attribute channel on the local stack, where Mosquitto stands in for
 * ThingsBoard: publishes shared attributes (`fail_update`, `sw_version`, `telemetry_window_s`...)
 * to a device's attributes topic, as ThingsBoard pushes them. Uses the broker's plain listener.
 */
export async function setSharedAttributes(brokerUrl: string, deviceId: string, attrs: Record<string, unknown>): Promise<void> {
  const client = await mqtt.connectAsync(brokerUrl, { clientId: `cdm-sim-control-${process.pid}-${Date.now()}`, reconnectPeriod: 0, connectTimeout: 10_000 }, false);
  try {
    await client.publishAsync(topics(deviceId, 'mosquitto').attributes, JSON.stringify(attrs), { qos: 1 });
  } finally {
    await client.endAsync();
  }
}
