import cron, { type ScheduledTask } from 'node-cron';
import type { AdminEventRepresentation, KeycloakClient, Logger } from '@cdm/common';

/** Admin events that can change a tenant, a membership or a role. */
const RELEVANT = new Set(['GROUP', 'GROUP_MEMBERSHIP', 'USER', 'REALM_ROLE_MAPPING', 'CLIENT_ROLE_MAPPING', 'REALM_ROLE']);

export function relevantChange(events: AdminEventRepresentation[], after: number): boolean {
  return events.some((e) => (e.time ?? 0) > after && RELEVANT.has(String(e.resourceType)));
}

export interface TriggerOptions {
  keycloak: KeycloakClient;
  logger: Logger;
  schedule: string;
  eventsPollMs: number;
  /** Starts a pass (passes never overlap; a call during one joins it). */
  pass: () => Promise<unknown>;
  /** Our own writes show up as admin events; a pass that only sees those must not trigger another. */
  ownClientUser?: string;
}

/**
 * When passes run: once at start, on the cron schedule, and soon after Keycloak records a
 * relevant admin event (polled; Keycloak has no push for admin events).
 */
export class Triggers {
  private task?: ScheduledTask;
  private poll?: NodeJS.Timeout;
  private seen = 0;

  constructor(private readonly o: TriggerOptions) {}

  async start(): Promise<void> {
    if (!cron.validate(this.o.schedule)) throw new Error(`SYNC_SCHEDULE "${this.o.schedule}" is not a valid cron expression`);
    this.seen = await this.newest().catch(() => Date.now());
    this.task = cron.schedule(this.o.schedule, () => void this.run('schedule'), { noOverlap: true });
    this.poll = setInterval(() => void this.checkEvents(), this.o.eventsPollMs);
    this.poll.unref();
    void this.run('start');
  }

  stop(): void {
    void this.task?.stop();
    clearInterval(this.poll);
  }

  private async run(why: string): Promise<void> {
    this.o.logger.debug({ why }, 'pass triggered');
    await this.o.pass().catch((err: Error) => this.o.logger.error({ err: err.message }, 'pass crashed'));
  }

  private async checkEvents(): Promise<void> {
    try {
      const events = await this.o.keycloak.recentAdminEvents(50);
      const others = events.filter((e) => !this.o.ownClientUser || e.authDetails?.userId !== this.o.ownClientUser);
      const changed = relevantChange(others, this.seen);
      this.seen = Math.max(this.seen, ...events.map((e) => e.time ?? 0));
      if (changed) await this.run('keycloak admin event');
    } catch (err) {
      this.o.logger.warn({ err: (err as Error).message }, 'reading Keycloak admin events failed; the schedule still runs');
    }
  }

  private async newest(): Promise<number> {
    return Math.max(0, ...(await this.o.keycloak.recentAdminEvents(1)).map((e) => e.time ?? 0));
  }
}
