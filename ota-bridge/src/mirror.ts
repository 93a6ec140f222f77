import crypto from 'node:crypto';
import {
  MAX_PAGE,
  TenantNotReady,
  mapByKey,
  mapLimit,
  UpstreamError,
  tenantBucket,
  type DirectoryDevice,
  type HawkbitClient,
  type InfluxClient,
  type Logger,
  type MgmtAction,
  type MgmtRollout,
} from '@cdm/common';
import { gateDecision, STARTED_GROUP } from './health-gate.ts';
import type { HoldGate } from './hold-loop.ts';
import { rolloutPoints } from './metrics.ts';
import { decideChange } from './mirror-decide.ts';
import { actionState, tenantOfTarget, toChange } from './ota-status.ts';
import type { OtaStore } from './store.ts';
import { ALARM_FAILURE, ALARM_GATE, ALARM_MISMATCH, type ThingsBoardOta } from './tb-ota.ts';

/** Who a device is, asked of its owner (enroll-bridge's device directory), never cached across passes. */
export interface DeviceOwner {
  lookup(ids: readonly string[]): Promise<Map<string, DirectoryDevice>>;
}

/** A change that can never be applied as it stands: set aside with its reason, not retried forever. */
class Undeliverable extends Error {}

export interface MirrorOptions {
  store: OtaStore;
  hawkbit: HawkbitClient;
  directory: DeviceOwner;
  tb: ThingsBoardOta;
  influx: InfluxClient;
  influxOrg: string;
  logger: Logger;
  /** How long after hawkBit's success the device has to report the new version itself. */
  bootWindowMs: number;
  /** Pause a running rollout when more than this share (%) of its started targets is unhealthy. */
  gateThresholdPct: number;
  /** Re-read this far behind the cursor: changes stamped in the same millisecond, clock steps. */
  overlapMs?: number;
  pageSize?: number;
  /** Open actions are listed at least this often, for progress that does not close them. */
  sweepIntervalMs?: number;
  /** The hold gate between stages, run after the mirror has brought the alarms up to date. */
  holdGate?: HoldGate;
  /**
   * Devices whose changes are applied at once (one device's changes stay in order): each costs
   * ThingsBoard round trips, and one after another a 10,000-target rollout took minutes to mirror.
   */
  concurrency?: number;
  now?: () => number;
}

export interface PassResult {
  runId: string;
  changes: number;
  skipped: number;
  failed: number;
  bootMismatches: number;
  /** Changes set aside this pass (dead letters) instead of blocking the cursor. */
  deadLetters: number;
  paused: number[];
  /** Rollouts held after a stage, released into the next, or blocked by the hold gate this pass. */
  held: number[];
  released: number[];
  blocked: number[];
  /** Whether this pass listed hawkBit's open actions (their count changed, or the sweep was due). */
  swept: boolean;
}

/** Rollouts created by `ota-bridge publish` carry their tenant like targets do. */
const tenantOfRollout = (r: MgmtRollout) => tenantOfTarget(r.description);

/**
 * One poll of hawkBit (the owner of update state) projected onto ThingsBoard and InfluxDB: the
 * actions changed since the durable cursor, read by key so the cost follows the number of changes;
 * then the boot checks that are due, the health gate and the metrics of the rollouts concerned.
 * Each change is marked done only after its writes, and ThingsBoard keeps one active alarm per
 * device and type, so a crash or restart repeats at most one change's idempotent writes.
 */
export class OtaMirror {
  constructor(private readonly o: MirrorOptions) {}

  private now(): number {
    return this.o.now?.() ?? Date.now();
  }

