import type { DesiredTenant } from './model.ts';

export { tenantBucket as bucketName } from '@cdm/common';
export const writeTokenDescription = (cdmId: string) => `cdm:${cdmId}:device-write`;
/** Marks tokens switched off because the tenant was deleted, so re-creating it switches back only those. */
export const disabledTokenDescription = (cdmId: string) => `cdm:${cdmId}:device-write:tenant-disabled`;
export const readTokenDescription = (cdmId: string) => `cdm:${cdmId}:grafana-read`;

export interface InfluxToken {
  id: string;
  status: 'active' | 'inactive';
  description: string;
}

export interface InfluxTenantState {
  cdmId: string;
  bucketId: string;
  /** Bucket description: the tenant's name, for people browsing InfluxDB. */
  description: string;
  writeTokens: InfluxToken[];
  /** Authorization id of the token in the store enroll-bridge reads, if any. */
  storedTokenId?: string;
  /** The rollup tier (tiers.ts): its bucket and the task that fills it, if they exist. */
  rollupBucketId?: string;
  rollupTask?: { id: string; flux: string; status?: 'active' | 'inactive' };
  /** Retention of the raw and rollup buckets in seconds (0: forever). */
  retentionSeconds?: number;
  rollupRetentionSeconds?: number;
}

/** What each tenant's tiers should be (tiers.ts); without it only the raw bucket is planned. */
export interface TierPlan {
  rollupFlux: (cdmId: string) => string;
  retentionSeconds: number;
  rollupRetentionSeconds: number;
}

export interface InfluxState {
  orgId?: string;
  tenants: InfluxTenantState[];
}

export type InfluxAction =
  | { kind: 'create-org'; cdmId: '*' }
  | { kind: 'create-bucket'; cdmId: string; name: string }
  | { kind: 'update-bucket'; cdmId: string; bucketId: string; name: string }
  | { kind: 'create-write-token'; cdmId: string; why: string }
  | { kind: 'enable-token'; cdmId: string; tokenId: string }
  | { kind: 'disable-token'; cdmId: string; tokenId: string }
  | { kind: 'delete-bucket'; cdmId: string; bucketId: string }
  | { kind: 'delete-token'; cdmId: string; tokenId: string }
  | { kind: 'create-rollup-bucket'; cdmId: string }
  | { kind: 'set-retention'; cdmId: string; bucketId: string; tier: 'raw' | 'rollup'; seconds: number }
  | { kind: 'put-rollup-task'; cdmId: string; taskId?: string; flux: string }
  | { kind: 'delete-rollup-task'; cdmId: string; taskId: string }
  | { kind: 'delete-rollup-bucket'; cdmId: string; bucketId: string };

/**
 * Bucket and device write token per tenant. The bucket is named by the tenant's stable id (a
 * rename in Keycloak changes only its description), so dashboards and tokens survive renames.
 * A deleted tenant keeps its bucket; its write tokens are switched off, not deleted.
 */
export function planInflux(desired: DesiredTenant[], actual: InfluxState, skipped: ReadonlySet<string> = new Set(), tiers?: TierPlan): InfluxAction[] {
  const plan: InfluxAction[] = [];
  if (!actual.orgId) plan.push({ kind: 'create-org', cdmId: '*' });
  const byCdm = new Map(actual.tenants.map((t) => [t.cdmId, t]));
  for (const d of desired) {
    const a = byCdm.get(d.cdmId);
    const flux = tiers?.rollupFlux(d.cdmId);
    if (!a) {
      plan.push({ kind: 'create-bucket', cdmId: d.cdmId, name: d.name });
      plan.push({ kind: 'create-write-token', cdmId: d.cdmId, why: 'new tenant' });
      if (flux !== undefined) plan.push({ kind: 'create-rollup-bucket', cdmId: d.cdmId }, { kind: 'put-rollup-task', cdmId: d.cdmId, flux });
      continue;
    }
    if (tiers && flux !== undefined) {
      // A changed retention setting reaches existing buckets too.
      if ((a.retentionSeconds ?? 0) !== tiers.retentionSeconds) plan.push({ kind: 'set-retention', cdmId: d.cdmId, bucketId: a.bucketId, tier: 'raw', seconds: tiers.retentionSeconds });
      if (!a.rollupBucketId) plan.push({ kind: 'create-rollup-bucket', cdmId: d.cdmId });
      else if ((a.rollupRetentionSeconds ?? 0) !== tiers.rollupRetentionSeconds)
        plan.push({ kind: 'set-retention', cdmId: d.cdmId, bucketId: a.rollupBucketId, tier: 'rollup', seconds: tiers.rollupRetentionSeconds });
      // A task switched off (by hand, or left so) is switched back on: days it skips are missing from the tier for good.
      if (a.rollupTask?.flux !== flux || a.rollupTask.status === 'inactive') plan.push({ kind: 'put-rollup-task', cdmId: d.cdmId, taskId: a.rollupTask?.id, flux });
    }
    if (a.description !== d.name) plan.push({ kind: 'update-bucket', cdmId: d.cdmId, bucketId: a.bucketId, name: d.name });
    for (const t of a.writeTokens) {
      if (t.status === 'inactive' && t.description === disabledTokenDescription(d.cdmId)) plan.push({ kind: 'enable-token', cdmId: d.cdmId, tokenId: t.id });
    }
    const stored = a.writeTokens.find((t) => t.id === a.storedTokenId);
    const storedUsable = stored && (stored.status === 'active' || stored.description === disabledTokenDescription(d.cdmId));
    // A token switched off by hand (e.g. leaked) stays off; devices get a fresh one.
    if (!storedUsable)
      plan.push({
        kind: 'create-write-token',
        cdmId: d.cdmId,
        why: !a.storedTokenId ? 'no token in the store' : !stored ? 'stored token deleted in InfluxDB' : 'stored token switched off in InfluxDB',
      });
  }
  const wanted = new Set(desired.map((d) => d.cdmId));
  for (const a of actual.tenants) {
    if (wanted.has(a.cdmId) || skipped.has(a.cdmId)) continue;
    for (const t of a.writeTokens) if (t.status === 'active') plan.push({ kind: 'disable-token', cdmId: a.cdmId, tokenId: t.id });
  }
  return plan;
}

/** `purge`: the bucket (all telemetry), its rollup tier and every token of the tenant. */
export function purgeInflux(cdmId: string, actual: InfluxState, readTokenIds: string[]): InfluxAction[] {
  const a = actual.tenants.find((t) => t.cdmId === cdmId);
  const plan: InfluxAction[] = [];
  for (const t of a?.writeTokens ?? []) plan.push({ kind: 'delete-token', cdmId, tokenId: t.id });
  for (const id of readTokenIds) plan.push({ kind: 'delete-token', cdmId, tokenId: id });
  if (a?.rollupTask) plan.push({ kind: 'delete-rollup-task', cdmId, taskId: a.rollupTask.id });
  if (a?.rollupBucketId) plan.push({ kind: 'delete-rollup-bucket', cdmId, bucketId: a.rollupBucketId });
  if (a) plan.push({ kind: 'delete-bucket', cdmId, bucketId: a.bucketId });
  return plan;
}
