/** Deployment groups that have started: their targets count towards the health gate. */
export const STARTED_GROUP = new Set(['running', 'finished', 'error']);

export interface GateInput {
  /** Targets in the rollout's started groups. */
  started: number;
  /** Of those, devices with an active OTA Failure or Boot Mismatch alarm. */
  unhealthy: number;
  /** Pause when the unhealthy share exceeds this many percent. */
  thresholdPct: number;
  /** The count at the last pause by the gate, if any: once a human resumed, only new harm pauses again. */
  pausedAt?: number;
}

/** Pure: does the rollout have to stop? */
export function gateDecision(g: GateInput): { pause: boolean; sharePct: number } {
  const sharePct = g.started ? (100 * g.unhealthy) / g.started : 0;
  const over = g.started > 0 && sharePct > g.thresholdPct;
  return { pause: over && (g.pausedAt === undefined || g.unhealthy > g.pausedAt), sharePct };
}