  /** One pass. Never two at once: the daemon runs passes through PassLoop, which joins a tick to the pass running. */
  async pass(): Promise<PassResult> {
    const runId = crypto.randomBytes(4).toString('hex');
    const log = this.o.logger.child({ runId });
    const res: PassResult = { runId, changes: 0, skipped: 0, failed: 0, bootMismatches: 0, deadLetters: 0, paused: [], held: [], released: [], blocked: [], swept: false };
    const rollouts = new Map<number, string | undefined>(); // touched rollout → a tenant seen in it
    await this.readChanges(log, res, rollouts);
    await this.watchActive(log, res, rollouts);
    await this.checkBoots(log, res);
    await this.rollouts(log, res, rollouts);
    if (this.o.holdGate) {
      const h = await this.o.holdGate.pass(log);
      Object.assign(res, { held: h.held, released: h.released, blocked: h.blocked, failed: res.failed + h.failed });
    }
    if (res.changes || res.failed || res.bootMismatches || res.deadLetters || res.paused.length || res.released.length || res.blocked.length) log.info(res, 'ota pass');
    else log.debug(res, 'ota pass: nothing changed');
    return res;
  }

  /**
   * Changes a user or hawkBit's scheduler made (new actions, cancels, rollout groups starting):
   * these stamp `lastModifiedAt`, so they are read since the durable cursor, by key.
   */
  private async readChanges(log: Logger, res: PassResult, rollouts: Map<number, string | undefined>): Promise<void> {
    const { store, hawkbit } = this.o;
    const limit = this.o.pageSize ?? MAX_PAGE;
    const cursor = await store.cursor();
    // The overlap catches a change committed after a later-stamped one was read. It is re-read
    // once per cursor position: while nothing changes, a pass reads from the cursor itself (one
    // short page), not the same overlap again and again (a 10k-target rollout stamps 10k actions
    // within it).
    const overlap = (await store.meta('overlapReadAt')) === String(cursor) ? 0 : (this.o.overlapMs ?? 2000);
    let since = Math.max(0, cursor - overlap);
    let offset = 0;
    let newest = cursor;
    let oldestFailed: number | undefined;
    for (;;) {
      let page: MgmtAction[];
      try {
        page = await hawkbit.changedActions(since, { offset, limit });
      } catch (err) {
        log.warn({ err: (err as Error).message }, 'hawkBit: cannot list changed actions; the next pass retries');
        res.failed++;
        return;
      }
      const who = await this.owners(page, log);
      const taken = await this.eachDevice(page, async (a) => a.lastModifiedAt !== undefined && who !== undefined && (await this.take(a, log, res, rollouts, who)));
      for (const [i, a] of page.entries()) {
        if (a.lastModifiedAt === undefined) continue;
        if (taken[i]) newest = Math.max(newest, a.lastModifiedAt);
        else {
          if (!who) res.failed++;
          oldestFailed = Math.min(oldestFailed ?? Infinity, a.lastModifiedAt);
        }
      }
      if (page.length < limit) break;
      // By key: continue at the last timestamp read; skip what this pass already read at it.
      const last = page[page.length - 1]!.lastModifiedAt!;
      if (last === since) offset += page.length;
      else {
        offset = page.filter((a) => a.lastModifiedAt === last).length;
        since = last;
      }
    }
    // Never move the cursor past a change that failed: the next pass reads it again.
    await store.setCursor(oldestFailed === undefined ? newest : Math.min(newest, oldestFailed));
    if ((await store.cursor()) === cursor && oldestFailed === undefined) await store.setMeta('overlapReadAt', String(cursor));
    await store.prune((await store.cursor()) - 2 * (this.o.overlapMs ?? 2000));
  }

