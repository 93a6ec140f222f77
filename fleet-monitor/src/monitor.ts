import crypto from 'node:crypto';
import { Point } from '@influxdata/influxdb-client';
import {
  ANOMALY_MEASUREMENT,
  FLEET_ALARMS,
  isClusterAlarm,
  tenantBucket,
  TenantNotReady,
  UpstreamError,
  type AlarmInfo,
  type EntityId,
  type InfluxClient,
  type Logger,
  type TenantActors,
  type TenantDirectory,
} from '@cdm/common';
import { clusterAlarmType, clusterStillDown, findClusters, isOffline, type Cluster, type ClusterParams, type FleetDevice } from './clusters.ts';
import type { FleetReader } from './fleet-reader.ts';
import type { HealthCache } from './health-cache.ts';
import { assess, decideAnomalies, describe, type DeviceSeries, type OutlierParams } from './outliers.ts';

export interface MonitorOptions {
  tenants: Pick<TenantDirectory, 'all'>;
  actors: TenantActors;
  reader: Pick<FleetReader, 'devices'>;
  /** Device health from InfluxDB, read incrementally between passes. */
  health: Pick<HealthCache, 'get' | 'retain'>;
  influx: InfluxClient;
  influxOrg: string;
  clusters: ClusterParams;
  outliers: OutlierParams & { raiseScore: number; clearScore: number; maxNew: number };
  logger: Logger;
  now?: () => number;
}

export interface MonitorPass {
  tenants: number;
  devices: number;
  offline: number;
  clustersRaised: number;
  clustersCleared: number;
  anomaliesRaised: number;
  anomaliesCleared: number;
  /** Over the raise score, left for later passes by the per-pass limit. */
  deferred: number;
  failed: number;
}

const DEVICES_IN_DETAILS = 200;

/**
 * One pass over every tenant: read the fleet (ThingsBoard devices, InfluxDB health), decide
 * (clusters.ts, outliers.ts — pure), and bring ThingsBoard's alarms in line: get the active ones,
 * compare, raise or clear, skip what already holds. A tenant that fails is logged and retried on
 * the next pass; the others go on.
 */
export class FleetMonitor {
  constructor(private readonly o: MonitorOptions) {}

  async pass(): Promise<MonitorPass> {
    const log = this.o.logger.child({ run: crypto.randomUUID().slice(0, 8) });
    const res: MonitorPass = { tenants: 0, devices: 0, offline: 0, clustersRaised: 0, clustersCleared: 0, anomaliesRaised: 0, anomaliesCleared: 0, deferred: 0, failed: 0 };
    const tenants = (await this.o.tenants.all()).filter((t) => !t.disabled);
    this.o.health.retain(new Set(tenants.map((t) => t.cdmId)));
    for (const t of tenants) {
      try {
        await this.tenant(t.cdmId, res, log.child({ tenant: t.cdmId }));
        res.tenants++;
      } catch (err) {
        // Not made yet by tenant-sync (its ThingsBoard bridge admin, its bucket): the next pass looks again.
        if (err instanceof TenantNotReady || (err instanceof UpstreamError && err.upstream === 'InfluxDB' && err.status === 404)) {
          log.debug({ tenant: t.cdmId, err: (err as Error).message }, 'tenant not ready');
          continue;
        }
        res.failed++;
        log.warn({ tenant: t.cdmId, err: (err as Error).message }, 'fleet monitor: tenant failed; the next pass retries');
      }
    }
    return res;
  }

