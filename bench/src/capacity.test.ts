import { describe, expect, it } from 'vitest';
import { coresAt, DESIGN, tenantsAt, heldBytes, marginalBytesPerPoint, monthlyPerDevice, perDeviceDay, PRICES, type TelemetryRun } from './capacity.ts';
import { rollupFit, type TiersRun } from './tiers-measure.ts';

const run: TelemetryRun = { devices: 1000, messages: 90_000, points: 90_000, wallS: 100, cpuS: { Mosquitto: 9, 'InfluxDB 1.8': 18, 'InfluxDB 2 API (contract fake)': 50 }, bytes: 9_000_000 };

describe('cost model arithmetic', () => {
  it('scales what was measured per message, point and poll to the design’s day', () => {
    const per = perDeviceDay(run, 0.002);
    expect(per.cpuS.Mosquitto).toBeCloseTo((9 / 90_000) * 2880);
    expect(per.cpuS['InfluxDB 1.8']).toBeCloseTo((18 / 90_000) * (2880 + 288));
    expect(per.cpuS.hawkBit).toBeCloseTo(0.008);
    expect(per.bytes).toEqual({ hot: 100 * 3168, rollup: 0, cold: 0 });
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

  it('with a tiers run: the rollup task and cold export are jobs on influxd and tenant-sync, and each tier is held for its days at its price', () => {
    const tiers: TiersRun = {
      devices: 100,
      points: 288_000,
      rawBytes: 288_000 * 30,
      rollupBytes: 100 * 8000,
      coldBytes: 288_000 * 40,
      coldLines: 3_168_000,
      rawIndexBytes: 0,
      rollupIndexBytes: 0,
      rollups: [
        { runEvery: '1h', runs: 24, wallS: 10, influxdS: 50, fakeS: 9 },
        { runEvery: '5m', runs: 288, wallS: 60, influxdS: 120, fakeS: 20 },
      ],
      export: { wallS: 20, selfS: 30, influxdS: 10 },
    };
    const per = perDeviceDay(run, 0.002, undefined, undefined, [tiers]);
    expect(per.jobs.find((j) => j.job.startsWith('rollup task'))).toMatchObject({ component: 'InfluxDB 1.8', job: 'rollup task (run every 1h)', cpuS: 0.5 });
    expect(per.cpuS['InfluxDB 1.8']).toBeCloseTo((18 / 90_000) * 3168 + 0.5 + 0.1);
    expect(per.cpuS['tenant-sync']).toBeCloseTo(0.3);
    expect(Object.values(per.cpuS).reduce((a, b) => a + b)).toBeCloseTo(per.jobs.reduce((a, j) => a + j.cpuS, 0));
    expect(per.bytes).toEqual({ hot: 30 * 3168, rollup: 8000, cold: 40 * 3168 });
    const held = heldBytes(per);
    expect(held).toEqual({ hot: 30 * 3168 * DESIGN.hotDays, rollup: 8000 * DESIGN.rollupDays, cold: 40 * 3168 * DESIGN.coldDays });
    expect(monthlyPerDevice(1000, per, {}).storage).toBeCloseTo(((held.hot + held.rollup) / 1e9) * PRICES.gbMonth + (held.cold / 1e9) * PRICES.objectGbMonth);
  });

  it('takes the bytes of one more point from the difference between two runs, not their averages', () => {
    const bigger = { ...run, devices: 3000, points: 270_000, bytes: 9_000_000 + 180_000 * 50 };
    expect(marginalBytesPerPoint([run, bigger])).toBeCloseTo(50);
    expect(marginalBytesPerPoint([run])).toBeCloseTo(100);
  });

  it("splits the rollup task's CPU into a part per tenant and a part per device from two sizes, and charges the tenant part per tenant", () => {
    const at = (devices: number, influxdS: number, runEvery = '1h'): TiersRun => ({
      devices,
      points: devices * 2880,
      rawBytes: devices * 2880 * 30,
      rollupBytes: devices * 8000,
      coldBytes: devices * 2880 * 40,
      coldLines: devices * 2880 * 11,
      rawIndexBytes: 0,
      rollupIndexBytes: 0,
      rollups: [{ runEvery, runs: 24, wallS: 1, influxdS, fakeS: 1 }],
      export: { wallS: 1, selfS: devices * 0.5, influxdS: devices * 0.1 },
    });
    // 24 runs a day, 1 s each whatever the devices, + 0.2 s per device-day.
    expect(rollupFit([at(200, 24 + 40), at(50, 24 + 10)])).toEqual({ runEvery: '1h', perTenantDayS: 24, perDeviceDayS: expect.closeTo(0.2, 9) });
    expect(rollupFit([at(50, 34)])).toEqual({ runEvery: '1h', perTenantDayS: 0, perDeviceDayS: 34 / 50 });
    expect(rollupFit([at(50, 30), at(200, 60)]).perTenantDayS).toBe(20);
    expect(rollupFit([at(50, 40), at(200, 60)])).toMatchObject({ perTenantDayS: expect.closeTo(33.33, 1) });
    expect(rollupFit([at(50, 10), at(200, 80)]), 'a negative tenant part is noise: all per device').toEqual({ runEvery: '1h', perTenantDayS: 0, perDeviceDayS: 0.4 });

    const per = perDeviceDay(run, 0.002, undefined, undefined, [at(50, 34), at(200, 64)]);
    expect(per.perTenant).toEqual([{ component: 'InfluxDB 1.8', job: 'rollup task (run every 1h), per tenant', cpuS: 24 }]);
    expect(per.jobs.find((j) => j.job.startsWith('rollup task'))?.cpuS).toBeCloseTo(0.2);
    expect(per.cpuS['tenant-sync']).toBeCloseTo(0.5); // the export from the largest run
    expect(tenantsAt(1000)).toBe(1);
    expect(tenantsAt(1001)).toBe(2);
    const influx = (devices: number) => coresAt(devices, per, {})['InfluxDB 1.8']!;
    expect(influx(2000) * 86_400).toBeCloseTo(2 * 24 + 2000 * per.cpuS['InfluxDB 1.8']!);
  });
});
