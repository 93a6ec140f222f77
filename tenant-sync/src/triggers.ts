import type { AdminEventRepresentation, KeycloakClient, Logger } from '@cdm/common';
import { PassLoop } from '@cdm/common/loop';

/** Admin events that can change a tenant, a membership or a role. */
const RELEVANT = new Set(['GROUP', 'GROUP_MEMBERSHIP', 'USER', 'REALM_ROLE_MAPPING', 'CLIENT_ROLE_MAPPING', 'REALM_ROLE']);

export function relevantChange(events: AdminEventRepresentation[], after: number): boolean {
  return events.some((e) => (e.time ?? 0) > after && RELEVANT.has(String(e.resourceType)));
}

export interface TriggerOptions<R> {
  keycloak: KeycloakClient;
  logger: Logger;
  schedule: string;
  eventsPollMs: number;
  pass: () => Promise<R>;
  /** What the pass left failed, for the loop's gauges. */
  failures?: (r: R) => number;
  /** Our own writes show up as admin events; a pass that only sees those must not trigger another. */
  ownClientUser?: string;
}

/**
 * When passes run: once at start, on the cron schedule, and soon after Keycloak records a
 * relevant admin event (polled; Keycloak has no push for admin events) — all through one PassLoop,
 * so passes never overlap and a trigger during a pass joins it.
 */
export class Triggers<R> {
  readonly loop: PassLoop<R>;
  private poll?: NodeJS.Timeout;
  private seen = 0;

  constructor(private readonly o: TriggerOptions<R>) {
    this.loop = new PassLoop({ name: 'tenant_sync', logger: o.logger, every: o.schedule, pass: o.pass, failures: o.failures, runAtStart: true });
  }

  async start(): Promise<void> {
    this.seen = await this.newest().catch(() => Date.now());
    this.loop.start();
    this.poll = setInterval(() => void this.checkEvents(), this.o.eventsPollMs);
    this.poll.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.poll);
    await this.loop.stop();
  }

  private async checkEvents(): Promise<void> {
    try {
      const events = await this.o.keycloak.recentAdminEvents(50);
      const others = events.filter((e) => !this.o.ownClientUser || e.authDetails?.userId !== this.o.ownClientUser);
      const changed = relevantChange(others, this.seen);
      this.seen = Math.max(this.seen, ...events.map((e) => e.time ?? 0));
      if (changed) await this.loop.trigger('keycloak admin event');
    } catch (err) {
      this.o.logger.warn({ err: (err as Error).message }, 'reading Keycloak admin events failed; the schedule still runs');
    }
  }

  private async newest(): Promise<number> {
    return Math.max(0, ...(await this.o.keycloak.recentAdminEvents(1)).map((e) => e.time ?? 0));
  }
}
