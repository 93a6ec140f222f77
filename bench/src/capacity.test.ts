import { describe, expect, it } from 'vitest';
import { coresAt, marginalBytesPerPoint, monthlyPerDevice, perDeviceDay, type TelemetryRun } from './capacity.ts';

const run: TelemetryRun = { devices: 1000, messages: 90_000, points: 90_000, wallS: 100, cpuS: { Mosquitto: 9, 'InfluxDB 1.8': 18, 'InfluxDB 2 API (contract fake)': 50 }, bytes: 9_000_000 };

describe('cost model arithmetic', () => {
  it('scales what was measured per message, point and poll to the design’s day', () => {
    const per = perDeviceDay(run, 0.002);
    expect(per.cpuS.Mosquitto).toBeCloseTo((9 / 90_000) * 2880);
    expect(per.cpuS['InfluxDB 1.8']).toBeCloseTo((18 / 90_000) * (2880 + 288));
    expect(per.cpuS.hawkBit).toBeCloseTo(0.008);
    expect(per.bytes).toBeCloseTo(100 * 3168);
    expect(Object.keys(per.cpuS)).not.toContain('InfluxDB 2 API (contract fake)'); // a fake is not cdm's cost
  });

  it("adds fleet-monitor's pass every 5 min per device: its own CPU, ThingsBoard's and influxd's reads on top of ingestion", () => {
    const monitor = { devices: 500, wallS: 1, cpuS: { 'fleet-monitor': 0.5, ThingsBoard: 0.25, 'InfluxDB 1.8': 0.1, 'InfluxDB 2 API (contract fake)': 3 } };
    const per = perDeviceDay(run, 0.002, undefined, monitor);
    expect(per.cpuS['fleet-monitor']).toBeCloseTo((0.5 / 500) * 288);
    expect(per.cpuS.ThingsBoard).toBeCloseTo((0.25 / 500) * 288);
    expect(per.cpuS['InfluxDB 1.8']).toBeCloseTo((18 / 90_000) * (2880 + 288) + (0.1 / 500) * 288);
    expect(Object.keys(per.cpuS)).not.toContain('InfluxDB 2 API (contract fake)');
  });

  it('adds the fixed part to the per-device part, so cost per device falls towards the marginal cost', () => {
    const per = perDeviceDay(run, 0.002);
    const idle = { ThingsBoard: 0.05, Mosquitto: 0.001 };
    expect(coresAt(86_400, per, idle).ThingsBoard).toBeCloseTo(0.05);
    expect(coresAt(86_400, per, idle).Mosquitto).toBeCloseTo(0.001 + per.cpuS.Mosquitto!);
    const small = monthlyPerDevice(1000, per, idle);
    const large = monthlyPerDevice(1_000_000, per, idle);
    expect(small.total).toBeGreaterThan(large.total);
    expect(large.storage).toBeCloseTo(small.storage); // bytes per device do not depend on the fleet
  });

  it('takes the bytes of one more point from the difference between two runs, not their averages', () => {
    const bigger = { ...run, devices: 3000, points: 270_000, bytes: 9_000_000 + 180_000 * 50 };
    expect(marginalBytesPerPoint([run, bigger])).toBeCloseTo(50);
    expect(marginalBytesPerPoint([run])).toBeCloseTo(100);
  });
});
