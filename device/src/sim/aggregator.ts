/** One reading taken on the device (every sample interval). */
export interface Sample {
  battery: number;
  signal: number;
  /** The reading or the operation it accompanies failed. */
  error: boolean;
}

/** What a device sends per window instead of its raw samples. */
export interface WindowAggregate {
  battery_pct: number;
  battery_min_pct: number;
  signal_dbm: number;
  signal_min_dbm: number;
  samples: number;
  errors: number;
  error_rate: number;
}

const round = (x: number, digits: number) => Math.round(x * 10 ** digits) / 10 ** digits;

/**
 * On-device aggregation: keeps running sums, never the samples themselves, so memory stays
 * constant however long the window. `flush()` returns the window's aggregate and starts a new one.
 */
export class WindowAggregator {
  private n = 0;
  private errors = 0;
  private batterySum = 0;
  private batteryMin = Infinity;
  private signalSum = 0;
  private signalMin = Infinity;

  add(s: Sample): void {
    this.n++;
    if (s.error) this.errors++;
    this.batterySum += s.battery;
    this.batteryMin = Math.min(this.batteryMin, s.battery);
    this.signalSum += s.signal;
    this.signalMin = Math.min(this.signalMin, s.signal);
  }

  get count(): number {
    return this.n;
  }

  /** undefined for an empty window: nothing was measured, so nothing is reported. */
  flush(): WindowAggregate | undefined {
    if (this.n === 0) return undefined;
    const a: WindowAggregate = {
      battery_pct: round(this.batterySum / this.n, 2),
      battery_min_pct: round(this.batteryMin, 2),
      signal_dbm: round(this.signalSum / this.n, 1),
      signal_min_dbm: round(this.signalMin, 1),
      samples: this.n,
      errors: this.errors,
      error_rate: round(this.errors / this.n, 4),
    };
    this.n = this.errors = this.batterySum = this.signalSum = 0;
    this.batteryMin = this.signalMin = Infinity;
    return a;
  }
}