  /**
   * What devices report: hawkBit changes an action's state on DDI feedback without stamping
   * `lastModifiedAt` (by design: controller writes are not audited), so no cursor sees a device's
   * success or failure. Every such ending closes the action, though: when hawkBit's count of active
   * actions differs from the ones the store watches, the active actions' ids are listed (keyset
   * pages of 500, compact) and the watched ones that are gone are read by id. An idle pass costs one
   * request; a sweep lists them in full every `sweepIntervalMs` to pick up progress (downloading,
   * installing) of open actions.
   */
  private async watchActive(log: Logger, res: PassResult, rollouts: Map<number, string | undefined>): Promise<void> {
    const { store, hawkbit } = this.o;
    const lastSweep = Number((await store.meta('sweptAt')) ?? 0);
    try {
      const due = this.now() - lastSweep >= (this.o.sweepIntervalMs ?? 60_000);
      if (!due && (await hawkbit.countActions('active==true')) === (await store.activeActionCount())) return;
      const open = new Set<number>();
      let failed = false;
      // Only the sweep needs the open actions' own state (progress); otherwise their ids say which closed.
      for await (const page of hawkbit.activeActionPages(due ? 'full' : 'compact')) {
        for (const a of page) open.add(a.id);
        if (!due) continue;
        const who = await this.owners(page, log);
        failed = (await this.eachDevice(page, async (a) => who !== undefined && (await this.take(a, log, res, rollouts, who)))).includes(false) || failed;
      }
      const closed = (await store.activeActionIds()).filter((id) => !open.has(id));
      const found = await hawkbit.actionsByIds(closed);
      const who = await this.owners(found, log);
      failed = (await this.eachDevice(found, async (a) => who !== undefined && (await this.take(a, log, res, rollouts, who)))).includes(false) || failed;
      const still = new Set(found.map((a) => a.id)); // a rollout's end closes thousands at once
      for (const id of closed) if (!still.has(id)) await store.forgetAction(id);
      res.swept = true;
      // A failed change keeps the count apart from hawkBit's, so the next pass lists them again.
      if (!failed && due) await store.setMeta('sweptAt', String(this.now()));
    } catch (err) {
      res.failed++;
      log.warn({ err: (err as Error).message }, 'hawkBit: cannot read open actions; the next pass retries');
    }
  }

  /** Applies a page of actions, several devices at once, each device's actions in order. */
  private eachDevice<R>(actions: readonly MgmtAction[], fn: (a: MgmtAction) => Promise<R>): Promise<R[]> {
    return mapByKey(actions, (a) => toChange(a)?.controllerId ?? `action ${a.id}`, this.o.concurrency ?? 16, fn);
  }

  /** The state of an action as the mirror records it. */
  private stateOf(a: MgmtAction) {
    return { ...actionState(a), lastModifiedAt: a.lastModifiedAt ?? 0 };
  }

  private async unchanged(a: MgmtAction): Promise<boolean> {
    const seen = await this.o.store.seenAction(a.id);
    const state = this.stateOf(a);
    return seen !== undefined && seen.active === state.active && seen.status === state.status;
  }

  /**
   * The owners' answer for the devices of the actions that need applying (one request per page);
   * undefined when the directory cannot be asked (those changes are retried next pass).
   */
  private async owners(page: readonly MgmtAction[], log: Logger): Promise<Map<string, DirectoryDevice> | undefined> {
    const ids: string[] = [];
    for (const a of page) {
      const id = toChange(a)?.controllerId;
      if (id && !(await this.unchanged(a))) ids.push(id);
    }
    if (!ids.length) return new Map();
    try {
      return await this.o.directory.lookup(ids);
    } catch (err) {
      log.warn({ err: (err as Error).message }, 'device directory (enroll-bridge) not answering; these changes are retried next pass');
      return undefined;
    }
  }

  /**
   * Applies an action whose state differs from what was last applied; false when that failed for
   * now (retried). A change that can never apply goes to the dead letters with its reason and the
   * cursor moves on.
   */
  private async take(a: MgmtAction, log: Logger, res: PassResult, rollouts: Map<number, string | undefined>, who: Map<string, DirectoryDevice>): Promise<boolean> {
    const { store } = this.o;
    const state = this.stateOf(a);
    if (await this.unchanged(a)) {
      res.skipped++;
      return true;
    }
    try {
      const cdmId = await this.apply(a, log, who);
      if (a.rollout !== undefined && !rollouts.get(a.rollout)) rollouts.set(a.rollout, cdmId);
      await store.recordAction(a.id, state);
      res.changes++;
      log.debug({ actionId: a.id, status: state.status, cdmId }, 'mirrored');
      return true;
    } catch (err) {
      if (undeliverable(err)) {
        const controllerId = toChange(a)?.controllerId ?? '?';
        await store.addDeadLetter({ actionId: a.id, controllerId, reason: (err as Error).message, at: this.now() });
        await store.recordAction(a.id, state);
        res.deadLetters++;
        log.warn({ actionId: a.id, controllerId, why: (err as Error).message }, 'change cannot be applied: set aside as a dead letter');
        return true;
      }
      res.failed++;
      log.warn({ actionId: a.id, err: (err as Error).message }, 'cannot mirror action; the next pass retries it');
      return false;
    }
  }

