import type { KeycloakClient, Logger } from '@cdm/common';
import { PassLoop } from '@cdm/common/loop';
import type { Lease } from '@cdm/common/lease';
import { eventScope, type TenantIndex } from './scope.ts';

/** Admin events read per check; a check that finds them all new may have missed some, and asks for a full pass. */
const EVENTS_PER_CHECK = 100;
const EVENT = 'keycloak admin event';

export interface TriggerOptions<R> {
  keycloak: KeycloakClient;
  logger: Logger;
  schedule: string;
  /** A scheduled pass is full when the last full one started this long ago; otherwise it reads listings only. */
  fullEveryMs: number;
  eventsPollMs: number;
  /** A full pass (no tenants given), or one over the tenants a Keycloak change named. */
  pass: (tenants?: ReadonlySet<string>) => Promise<R>;
  /** Which tenant a group or user id belongs to, as the last pass read it (undefined before the first). */
  index: () => TenantIndex | undefined;
  /** What the pass left failed, for the loop's gauges. */
  failures?: (r: R) => number;
  /** Our own writes show up as admin events; a pass that only sees those must not trigger another. */
  ownClientUser?: string;
  /** With replicas: passes run on the lease holder only. */
  lease?: Lease;
}

/**
 * When passes run, and over which tenants: a full pass at start and on the schedule once
 * `fullEveryMs` has passed since the last; other scheduled passes over no tenant in particular
 * (listings: new and gone tenants, the whole-system projections); soon after Keycloak records a
 * relevant admin event (polled; Keycloak has no push for admin events), a pass over the tenants the
 * events named. All through one PassLoop, so passes never overlap; tenants named while a pass runs
 * wait for the next one, which starts as soon as that pass ends.
 */
export class Triggers<R> {
  readonly loop: PassLoop<R>;
  private poll?: NodeJS.Timeout;
  private seen = 0;
  /** Named by events and not yet passed over; undefined: nothing waits. */
  private pending?: { tenants: Set<string>; full: boolean };
  private lastFull = 0;

  constructor(private readonly o: TriggerOptions<R>) {
    this.loop = new PassLoop({
      name: 'tenant_sync',
      logger: o.logger,
      every: o.schedule,
      pass: (why) => {
        const p = this.pending;
        this.pending = undefined; // taken now: events from here on wait for the next pass
        if (p?.full || (why !== EVENT && Date.now() - this.lastFull >= o.fullEveryMs)) {
          this.lastFull = Date.now();
          return o.pass();
        }
        return o.pass(p?.tenants ?? new Set());
      },
      failures: o.failures,
      runAtStart: true,
      lease: o.lease,
    });
  }

  async start(): Promise<void> {
    await this.catchUp();
    this.loop.start();
    this.poll = setInterval(() => void this.checkEvents(), this.o.eventsPollMs);
    this.poll.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.poll);
    await this.loop.stop();
  }

  /** Reads the newest admin events; when they name a change, runs a pass over it (exported for tests). */
  async checkEvents(): Promise<void> {
    try {
      const events = await this.o.keycloak.recentAdminEvents(EVENTS_PER_CHECK);
      const others = events.filter((e) => !this.o.ownClientUser || e.authDetails?.userId !== this.o.ownClientUser);
      const scope = eventScope(others, this.seen, this.o.index());
      const overflow = events.length >= EVENTS_PER_CHECK && events.every((e) => (e.time ?? 0) > this.seen);
      this.seen = Math.max(this.seen, ...events.map((e) => e.time ?? 0));
      if (scope.relevant || overflow) {
        const p = (this.pending ??= { tenants: new Set(), full: false });
        for (const t of scope.tenants) p.tenants.add(t);
        p.full ||= overflow || !this.o.index();
      }
      // A trigger that joined a pass already under way leaves its tenants pending: go again. A
      // standby keeps them pending for its first pass as lease holder (and its first scheduled pass
      // is full: it has run none).
      while (this.pending && this.loop.leading) await this.loop.trigger(EVENT);
    } catch (err) {
      this.o.logger.warn({ err: (err as Error).message }, 'reading Keycloak admin events failed; the schedule still runs');
    }
  }

  /** Events recorded so far are covered by the full pass at start: later checks look only past them. */
  async catchUp(): Promise<void> {
    this.seen = await this.o.keycloak.recentAdminEvents(1).then(
      (es) => Math.max(0, ...es.map((e) => e.time ?? 0)),
      () => Date.now(),
    );
  }
}
