import { RpcReply, UpstreamError, type Logger, type PersistentRpc } from '@cdm/common';
import type { DeviceGateway } from './gateway.ts';
import { isFinal, type Command, type CommandStatus, type FleetStore } from './store.ts';

/** A command's status as ThingsBoard's persistent RPC says, with the agent's reply read. Pure. */
export function statusFromRpc(rpc: PersistentRpc): { status: CommandStatus; result?: unknown; error?: string } {
  switch (rpc.status) {
    case 'QUEUED':
      return { status: 'queued' };
    case 'SENT':
      return { status: 'sent' };
    case 'DELIVERED':
      return { status: 'delivered' };
    case 'TIMEOUT':
      return { status: 'timeout', error: 'the device took the command but did not answer in time' };
    case 'EXPIRED':
      return { status: 'expired', error: 'not delivered before it expired (the device stayed offline)' };
    case 'DELETED':
      return { status: 'cancelled', error: 'withdrawn before the device took it' };
    case 'FAILED':
      return { status: 'failed', error: `the device's transport failed: ${JSON.stringify(rpc.response ?? null).slice(0, 500)}` };
    case 'SUCCESSFUL': {
      const reply = RpcReply.safeParse(rpc.response);
      if (!reply.success) return { status: 'failed', error: `the device answered outside the agent protocol: ${JSON.stringify(rpc.response ?? null).slice(0, 300)}` };
      return reply.data.ok ? { status: 'successful', result: reply.data.result } : { status: 'failed', error: reply.data.error };
    }
  }
}

export interface CommandRunnerOptions {
  store: FleetStore;
  gateway: DeviceGateway;
  logger: Logger;
  now?: () => number;
}

/**
 * Sends commands as ThingsBoard persistent RPCs and follows them to a final status. The RPC's id is
 * the command's id, so a send that may or may not have reached ThingsBoard (a crash, a timeout) is
 * settled by asking ThingsBoard for that id: found means sent, absent means send again. A device
 * therefore never gets the same command twice.
 */
export class CommandRunner {
  private readonly now: () => number;
  /**
   * One operation per command at a time: the API's read-through and the loop could otherwise both
   * find a `sending` command absent from ThingsBoard while the first send is still on its way, and
   * send it twice.
   */
  private readonly inProgress = new Map<string, Promise<unknown>>();

  constructor(private readonly o: CommandRunnerOptions) {
    this.now = o.now ?? Date.now;
  }

  private exclusive<T>(id: string, fn: () => Promise<T>): Promise<T> {
    const run = (this.inProgress.get(id) ?? Promise.resolve()).catch(() => undefined).then(fn);
    this.inProgress.set(id, run);
    void run.finally(() => this.inProgress.get(id) === run && this.inProgress.delete(id)).catch(() => undefined);
    return run;
  }

  /** Sends a command already recorded as `sending`; a refusal by ThingsBoard (4xx) makes it failed. */
  send(c: Command): Promise<void> {
    return this.exclusive(c.id, () => this.sendNow(c));
  }

  /** Reads a command's status from ThingsBoard and records it; returns the command as it now stands. */
  refresh(c: Command): Promise<Command> {
    // Queued behind a send or another read, it starts from what the store has by then.
    return this.exclusive(c.id, async () => this.refreshNow((await this.o.store.getCommand(c.id)) ?? c));
  }

  private async sendNow(c: Command): Promise<void> {
    try {
      await this.o.gateway.sendRpc(c.tenantId, c.tbDeviceId, {
        method: c.operation,
        params: c.params,
        requestUUID: c.id,
        expirationTime: c.expiresAt,
        additionalInfo: { cdmCommand: c.id, requestedBy: c.requestedByName, ...(c.groupId ? { cdmGroup: c.groupId } : {}) },
      });
      await this.o.store.setStatus(c.id, { status: 'sent' }, this.now());
    } catch (err) {
      if (err instanceof UpstreamError && err.status && err.status >= 400 && err.status < 500) {
        await this.o.store.setStatus(c.id, { status: 'failed', error: `ThingsBoard refused the command: ${err.message}` }, this.now());
        return;
      }
      // Unknown whether it arrived: stays `sending`; refresh() settles it by id.
      this.o.logger.warn({ command: c.id, device: c.deviceId, err: (err as Error).message }, 'command send interrupted; settled on the next pass');
    }
  }

  private async refreshNow(c: Command): Promise<Command> {
    if (isFinal(c.status) || c.status === 'pending') return c;
    const rpc = await this.o.gateway.getRpc(c.tenantId, c.id);
    const now = this.now();
    if (!rpc) {
      if (c.status === 'sending') {
        if (now >= c.expiresAt) await this.o.store.setStatus(c.id, { status: 'expired', error: 'never reached ThingsBoard before it expired' }, now);
        else await this.sendNow(c);
      } else {
        // ThingsBoard prunes old RPCs; what it no longer knows and never finished, expired.
        await this.o.store.setStatus(c.id, { status: now >= c.expiresAt ? 'expired' : 'failed', error: 'ThingsBoard no longer knows this command' }, now);
      }
    } else {
      await this.o.store.setStatus(c.id, statusFromRpc(rpc), now);
    }
    return (await this.o.store.getCommand(c.id)) ?? c;
  }

  /** Withdraws a command the device has not taken yet. */
  async cancel(c: Command): Promise<void> {
    if (isFinal(c.status)) return;
    if (c.status === 'pending') {
      await this.o.store.setStatus(c.id, { status: 'cancelled', error: 'cancelled before it was sent' }, this.now());
      return;
    }
    const now = await this.refresh(c);
    if (now.status !== 'queued') return; // on its way or done: a device cannot be un-told
    await this.o.gateway.deleteRpc(c.tenantId, c.id);
    await this.o.store.setStatus(c.id, { status: 'cancelled', error: 'withdrawn before the device took it' }, this.now());
  }
}