  private async tenant(cdmId: string, res: MonitorPass, log: Logger): Promise<void> {
    const now = (this.o.now ?? Date.now)();
    const { clusters: cp, outliers: op } = this.o;
    const t0 = Date.now();
    const timed = async <T>(p: Promise<T>): Promise<[T, number]> => [await p, Date.now() - t0];
    const [[registered, devicesMs], [health, healthMs]] = await Promise.all([timed(this.o.reader.devices(cdmId)), timed(this.o.health.get(cdmId, now))]);
    log.debug({ devicesMs, healthMs }, 'fleet read');
    const fleet: FleetDevice[] = registered.map((d) => {
      const h = health.get(d.id);
      return { id: d.id, groups: { ...d.metadata, ...(h?.firmware ? { firmware: h.firmware } : {}) }, ...(h?.lastSeen ? { lastSeen: h.lastSeen } : {}) };
    });
    const byId = new Map(fleet.map((d) => [d.id, d]));
    res.devices += fleet.length;
    res.offline += fleet.filter((d) => isOffline(d, now, cp)).length;

    const tb = await this.o.actors.actor(cdmId);
    const active: AlarmInfo[] = [];
    for await (const page of tb.tenantAlarmPages({ statusList: 'ACTIVE' })) active.push(...page);
    const events: Point[] = [];
    const event = (kind: string, key: string, state: 'raised' | 'cleared', fields: { devices?: number; score?: number }) => {
      // One point each time the monitor raises or clears something: the Fleet health dashboard's monitor table.
      const p = new Point(ANOMALY_MEASUREMENT).tag('kind', kind).tag('key', key).stringField('state', state).timestamp(new Date(now));
      if (fields.devices !== undefined) p.intField('devices', fields.devices);
      if (fields.score !== undefined) p.floatField('score', fields.score);
      events.push(p);
    };

    // Offline clusters: one alarm on the tenant per group that dropped together.
    const found = findClusters(fleet, now, cp);
    const openClusters = new Map(active.filter((a) => isClusterAlarm(a.type)).map((a) => [a.type, a]));
    const tenantId: EntityId = { id: await this.o.actors.tenantId(cdmId), entityType: 'TENANT' };
    for (const c of found) {
      const type = clusterAlarmType(FLEET_ALARMS.offlineCluster.prefix, c);
      if (openClusters.has(type)) continue;
      await tb.saveAlarm({
        type,
        name: type,
        originator: tenantId,
        severity: FLEET_ALARMS.offlineCluster.severity,
        status: 'ACTIVE_UNACK',
        acknowledged: false,
        cleared: false,
        details: clusterDetails(c),
      });
      res.clustersRaised++;
      event('offline-cluster', `${c.key}=${c.value}`, 'raised', { devices: c.devices.length });
      log.warn({ group: `${c.key}=${c.value}`, devices: c.devices.length, groupSize: c.groupSize, shared: c.shared }, 'offline cluster raised');
    }
    const still = new Set(found.map((c) => clusterAlarmType(FLEET_ALARMS.offlineCluster.prefix, c)));
    for (const [type, a] of openClusters) {
      if (still.has(type) || !a.id) continue;
      const named = Array.isArray(a.details?.devices) ? (a.details.devices as unknown[]).filter((x): x is string => typeof x === 'string') : [];
      if (clusterStillDown(named, byId, now, cp)) continue;
      await tb.clearAlarm(a.id.id);
      res.clustersCleared++;
      event('offline-cluster', type.slice(FLEET_ALARMS.offlineCluster.prefix.length + 2), 'cleared', {});
      log.info({ alarm: type }, 'offline cluster cleared: its devices are back');
    }

    // Unusual values: one alarm per device, raised and cleared with hysteresis, a few per pass.
    const series: DeviceSeries[] = [];
    for (const d of fleet) {
      const h = health.get(d.id);
      if (h?.buckets.length) series.push({ id: d.id, cohort: `${d.groups.firmware ?? '?'}|${d.groups.region ?? '?'}`, buckets: h.buckets });
    }
    const assessed = assess(series, now, op);
    const unusual = new Map(active.filter((a) => a.type === FLEET_ALARMS.unusualValues.type && a.originator.entityType === 'DEVICE' && a.originatorName).map((a) => [a.originatorName!, a]));
    const decision = decideAnomalies(assessed, new Set(unusual.keys()), op);
    const tbIds = new Map(registered.map((d) => [d.id, d.tbDeviceId]));
    for (const a of decision.raise) {
      const tbDeviceId = tbIds.get(a.id);
      if (!tbDeviceId) continue;
      const findings = a.findings.filter((f) => f.score >= op.clearScore);
      await tb.saveAlarm({
        type: FLEET_ALARMS.unusualValues.type,
        name: FLEET_ALARMS.unusualValues.type,
        originator: { id: tbDeviceId, entityType: 'DEVICE' },
        severity: FLEET_ALARMS.unusualValues.severity,
        status: 'ACTIVE_UNACK',
        acknowledged: false,
        cleared: false,
        details: { score: Number(a.score.toFixed(1)), reasons: findings.map(describe), metrics: findings.map((f) => f.metric) },
      });
      res.anomaliesRaised++;
      event('unusual-values', a.id, 'raised', { score: a.score });
      log.warn({ device: a.id, score: a.score.toFixed(1), reasons: findings.map(describe) }, 'unusual values raised');
    }
    for (const id of decision.clear) {
      const alarm = unusual.get(id);
      if (!alarm?.id) continue;
      await tb.clearAlarm(alarm.id.id);
      res.anomaliesCleared++;
      event('unusual-values', id, 'cleared', {});
      log.info({ device: id }, 'unusual values cleared: back within its baseline and cohort');
    }
    res.deferred += decision.deferred;
    if (events.length) await this.o.influx.write(this.o.influxOrg, tenantBucket(cdmId), events);
  }
}

function clusterDetails(c: Cluster): Record<string, unknown> {
  return {
    group: `${c.key}=${c.value}`,
    shared: c.shared,
    count: c.devices.length,
    groupSize: c.groupSize,
    devices: c.devices.slice(0, DEVICES_IN_DETAILS),
    ...(c.devices.length > DEVICES_IN_DETAILS ? { more: c.devices.length - DEVICES_IN_DETAILS } : {}),
    lastSeenFrom: new Date(c.from).toISOString(),
    lastSeenTo: new Date(c.to).toISOString(),
  };
}