  /** Mirrors one action onto its device; returns the device's tenant (undefined: not a cdm device). */
  private async apply(a: MgmtAction, log: Logger, who: Map<string, DirectoryDevice>): Promise<string | undefined> {
    const { store, hawkbit, tb } = this.o;
    const c = toChange(a);
    if (!c) {
      log.debug({ actionId: a.id }, 'skip: action without target or distribution set');
      return undefined;
    }
    const d = decideChange(c, who.get(c.controllerId), await store.getDevice(c.controllerId), this.now(), this.o.bootWindowMs);
    if (d.kind === 'undeliverable') throw new Undeliverable(d.why);
    if (d.kind === 'skip') {
      if (d.forget) await store.forgetDevice(c.controllerId);
      log[d.level]({ controllerId: c.controllerId, actionId: c.actionId }, `skip: ${d.why}`);
      return d.cdmId;
    }
    const { cdmId, tbDeviceId, next, attrs } = d;
    try {
      await tb.tenantReady(cdmId);
    } catch (err) {
      if (!(err instanceof TenantNotReady)) throw err;
      log.info({ controllerId: c.controllerId, cdmId, why: err.message }, 'skip: tenant disabled or gone');
      return undefined;
    }
    if (d.readInstalled) attrs.sw_version = (await hawkbit.getInstalledDistributionSet(c.controllerId))?.version ?? c.version;
    if (d.clearFailure) await tb.clearOnDevice(cdmId, tbDeviceId, ALARM_FAILURE);
    if (d.raiseFailure) {
      const statuses = await hawkbit.actionStatuses(c.controllerId, c.actionId, 5);
      const messages = (statuses?.content ?? []).flatMap((s) => s.messages ?? []).slice(0, 10);
      await tb.raiseOnDevice(cdmId, tbDeviceId, ALARM_FAILURE, 'MAJOR', {
        rollout: c.rollout ?? null,
        version: c.version,
        distributionSet: c.distributionSet,
        actionId: c.actionId,
        hawkbitStatus: c.detailStatus,
        messages,
      });
    }
    await tb.setAttributes(cdmId, tbDeviceId, attrs);
    await store.putDevice(next);
    return cdmId;
  }

  private async checkBoots(log: Logger, res: PassResult): Promise<void> {
    const { store, tb } = this.o;
    // Only checks that are due, and open mismatches (to clear them): an idle pass costs nothing per updated device.
    const due = (await store.bootChecks()).filter((x) => x.mismatchAlarm || this.now() >= (x.bootDueAt ?? 0));
    if (!due.length) return;
    let who: Map<string, DirectoryDevice>;
    try {
      who = await this.o.directory.lookup(due.map((d) => d.controllerId));
    } catch (err) {
      res.failed++;
      log.warn({ err: (err as Error).message }, 'device directory (enroll-bridge) not answering; boot checks wait for the next pass');
      return;
    }
    await mapLimit(due, this.o.concurrency ?? 16, async (d) => {
      const owner = who.get(d.controllerId);
      // Decommissioned, or re-enrolled as another ThingsBoard device: that boot can no longer be confirmed.
      if (!owner || owner.status === 'decommissioned' || owner.tenantId !== d.cdmId || owner.tbDeviceId !== d.tbDeviceId) {
        await store.forgetDevice(d.controllerId);
        log.info({ controllerId: d.controllerId }, 'boot check dropped: the device is gone or was re-enrolled');
        return;
      }
      try {
        const reported = await tb.reportedVersion(d.cdmId, d.tbDeviceId);
        if (reported === d.bootVersion) {
          if (d.mismatchAlarm) {
            await tb.clearOnDevice(d.cdmId, d.tbDeviceId, ALARM_MISMATCH);
            await tb.setAttributes(d.cdmId, d.tbDeviceId, { ota_status: 'success', ota_updated_at: new Date(this.now()).toISOString() });
          }
          await store.putDevice({ ...d, status: 'success', mismatchAlarm: false, bootVersion: undefined, bootDueAt: undefined });
        } else if (d.status !== 'boot_mismatch' && this.now() >= (d.bootDueAt ?? 0)) {
          // Judged per action: an alarm still open from the previous action does not judge this one
          // (raising again updates that alarm with this version).
          await tb.raiseOnDevice(d.cdmId, d.tbDeviceId, ALARM_MISMATCH, 'CRITICAL', {
            expected: d.bootVersion,
            reported: reported ?? null,
            rollout: d.rollout || null,
            hint: 'hawkBit reported success but the device runs another version: RAUC probably fell back to the previous slot',
          });
          await tb.setAttributes(d.cdmId, d.tbDeviceId, { ota_status: 'boot_mismatch', ota_updated_at: new Date(this.now()).toISOString() });
          // Still watched: a device that reports the version later clears the alarm.
          await store.putDevice({ ...d, status: 'boot_mismatch', mismatchAlarm: true });
          res.bootMismatches++;
        }
      } catch (err) {
        res.failed++;
        log.warn({ controllerId: d.controllerId, err: (err as Error).message }, 'boot check failed; the next pass retries');
      }
    });
  }

