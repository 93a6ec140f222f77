import { FLEET_ALARMS, HEALTH_MEASUREMENT, tenantBucket, tenantOfTarget, type HawkbitClient, type InfluxClient, type Logger, type MgmtRolloutGroup } from '@cdm/common';
import type { FleetThresholds } from './fleet-thresholds.ts';
import { heldStage, holdDecision, type Comparison, type StageSignals } from './hold-gate.ts';
import { stagePoint } from './metrics.ts';
import type { OtaStore } from './store.ts';
import { ALARM_GATE, type ThingsBoardOta } from './tb-ota.ts';

export interface HoldGateOptions {
  store: OtaStore;
  hawkbit: HawkbitClient;
  tb: ThingsBoardOta;
  influx: InfluxClient;
  influxOrg: string;
  /** Block when more than this share (%) of a held stage's devices has an OTA alarm (GATE_THRESHOLD_PERCENT). */
  unhealthyPct: number;
  /** Block when updated devices are offline, or over a fleet alert threshold, more than the others by this many points. */
  excessPct: number;
  /** The fleet dashboards' alert thresholds (fleet-thresholds.ts). */
  thresholds: FleetThresholds;
  now: () => number;
}

export interface HoldPass {
  held: number[];
  released: number[];
  blocked: number[];
  failed: number;
}

/**
 * The hold gate between stages: hawkBit pauses a cdm rollout when a stage succeeded (PAUSE success
 * action, rollout.ts); this finds those rollouts, keeps each held for its stage's hold (the
 * contract on the stage, or an operator's `ota-bridge hold`), then resumes it — hawkBit starts the
 * next stage — if the stage's devices stayed healthy, or leaves it paused with a tenant alarm that
 * names the failed signal. hawkBit keeps the pause and the holds; the store keeps when each hold
 * began and what was decided, so restarts of either change nothing.
 */
export class HoldGate {
  constructor(private readonly o: HoldGateOptions) {}

  async pass(log: Logger): Promise<HoldPass> {
    const { hawkbit, store, tb } = this.o;
    const res: HoldPass = { held: [], released: [], blocked: [], failed: 0 };
    let paused;
    try {
      paused = await hawkbit.listRollouts({ q: 'status==paused' });
    } catch (err) {
      res.failed++;
      log.warn({ err: (err as Error).message }, 'hawkBit: cannot list paused rollouts; the hold gate retries next pass');
      return res;
    }
    for (const r of paused) {
      const cdmId = tenantOfTarget(r.description);
      if (!cdmId) continue;
      try {
        const groups = await hawkbit.rolloutGroups(r.id);
        const stage = heldStage(groups);
        if (!stage) continue;
        const now = this.o.now();
        const hold = await store.holdFor(r.id, stage.index, now);
        if (hold.state === 'blocked') continue; // a person decides now: resume it in hawkBit or through the fleet API
        const holdMs = ((await store.holdOverride(r.id))?.holdSeconds ?? stage.holdSeconds) * 1000;
        const signals: StageSignals = { updated: stage.updated, unhealthy: (await store.unhealthyInRollout(r.name)).length };
        if (now >= hold.since + holdMs) signals.comparisons = await this.compare(cdmId, r.id, groups.slice(0, stage.index + 1), hold.since, now);
        // A release not yet seen by hawkBit (resume failed or crashed before it): decide again, same inputs.
        const d = holdDecision({ now, since: hold.since, holdMs, signals, unhealthyPct: this.o.unhealthyPct, excessPct: this.o.excessPct });
        const point = (state: 'holding' | 'released' | 'blocked', remainingS: number) =>
          this.o.influx.write(this.o.influxOrg, tenantBucket(cdmId), [stagePoint(r.name, stage.name, state, remainingS, new Date(now))]);
        if (d.kind === 'hold') {
          await point('holding', (d.until - now) / 1000);
          res.held.push(r.id);
        } else if (d.kind === 'release') {
          await hawkbit.resumeRollout(r.id);
          await store.decideHold(r.id, stage.index, 'released', d.summary, now);
          await point('released', 0);
          res.released.push(r.id);
          log.info({ rollout: r.name, stage: stage.name, summary: d.summary }, 'hold gate: stage healthy, next stage started');
        } else {
          await store.decideHold(r.id, stage.index, 'blocked', d.reason, now);
          await tb.raiseOnTenant(cdmId, ALARM_GATE, 'CRITICAL', {
            rollout: r.name,
            rolloutId: r.id,
            stage: stage.name,
            signal: d.signal,
            reason: d.reason,
            hint: 'held by ota-bridge after this stage; resume it (hawkBit or POST /v1/ota/deployments/{id}/resume) once the cause is understood',
          });
          await point('blocked', 0);
          res.blocked.push(r.id);
          log.warn({ rollout: r.name, stage: stage.name, signal: d.signal, reason: d.reason }, 'hold gate: next stage blocked');
        }
      } catch (err) {
        res.failed++;
        log.warn({ rolloutId: r.id, err: (err as Error).message }, 'hold gate failed for a rollout; the next pass retries');
      }
    }
    return res;
  }

