import crypto from 'node:crypto';
import type { Logger, Operation } from '@cdm/common';
import type { CommandRunner } from './commands.ts';
import type { FleetDevice, Selector } from './devices.ts';
import { isFinal, type Command, type CommandStatus, type FleetStore, type GroupOperation } from './store.ts';

/** A device's outcome in a group operation, as the API reports it. */
export const OUTCOMES = ['pending', 'in-progress', 'offline-queued', 'done', 'failed', 'expired', 'cancelled'] as const;
export type Outcome = (typeof OUTCOMES)[number];

const OUTCOME_OF: Record<CommandStatus, Outcome> = {
  pending: 'pending',
  sending: 'in-progress',
  sent: 'in-progress',
  delivered: 'in-progress',
  queued: 'offline-queued',
  successful: 'done',
  failed: 'failed',
  timeout: 'failed',
  expired: 'expired',
  cancelled: 'cancelled',
};
export const outcomeOf = (s: CommandStatus): Outcome => OUTCOME_OF[s];

export interface GroupRequest {
  tenantId: string;
  operation: Operation;
  params: Record<string, unknown>;
  selector: Selector;
  concurrency: number;
  expiresAt: number;
  requestedBy: string;
  requestedByName: string;
}

/** Builds a group operation and one pending command per device (pure, apart from the new ids). */
export function planGroup(r: GroupRequest, devices: FleetDevice[], now: number): { group: GroupOperation; targets: Command[] } {
  const group: GroupOperation = { id: crypto.randomUUID(), ...r, state: 'running', createdAt: now, updatedAt: now };
  const targets = devices.map((d): Command => ({
    id: crypto.randomUUID(),
    tenantId: r.tenantId,
    deviceId: d.deviceId,
    tbDeviceId: d.tbDeviceId,
    operation: r.operation,
    params: r.params,
    requestedBy: r.requestedBy,
    requestedByName: r.requestedByName,
    groupId: group.id,
    status: 'pending',
    createdAt: now,
    expiresAt: r.expiresAt,
    updatedAt: now,
    checkedAt: 0,
  }));
  return { group, targets };
}

export interface GroupView {
  group: GroupOperation;
  progress: Record<Outcome, number> & { total: number };
  /** One page of the per-device outcomes (those with `outcome` when asked), in device order. */
  devices: { deviceId: string; outcome: Outcome; status: CommandStatus; commandId: string; error?: string; result?: unknown }[];
  page: { offset: number; limit: number; matching: number };
}

/** Paging of a group's outcomes: a poll of a 10,000-device operation need not carry all of them. */
export interface OutcomePage {
  offset: number;
  limit: number;
  outcome?: Outcome;
}
export const FIRST_PAGE: OutcomePage = { offset: 0, limit: 1000 };

export function groupView(group: GroupOperation, commands: Command[], page: OutcomePage = FIRST_PAGE): GroupView {
  const progress = { total: commands.length, pending: 0, 'in-progress': 0, 'offline-queued': 0, done: 0, failed: 0, expired: 0, cancelled: 0 };
  const matching: Command[] = [];
  for (const c of commands) {
    const outcome = outcomeOf(c.status);
    progress[outcome]++;
    if (!page.outcome || page.outcome === outcome) matching.push(c);
  }
  const devices = matching.slice(page.offset, page.offset + page.limit).map((c) => ({
    deviceId: c.deviceId,
    outcome: outcomeOf(c.status),
    status: c.status,
    commandId: c.id,
    ...(c.error ? { error: c.error } : {}),
    ...(c.result !== undefined ? { result: c.result } : {}),
  }));
  return { group, progress, devices, page: { offset: page.offset, limit: page.limit, matching: matching.length } };
}

async function pool<T>(items: T[], width: number, fn: (t: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(width, items.length) }, async () => {
      while (next < items.length) await fn(items[next++]!);
    }),
  );
}

export interface CommandLoopOptions {
  store: FleetStore;
  runner: CommandRunner;
  logger: Logger;
  /** A command on its way is re-read at most this often (ms). */
  recheckMs?: number;
  /** A command the device has not taken (offline) is re-read this seldom. */
  queuedRecheckMs?: number;
  /** Requests to ThingsBoard in flight at once. */
  width?: number;
  /** Commands re-read per pass at most (the rest wait for the next). */
  batch?: number;
  now?: () => number;
}

/**
 * One pass of the command loop: re-reads open commands from ThingsBoard, then lets each running
 * group operation send to as many more devices as its concurrency allows. A device offline
 * (its command queued in ThingsBoard) does not hold a slot: it gets the command when it returns,
 * or the command expires, visibly. A group finishes when every device has a final outcome.
 */
export class CommandLoop {
  private readonly now: () => number;

  constructor(private readonly o: CommandLoopOptions) {
    this.now = o.now ?? Date.now;
  }

  async pass(): Promise<{ refreshed: number; sent: number; finished: number }> {
    const now = this.now();
    const width = this.o.width ?? 16;
    const batch = this.o.batch ?? 2000;
    // A read records the time it ended, a little after this pass's `now`: a fifth of slack keeps
    // a command read in one pass due in the next instead of every other one.
    const open = [
      ...(await this.o.store.openCommands(['sending', 'sent', 'delivered'], now - (this.o.recheckMs ?? 500) * 0.8, batch)),
      ...(await this.o.store.openCommands(['queued'], now - (this.o.queuedRecheckMs ?? 10_000), batch)),
    ];
    let failures = 0;
    await pool(open, width, async (c) => {
      try {
        await this.o.runner.refresh(c);
      } catch (err) {
        if (failures++ < 3) this.o.logger.warn({ command: c.id, err: (err as Error).message }, 'command status not read; next pass retries');
      }
    });
    let sent = 0;
    let finished = 0;
    for (const g of await this.o.store.runningGroups()) {
      if (now >= g.expiresAt) await this.expirePending(g, now);
      const slots = g.concurrency - (await this.o.store.inFlight(g.id));
      const take = await this.o.store.claimPending(g.id, slots, now);
      await pool(take, width, (c) => this.o.runner.send(c));
      sent += take.length;
      const counts = await this.o.store.groupCounts(g.id);
      const open = Object.entries(counts).some(([s, n]) => n > 0 && !isFinal(s as CommandStatus));
      if (!open) {
        await this.o.store.setGroupState(g.id, 'finished', now);
        finished++;
        this.o.logger.info({ group: g.id, operation: g.operation, counts }, 'group operation finished');
      }
    }
    return { refreshed: open.length, sent, finished };
  }

  private async expirePending(g: GroupOperation, now: number): Promise<void> {
    for (const c of await this.o.store.groupCommands(g.id)) {
      if (c.status === 'pending') await this.o.store.setStatus(c.id, { status: 'expired', error: 'the group operation expired before this device was reached' }, now);
    }
  }
}