  /** Metrics for every running or touched rollout; the health gate for running ones. */
  private async rollouts(log: Logger, res: PassResult, touched: Map<number, string | undefined>): Promise<void> {
    const { hawkbit, store, tb } = this.o;
    let running: MgmtRollout[] = [];
    try {
      running = await hawkbit.listRollouts({ q: 'status==running' });
    } catch (err) {
      res.failed++;
      log.warn({ err: (err as Error).message }, 'hawkBit: cannot list running rollouts; the next pass retries');
    }
    const ids = new Set([...running.map((r) => r.id), ...touched.keys()]);
    for (const id of ids) {
      try {
        const r = running.find((x) => x.id === id) ?? (await hawkbit.getRollout(id));
        if (!r) continue;
        const cdmId = tenantOfRollout(r) ?? touched.get(id);
        const groups = await hawkbit.rolloutGroups(id);
        if (cdmId) await this.o.influx.write(this.o.influxOrg, tenantBucket(cdmId), rolloutPoints(r, groups, new Date(this.now())));
        if (r.status !== 'running' || !cdmId) continue;
        // Sizes from the group listing and alarms from the store: no per-target listing, so the gate
        // costs the same for 100 or 100,000 devices.
        const started = groups.filter((g) => STARTED_GROUP.has((g.status ?? '').toLowerCase())).reduce((n, g) => n + (g.totalTargets ?? 0), 0);
        const unhealthy = await store.unhealthyInRollout(r.name);
        const gate = gateDecision({ started, unhealthy: unhealthy.length, thresholdPct: this.o.gateThresholdPct, pausedAt: (await store.gate(id))?.unhealthy });
        if (!gate.pause) continue;
        await hawkbit.pauseRollout(id);
        await store.recordPause(id, unhealthy.length);
        await tb.raiseOnTenant(cdmId, ALARM_GATE, 'CRITICAL', {
          rollout: r.name,
          rolloutId: id,
          unhealthy: unhealthy.length,
          started,
          sharePct: Math.round(gate.sharePct * 10) / 10,
          thresholdPct: this.o.gateThresholdPct,
          devices: unhealthy.slice(0, 20),
          hint: 'paused by ota-bridge; resume it in hawkBit once the cause is understood',
        });
        res.paused.push(id);
        log.warn({ rollout: r.name, unhealthy: unhealthy.length, started }, 'health gate: rollout paused');
      } catch (err) {
        res.failed++;
        log.warn({ rolloutId: id, err: (err as Error).message }, 'rollout metrics or gate failed; the next pass retries');
      }
    }
  }
}

/** ThingsBoard refuses the write for good (the device is gone: 404; the request can never pass: 400). */
function undeliverable(err: unknown): boolean {
  if (err instanceof Undeliverable) return true;
  return err instanceof UpstreamError && err.upstream === 'ThingsBoard' && (err.status === 404 || err.status === 400);
}
