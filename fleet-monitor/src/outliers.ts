import { mad, median } from './robust.ts';

/** One device's health over one time bucket (the InfluxDB query aggregates its points so). */
export interface Bucket {
  /** Start of the bucket, ms. */
  t: number;
  battery?: number;
  signal?: number;
  errors?: number;
  samples?: number;
  /** Times the device's uptime went back (it rebooted) within the bucket. */
  reboots?: number;
}

export const METRICS = {
  drain: { what: 'battery drain (%/h)', direction: 1, floor: 0.3 },
  errorRate: { what: 'error rate', direction: 1, floor: 0.005 },
  signal: { what: 'signal (dBm)', direction: -1, floor: 3 },
  reboots: { what: 'reboots per hour', direction: 1, floor: 0.5 },
} as const satisfies Record<string, { what: string; direction: 1 | -1; floor: number }>;
export type Metric = keyof typeof METRICS;
export type Rates = Partial<Record<Metric, number>>;

export interface OutlierParams {
  bucketMs: number;
  /** The buckets in the last `recentMs` are what is judged; the ones before are the device's own baseline. */
  recentMs: number;
  /** Baseline buckets a device needs before it is judged against itself (a new device is not). */
  minHistory: number;
  /** A cohort smaller than this is widened to the tenant's whole fleet. */
  minCohort: number;
  /** Errors a device needs in the recent span before its error rate is judged: a rate from a handful of readings is noise. */
  minErrors: number;
}

/**
 * Per-bucket rates: drain from consecutive battery means, the others as they are. The bucket still
 * filling has its mean earlier than its middle, which would understate the drain: it gives none.
 */
export function bucketRates(buckets: readonly Bucket[], bucketMs: number, now: number): Rates[] {
  const h = bucketMs / 3_600_000;
  return buckets.map((b, i) => {
    const prev = buckets[i - 1];
    const r: Rates = {};
    if (prev?.battery !== undefined && b.battery !== undefined && b.t + bucketMs <= now) r.drain = (prev.battery - b.battery) / ((b.t - prev.t) / 3_600_000);
    if (b.samples) r.errorRate = (b.errors ?? 0) / b.samples;
    if (b.signal !== undefined) r.signal = b.signal;
    if (b.reboots !== undefined || b.samples) r.reboots = (b.reboots ?? 0) / h;
    return r;
  });
}

export interface DeviceSeries {
  id: string;
  /** Devices compared with each other (same firmware and region). */
  cohort: string;
  /** Oldest first. */
  buckets: Bucket[];
}

export interface Profile {
  recent: Rates;
  recentErrors: number;
  recentSamples: number;
  history: Record<Metric, number[]>;
}

/** A device's recent rates (means over the recent buckets) and its per-bucket history before them. */
export function profile(s: DeviceSeries, now: number, p: OutlierParams): Profile {
  const rates = bucketRates(s.buckets, p.bucketMs, now);
  const history: Record<Metric, number[]> = { drain: [], errorRate: [], signal: [], reboots: [] };
  const recent: Record<Metric, number[]> = { drain: [], errorRate: [], signal: [], reboots: [] };
  let errors = 0;
  let samples = 0;
  s.buckets.forEach((b, i) => {
    const isRecent = b.t >= now - p.recentMs;
    for (const [m, v] of Object.entries(rates[i]!) as [Metric, number][]) (isRecent ? recent : history)[m].push(v);
    if (isRecent) {
      errors += b.errors ?? 0;
      samples += b.samples ?? 0;
    }
  });
  const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : undefined);
  const out: Rates = {};
  for (const m of Object.keys(METRICS) as Metric[]) {
    const v = m === 'errorRate' ? (samples ? errors / samples : undefined) : mean(recent[m]);
    if (v !== undefined) out[m] = v;
  }
  return { recent: out, recentErrors: errors, recentSamples: samples, history };
}

export interface Finding {
  metric: Metric;
  value: number;
  /** Robust σ above its own baseline and above its cohort; the score is the smaller of the two. */
  ownScore: number;
  cohortScore: number;
  score: number;
  ownMedian: number;
  cohortMedian: number;
}

export interface Assessment {
  id: string;
  score: number;
  findings: Finding[];
}

/**
 * Scores every device (pure): a metric is unusual when the device is unlike **itself** (its recent
 * value against its own earlier buckets) **and** unlike **its cohort** (against the recent values
 * of devices with the same firmware and region). Requiring both keeps the fleet's chronic spread —
 * a device that has always had weak signal or a flaky sensor — from raising alarms forever, and a
 * change the whole cohort shares (a cold night, a new firmware) from flagging every device.
 */
