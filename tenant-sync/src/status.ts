import type { PassResult } from './reconcile.ts';

/**
 * What a pass did, per system and tenant, as /metrics gauges and a /healthz check, so ops see a
 * failing tenant without logs (the loop's own gauges — passes, age, duration — come from PassLoop).
 */
export class SyncStatus {
  /** The systems a pass can fail in: Keycloak (the source) and each projection's. */
  constructor(private readonly systems: readonly string[]) {}

  private applied = 0;
  private last?: PassResult & { at: number };

  record(r: PassResult): void {
    this.applied += r.applied;
    this.last = { ...r, at: Date.now() };
  }

  gauges(): Record<string, number> {
    const g: Record<string, number> = { cdm_tenant_sync_applied_changes_total: this.applied };
    if (!this.last) return g;
    g.cdm_tenant_sync_last_pass_timestamp_seconds = Math.floor(this.last.at / 1000);
    g.cdm_tenant_sync_tenants = this.last.tenants;
    for (const system of this.systems) {
      g[`cdm_tenant_sync_last_pass_failures{system="${system}"}`] = this.last.failed.filter((f) => f.system === system).length;
    }
    return g;
  }

  /** Throws (→ 503 "degraded") when the last pass left something failed; names system and tenant. */
  check = async (): Promise<void> => {
    if (!this.last?.failed.length) return;
    const first = this.last.failed.slice(0, 3).map((f) => `${f.system}${f.cdmId === '*' ? '' : ` tenant ${f.cdmId}`}: ${f.error}`);
    throw new Error(`last pass (${this.last.runId}) failed ${this.last.failed.length}×: ${first.join('; ')}`);
  };
}