  /**
   * The updated devices (the started stages' targets) against the tenant's others: offline now
   * (ThingsBoard), over a fleet alert threshold since the hold began (their telemetry in the
   * tenant's bucket: last battery and signal, error rate over the hold), and with an active
   * Unusual Values alarm from fleet-monitor (against the not-yet-updated devices of the same regions).
   */
  private async compare(cdmId: string, rolloutId: number, started: readonly MgmtRolloutGroup[], since: number, now: number): Promise<Comparison[]> {
    const updated = new Set<string>();
    for (const g of started) for (const t of await this.o.hawkbit.rolloutGroupTargets(rolloutId, g.id)) updated.add(t.controllerId);
    const [fleet, alerting, unusual] = await Promise.all([this.o.tb.devices(cdmId), this.alerting(cdmId, since, now), this.o.tb.devicesWithAlarm(cdmId, FLEET_ALARMS.unusualValues.type)]);
    const t = this.o.thresholds;
    // Anomalies are compared within the updated devices' regions: a region's bad week is not the update's doing.
    const regions = new Set([...updated].map((d) => fleet.get(d)?.region ?? ''));
    const sameCohort = (d: string) => regions.has(fleet.get(d)?.region ?? '');
    const count = (bad: (device: string) => boolean, inBaseline: (device: string) => boolean = () => true): Omit<Comparison, 'signal' | 'what'> => {
      let updatedBad = 0;
      let baseline = 0;
      let baselineBad = 0;
      for (const id of updated) if (bad(id)) updatedBad++;
      for (const name of fleet.keys()) {
        if (updated.has(name) || !inBaseline(name)) continue;
        baseline++;
        if (bad(name)) baselineBad++;
      }
      return { updated: updated.size, updatedBad, baseline, baselineBad };
    };
    return [
      { signal: 'offline', what: 'offline', ...count((d) => fleet.get(d)?.online !== true) },
      { signal: 'fleet-alerts', what: `over a fleet alert threshold (battery < ${t.batteryPct} %, signal < ${t.signalDbm} dBm, error rate > ${t.errorRatePct} %)`, ...count((d) => alerting.has(d)) },
      // fleet-monitor's anomalies: a device unlike its own baseline and its cohort (a faster drain, more reboots after the update).
      { signal: 'unusual-values', what: 'flagged by fleet-monitor with unusual values (unlike their own baseline and their cohort)', ...count((d) => unusual.has(d), sameCohort) },
    ];
  }

  /** Devices whose telemetry over the hold crosses a fleet alert threshold. */
  private async alerting(cdmId: string, since: number, now: number): Promise<Set<string>> {
    const t = this.o.thresholds;
    const [start, stop] = [since, now + 1000].map((x) => new Date(x).toISOString());
    const rows = await this.o.influx.query<{ device?: string; _field: string; _value: number }>(
      this.o.influxOrg,
      `from(bucket: ${JSON.stringify(tenantBucket(cdmId))})
  |> range(start: ${start}, stop: ${stop})
  |> filter(fn: (r) => r._measurement == "${HEALTH_MEASUREMENT}" and (r._field == "battery_pct" or r._field == "signal_dbm" or r._field == "errors" or r._field == "samples"))
  |> group(columns: ["device", "_field"])
  |> reduce(identity: {last: 0.0, sum: 0.0}, fn: (r, accumulator) => ({last: float(v: r._value), sum: accumulator.sum + float(v: r._value)}))
  |> map(fn: (r) => ({device: r.device, _field: r._field, _value: if r._field == "errors" or r._field == "samples" then r.sum else r.last}))`,
    );
    const by = new Map<string, Record<string, number>>();
    for (const r of rows) if (r.device) by.set(r.device, { ...by.get(r.device), [r._field]: Number(r._value) });
    const out = new Set<string>();
    for (const [device, v] of by) {
      const errorPct = v.samples ? (100 * (v.errors ?? 0)) / v.samples : 0;
      if ((v.battery_pct !== undefined && v.battery_pct < t.batteryPct) || (v.signal_dbm !== undefined && v.signal_dbm < t.signalDbm) || errorPct > t.errorRatePct) out.add(device);
    }
    return out;
  }
}