export function assess(series: readonly DeviceSeries[], now: number, p: OutlierParams): Assessment[] {
  const profiles = new Map(series.map((s) => [s.id, profile(s, now, p)]));
  const values = new Map<string, Record<Metric, number[]>>();
  const all: Record<Metric, number[]> = { drain: [], errorRate: [], signal: [], reboots: [] };
  for (const s of series) {
    let c = values.get(s.cohort);
    if (!c) values.set(s.cohort, (c = { drain: [], errorRate: [], signal: [], reboots: [] }));
    for (const [m, v] of Object.entries(profiles.get(s.id)!.recent) as [Metric, number][]) {
      c[m].push(v);
      all[m].push(v);
    }
  }
  // Each cohort's median and MAD once per pass, not once per device.
  const stats = (xs: Record<Metric, number[]>) => Object.fromEntries((Object.keys(METRICS) as Metric[]).map((m) => [m, spread(xs[m])])) as Record<Metric, Spread>;
  const fleetStats = stats(all);
  const cohortStats = new Map([...values].map(([k, xs]) => [k, stats(xs)]));
  const out: Assessment[] = [];
  for (const s of series) {
    const pr = profiles.get(s.id)!;
    const findings: Finding[] = [];
    for (const [m, value] of Object.entries(pr.recent) as [Metric, number][]) {
      const { direction, floor } = METRICS[m];
      const own = pr.history[m];
      const cohort = cohortStats.get(s.cohort)![m];
      const peers = cohort.n >= p.minCohort ? cohort : fleetStats[m];
      if (own.length < p.minHistory || peers.n < p.minCohort || (m === 'errorRate' && pr.recentErrors < p.minErrors)) continue;
      const mine = spread(own);
      // A rate from n readings scatters by √(p(1−p)/n) however steady the device: the recent span
      // may hold far fewer readings than the baseline's buckets, so that scatter is the least σ.
      const counting = (p0: number) => (m === 'errorRate' && pr.recentSamples ? Math.sqrt((Math.max(p0, 0.001) * (1 - Math.max(p0, 0.001))) / pr.recentSamples) : 0);
      const ownScore = (direction * (value - mine.median)) / Math.max(mine.mad, floor, counting(mine.median));
      const cohortScore = (direction * (value - peers.median)) / Math.max(peers.mad, floor, counting(peers.median));
      findings.push({ metric: m, value, ownScore, cohortScore, score: Math.min(ownScore, cohortScore), ownMedian: mine.median, cohortMedian: peers.median });
    }
    findings.sort((a, b) => b.score - a.score);
    out.push({ id: s.id, score: findings[0]?.score ?? 0, findings });
  }
  return out;
}

interface Spread {
  n: number;
  median: number;
  mad: number;
}
const spread = (xs: readonly number[]): Spread => {
  const med = median(xs);
  return { n: xs.length, median: med, mad: mad(xs, med) };
};

export interface AnomalyDecision {
  raise: Assessment[];
  clear: string[];
  /** Over the raise score but left for a later pass by the per-pass limit. */
  deferred: number;
}

/**
 * Which alarms to raise and clear (pure), without flooding: raise at `raiseScore`, clear only once
 * every metric is back under `clearScore` (hysteresis: a device hovering at the threshold does not
 * flap), one alarm per device, and at most `maxNew` new alarms a pass — the worst first.
 */
export function decideAnomalies(assessed: readonly Assessment[], active: ReadonlySet<string>, o: { raiseScore: number; clearScore: number; maxNew: number }): AnomalyDecision {
  const byId = new Map(assessed.map((a) => [a.id, a]));
  const candidates = assessed.filter((a) => a.score >= o.raiseScore && !active.has(a.id)).sort((a, b) => b.score - a.score);
  const clear = [...active].filter((id) => (byId.get(id)?.score ?? 0) < o.clearScore);
  return { raise: candidates.slice(0, o.maxNew), clear, deferred: Math.max(0, candidates.length - o.maxNew) };
}

/** What an alarm says about a finding, in words an operator reads. */
export function describe(f: Finding): string {
  const n = (x: number) => (Math.abs(x) >= 10 ? x.toFixed(0) : Math.abs(x) >= 1 ? x.toFixed(1) : x.toPrecision(2));
  return `${METRICS[f.metric].what} ${n(f.value)}: own baseline ${n(f.ownMedian)} (${n(f.ownScore)}σ), cohort ${n(f.cohortMedian)} (${n(f.cohortScore)}σ)`;
}
