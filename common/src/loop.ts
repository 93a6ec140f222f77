// Not in the package index: node-cron reads __dirname when loaded, which the agent bundle (ESM) has not; services import "@cdm/common/loop".
import cron, { type ScheduledTask } from 'node-cron';
import type { Lease } from './lease.ts';
import type { Logger } from './logger.ts';

export interface LoopOptions<R> {
  /** Names the loop in logs and metrics: cdm_<name>_… */
  name: string;
  logger: Logger;
  /** A node-cron schedule (with seconds), or a fixed interval in milliseconds. */
  every: string | number;
  /** Runs one pass; `why` is what started it ('start', 'schedule', 'interval' or the trigger's reason). */
  pass: (why: string) => Promise<R>;
  /** What the pass left failed (its own per-item failures), exported as a gauge. */
  failures?: (r: R) => number;
  /** Logged at info after a pass when it returns true (something happened); debug otherwise. */
  notable?: (r: R) => boolean;
  /** A first pass right after start. */
  runAtStart?: boolean;
  /**
   * With replicas: passes run only on the one holding this lease (kept renewed every third of its
   * time while the loop runs); the others stand by and take it over when it expires.
   */
  lease?: Lease;
}

/**
 * The one way a service runs its passes: on a schedule or an interval, never two at once (a
 * trigger during a pass joins it), a pass that throws is logged and the next tick retries, and
 * the same metrics for every loop — passes, passes that threw, the last pass's failures, age and
 * duration. Each pass keeps its own run id and child logger (the pass functions make them).
 */
export class PassLoop<R> {
  private task?: ScheduledTask;
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  private passes = 0;
  private errors = 0;
  private lastPass?: { at: number; ms: number; failures: number };
  private renewer?: NodeJS.Timeout;
  private standbyTicks = 0;

  constructor(private readonly o: LoopOptions<R>) {
    if (typeof o.every === 'string' && !cron.validate(o.every)) throw new Error(`${o.name}: "${o.every}" is not a valid cron schedule (node-cron, with seconds)`);
  }

  start(): void {
    const { lease } = this.o;
    if (typeof this.o.every === 'string') this.task = cron.schedule(this.o.every, () => this.trigger('schedule'), { noOverlap: true });
    else this.timer = setInterval(() => void this.trigger('interval'), this.o.every);
    if (!lease) {
      if (this.o.runAtStart) void this.trigger('start');
      return;
    }
    this.renewer = setInterval(() => void this.renew(), lease.ttlMs / 3);
    // The first pass waits for the first word on the lease: a standby must not run it.
    const first = this.renew();
    if (this.o.runAtStart) void first.then(() => this.trigger('start'));
  }

  async stop(): Promise<void> {
    await this.task?.stop();
    clearInterval(this.timer);
    clearInterval(this.renewer);
    await this.running;
    await this.o.lease?.release().catch(() => undefined);
  }

  private async renew(): Promise<void> {
    const lease = this.o.lease!;
    const was = lease.held();
    const now = await lease.take().catch((err: Error) => {
      this.o.logger.warn({ loop: this.o.name, err: err.message }, `${this.o.name}: could not renew the lease; passes wait until it is held again`);
      return false;
    });
    if (now !== was) this.o.logger.info({ loop: this.o.name, lease: lease.name, holder: lease.holder }, now ? `${this.o.name}: leader (lease taken)` : `${this.o.name}: standby (lease lost)`);
  }

  /** Whether passes run here: no lease, or this replica holds it. A standby's trigger runs nothing. */
  get leading(): boolean {
    return !this.o.lease || this.o.lease.held();
  }

  /** Runs a pass now, or joins the one running. Never throws. */
  trigger(why: string): Promise<void> {
    this.running ??= this.run(why).finally(() => (this.running = undefined));
    return this.running;
  }

  private async run(why: string): Promise<void> {
    if (!this.leading) {
      this.standbyTicks++;
      return;
    }
    const t0 = Date.now();
    try {
      const r = await this.o.pass(why);
      this.passes++;
      this.lastPass = { at: Date.now(), ms: Date.now() - t0, failures: this.o.failures?.(r) ?? 0 };
      if (this.o.notable?.(r)) this.o.logger.info({ loop: this.o.name, why, result: r }, `${this.o.name} pass`);
    } catch (err) {
      this.errors++;
      this.o.logger.error({ loop: this.o.name, why, err: (err as Error).message }, `${this.o.name} pass failed; the next one retries`);
    }
  }

  gauges(now = Date.now()): Record<string, number> {
    const n = `cdm_${this.o.name}`;
    return {
      [`${n}_passes_total`]: this.passes,
      [`${n}_pass_errors_total`]: this.errors,
      [`${n}_last_pass_failures`]: this.lastPass?.failures ?? 0,
      [`${n}_last_pass_age_seconds`]: this.lastPass ? Math.round((now - this.lastPass.at) / 1000) : -1,
      [`${n}_last_pass_duration_seconds`]: this.lastPass ? this.lastPass.ms / 1000 : 0,
      ...(this.o.lease ? { [`${n}_leader`]: this.leading ? 1 : 0, [`${n}_standby_ticks_total`]: this.standbyTicks } : {}),
    };
  }
}
