/**
 * Median and MAD: a device fleet's values are skewed and carry outliers (the very things we look
 * for), which drag a mean and a standard deviation towards them; the median and the median
 * absolute deviation stay put until half the values are bad.
 */
export function median(xs: readonly number[]): number {
  if (!xs.length) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Median absolute deviation, scaled by 1.4826 so it estimates σ for normally distributed values. */
export function mad(xs: readonly number[], med = median(xs)): number {
  return 1.4826 * median(xs.map((x) => Math.abs(x - med)));
}

/**
 * How many robust standard deviations `x` lies above the values (`direction` -1: below). `floor`
 * is the smallest spread taken as real: a dozen identical readings have MAD 0, and a change
 * within a sensor's resolution is not an anomaly.
 */
export function robustScore(x: number, values: readonly number[], floor: number, direction: 1 | -1 = 1): number {
  if (!values.length || !Number.isFinite(x)) return 0;
  const med = median(values);
  return (direction * (x - med)) / Math.max(mad(values, med), floor);
}
