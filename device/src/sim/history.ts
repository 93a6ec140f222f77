import { DEFAULT_PROFILE, VirtualDevice, type FleetProfile } from './device-model.ts';
import type { HealthValues } from './influx-writer.ts';
import { deviceSeed, rng } from './rng.ts';

export interface HistoryOptions {
  /** Device ids; each gets its own seeded model (same seed, same fleet). */
  ids: readonly string[];
  seed: number;
  from: number;
  to: number;
  /** One health point per device per window (the design's 5 minutes). */
  windowMs: number;
  /** Readings per window the aggregate is made of. */
  samplesPerWindow: number;
  profile?: FleetProfile;
  /** The device sends nothing for the window ending at t (offline; it keeps sampling, and drops what it could not send). */
  silent?: (id: string, t: number) => boolean;
  /** Extra battery drain (%/h) at time t, on top of the model's: an injected fault. */
  extraDrain?: (id: string, t: number) => number;
}

export interface HistoryPoint {
  id: string;
  t: number;
  values: HealthValues;
}

/**
 * A fleet's health history, window by window, in simulated time: the points the simulator's
 * devices would have written between `from` and `to` (a week in seconds, for detectors and their
 * tests), with faults injected per device. Yields one window of the whole fleet at a time, so a
 * caller can write or aggregate it without holding the week.
 */
export function* fleetHistory(o: HistoryOptions): Generator<HistoryPoint[]> {
  const devices = o.ids.map(
    (id, i) => new VirtualDevice(id, 'sim', rng(deviceSeed(o.seed, i)), o.from, { sampleIntervalS: o.windowMs / 1000 / o.samplesPerWindow, windowS: o.windowMs / 1000 }, o.profile ?? DEFAULT_PROFILE),
  );
  const dtS = o.windowMs / 1000 / o.samplesPerWindow;
  // A point closes its window: the one at t covers (t − window, t].
  for (let t = o.from + o.windowMs; t <= o.to; t += o.windowMs) {
    const out: HistoryPoint[] = [];
    for (const d of devices) {
      for (let k = 0; k < o.samplesPerWindow; k++) {
        d.sample(dtS);
        const extra = o.extraDrain?.(d.id, t) ?? 0;
        if (extra) d.battery = Math.max(0, d.battery - (extra * dtS) / 3600);
      }
      const a = d.flush(t);
      if (a && !o.silent?.(d.id, t)) out.push({ id: d.id, t, values: a });
    }
    yield out;
  }
}
