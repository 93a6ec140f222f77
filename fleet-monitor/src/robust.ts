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
