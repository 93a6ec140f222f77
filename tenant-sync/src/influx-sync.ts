import type { InfluxAuthorization, InfluxClient } from '@cdm/common';
import type { DesiredTenant } from './model.ts';
import type { Projection } from './projection.ts';
import { bucketName, disabledTokenDescription, planInflux, readTokenDescription, writeTokenDescription, type InfluxAction, type InfluxState, type InfluxTenantState } from './influx-plan.ts';
import { rollupBucket, rollupFlux, rollupTaskName, type TierPolicy } from './tiers.ts';
import type { TokenStore } from './token-store.ts';

/** A tenant's raw bucket, `cdm-<id>` (its rollup tier, `cdm-<id>.rollup`, does not match). */
export const RAW_BUCKET = /^cdm-([A-Za-z0-9-]{1,60})$/;

/** The read tokens Grafana's data sources use; Grafana keeps the token, InfluxDB only its id. */
export interface ReadTokens {
  /** cdm id → ids of its active read tokens that read every tier of the tenant. */
  activeReadTokens(): Promise<Map<string, string[]>>;
  /** Every read token of the tenant, fit or not (what a replaced token's clean-up deletes). */
  readTokenIds(cdmId: string): Promise<string[]>;
  mintReadToken(cdmId: string): Promise<{ id: string; token: string; org: string; bucket: string }>;
  deleteToken(id: string): Promise<void>;
}

export interface InfluxSyncOptions {
  influx: InfluxClient;
  org: string;
  store: TokenStore;
  retentionSeconds: number;
  /** The rollup tier; none when unset. */
  rollup?: TierPolicy;
}

/** InfluxDB side: one org, a bucket per tenant, device write tokens kept in the token store. */
export class InfluxSync implements Projection<InfluxState, InfluxAction>, ReadTokens {
  readonly perTenant = true;
  readonly system = 'influxdb';
  private orgId?: string;
  private readonly buckets = new Map<string, string>();

  constructor(private readonly o: InfluxSyncOptions) {}

  async read(only?: ReadonlySet<string>): Promise<InfluxState> {
    this.buckets.clear();
    this.orgId = (await this.o.influx.findOrg(this.o.org))?.id;
    if (!this.orgId) return { tenants: [] };
    const [buckets, auths, tasks] = await Promise.all([this.o.influx.listBuckets(this.orgId), this.o.influx.listAuthorizations(this.orgId), this.o.rollup ? this.o.influx.listTasks(this.orgId) : []]);
    const byName = new Map(buckets.map((b) => [b.name, b]));
    const seconds = (b?: { retentionRules: { everySeconds: number }[] }) => b?.retentionRules[0]?.everySeconds ?? 0;
    const taskByName = new Map(tasks.map((t) => [t.name, t]));
    const tenants: InfluxTenantState[] = [];
    for (const b of buckets) {
      const cdmId = RAW_BUCKET.exec(b.name)?.[1];
      if (!cdmId || (only && !only.has(cdmId))) continue;
      this.buckets.set(cdmId, b.id);
      const writeTokens = auths
        .filter((a) => a.description === writeTokenDescription(cdmId) || a.description === disabledTokenDescription(cdmId))
        .map((a) => ({ id: a.id, status: a.status ?? 'active', description: a.description ?? '' }));
      const task = taskByName.get(rollupTaskName(cdmId));
      tenants.push({
        cdmId,
        bucketId: b.id,
        description: b.description ?? '',
        writeTokens,
        storedTokenId: this.o.store.get(cdmId)?.authId,
        retentionSeconds: seconds(b),
        rollupBucketId: byName.get(rollupBucket(cdmId))?.id,
        rollupRetentionSeconds: seconds(byName.get(rollupBucket(cdmId))),
        ...(task ? { rollupTask: { id: task.id, flux: task.flux, status: task.status } } : {}),
      });
    }
    return { orgId: this.orgId, tenants };
  }

  plan(desired: DesiredTenant[], actual: InfluxState, skipped: ReadonlySet<string>): InfluxAction[] {
    const rollup = this.o.rollup;
    const tiers = rollup && { rollupFlux: (cdmId: string) => rollupFlux(cdmId, rollup, this.o.org), retentionSeconds: this.o.retentionSeconds, rollupRetentionSeconds: rollup.retentionSeconds };
    return planInflux(desired, actual, skipped, tiers);
  }

  describe(a: InfluxAction): Record<string, unknown> {
    switch (a.kind) {
      case 'create-org':
        return { action: a.kind, org: this.o.org };
      case 'create-bucket':
      case 'update-bucket':
        return { action: a.kind, bucket: bucketName(a.cdmId), description: a.name };
      case 'create-write-token':
        return { action: a.kind, why: a.why };
      case 'delete-bucket':
        return { action: a.kind, bucket: bucketName(a.cdmId) };
      case 'create-rollup-bucket':
      case 'delete-rollup-bucket':
        return { action: a.kind, bucket: rollupBucket(a.cdmId) };
      case 'set-retention':
        return { action: a.kind, bucket: a.tier === 'raw' ? bucketName(a.cdmId) : rollupBucket(a.cdmId), days: a.seconds / 86400 };
      case 'put-rollup-task':
      case 'delete-rollup-task':
        return { action: a.kind, task: rollupTaskName(a.cdmId) };
      default:
        return { action: a.kind, tokenId: a.tokenId };
    }
  }

  async apply(_cdmId: string, actions: InfluxAction[]): Promise<void> {
    for (const a of actions) await this.one(a);
  }

  private async one(a: InfluxAction): Promise<void> {
    const { influx } = this.o;
    switch (a.kind) {
      case 'create-org':
        this.orgId = (await influx.createOrg(this.o.org)).id;
        return;
      case 'create-bucket': {
        // A bucket left by a crash between create and the next read is adopted, not duplicated.
        const existing = await influx.findBucket(this.org(), bucketName(a.cdmId));
        const b = existing ?? (await influx.createBucket({ orgID: this.org(), name: bucketName(a.cdmId), description: a.name, retentionSeconds: this.o.retentionSeconds }));
        this.buckets.set(a.cdmId, b.id);
        return;
      }
      case 'update-bucket':
        await influx.updateBucket(a.bucketId, { description: a.name });
        return;
      case 'create-write-token': {
        const bucketId = this.bucket(a.cdmId);
        const auth = await influx.createAuthorization({
          orgID: this.org(),
          description: writeTokenDescription(a.cdmId),
          permissions: [{ action: 'write', resource: { type: 'buckets', id: bucketId, orgID: this.org() } }],
        });
        this.o.store.put({ cdmId: a.cdmId, org: this.o.org, bucket: bucketName(a.cdmId), authId: auth.id, token: required(auth) });
        return;
      }
      case 'enable-token':
        await influx.setAuthorizationStatus(a.tokenId, 'active', writeTokenDescription(a.cdmId));
        return;
      case 'disable-token':
        await influx.setAuthorizationStatus(a.tokenId, 'inactive', disabledTokenDescription(a.cdmId));
        return;
      case 'delete-token':
        await influx.deleteAuthorization(a.tokenId);
        return;
      case 'delete-bucket':
        await influx.deleteBucket(a.bucketId);
        this.o.store.delete(a.cdmId);
        this.buckets.delete(a.cdmId);
        return;
      case 'create-rollup-bucket': {
        const name = rollupBucket(a.cdmId);
        if (!(await influx.findBucket(this.org(), name)))
          await influx.createBucket({ orgID: this.org(), name, description: `rollups of ${bucketName(a.cdmId)}`, retentionSeconds: this.o.rollup?.retentionSeconds });
        return;
      }
      case 'put-rollup-task': {
        // A task left by a crash before the next read is found by its name and updated, not duplicated.
        const id = a.taskId ?? (await influx.findTask(this.org(), rollupTaskName(a.cdmId)))?.id;
        if (id) await influx.updateTask(id, { flux: a.flux, status: 'active' });
        else await influx.createTask({ orgID: this.org(), flux: a.flux, description: `cdm rollup tier of ${bucketName(a.cdmId)}` });
        return;
      }
      case 'delete-rollup-task':
        await influx.deleteTask(a.taskId);
        return;
      case 'set-retention':
        await influx.updateBucket(a.bucketId, { retentionSeconds: a.seconds });
        return;
      case 'delete-rollup-bucket':
        await influx.deleteBucket(a.bucketId);
        return;
    }
  }

  async activeReadTokens(): Promise<Map<string, string[]>> {
    const out = new Map<string, string[]>();
    const orgId = this.orgId ?? (await this.o.influx.findOrg(this.o.org))?.id;
    if (!orgId) return out;
    // A token minted before the tenant had its rollup tier cannot read it: not fit, so Grafana's projection replaces it.
    const bucketIds = this.o.rollup ? new Map((await this.o.influx.listBuckets(orgId)).map((b) => [b.name, b.id])) : undefined;
    for (const a of await this.o.influx.listAuthorizations(orgId)) {
      const cdmId = /^cdm:(.+):grafana-read$/.exec(a.description ?? '')?.[1];
      if (!cdmId || a.status === 'inactive') continue;
      const rollupId = bucketIds?.get(rollupBucket(cdmId));
      if (rollupId && !a.permissions?.some((p) => p.action === 'read' && p.resource.id === rollupId)) continue;
      out.set(cdmId, [...(out.get(cdmId) ?? []), a.id]);
    }
    return out;
  }

  async readTokenIds(cdmId: string): Promise<string[]> {
    const orgId = this.orgId ?? (await this.o.influx.findOrg(this.o.org))?.id;
    if (!orgId) return [];
    return (await this.o.influx.listAuthorizations(orgId)).filter((a) => a.description === readTokenDescription(cdmId)).map((a) => a.id);
  }

  /**
   * Grafana's projection mints through here. It asks InfluxDB for the org and bucket it needs rather
   * than relying on this projection's read() having run earlier in the pass: reordering the
   * projections, or Grafana running alone, cannot break it.
   */
  async mintReadToken(cdmId: string): Promise<{ id: string; token: string; org: string; bucket: string }> {
    const orgId = this.orgId ?? (await this.o.influx.findOrg(this.o.org))?.id;
    if (!orgId) throw new Error(`InfluxDB: organisation ${this.o.org} missing (the InfluxDB projection creates it)`);
    const bucketId = this.buckets.get(cdmId) ?? (await this.o.influx.findBucket(orgId, bucketName(cdmId)))?.id;
    if (!bucketId) throw new Error(`InfluxDB: bucket ${bucketName(cdmId)} not created yet (the InfluxDB projection makes it; it failed earlier in this pass?)`);
    // The dashboards read the rollup tier for long ranges: the token reads it too, when it exists.
    const rollupId = this.o.rollup ? (await this.o.influx.findBucket(orgId, rollupBucket(cdmId)))?.id : undefined;
    const auth = await this.o.influx.createAuthorization({
      orgID: orgId,
      description: readTokenDescription(cdmId),
      permissions: [bucketId, ...(rollupId ? [rollupId] : [])].map((id) => ({ action: 'read' as const, resource: { type: 'buckets' as const, id, orgID: orgId } })),
    });
    return { id: auth.id, token: required(auth), org: this.o.org, bucket: bucketName(cdmId) };
  }

  deleteToken(id: string): Promise<void> {
    return this.o.influx.deleteAuthorization(id);
  }

  private org(): string {
    if (!this.orgId) throw new Error(`InfluxDB: organisation ${this.o.org} missing`);
    return this.orgId;
  }

  private bucket(cdmId: string): string {
    const id = this.buckets.get(cdmId);
    if (!id) throw new Error(`InfluxDB: bucket ${bucketName(cdmId)} not created yet (InfluxDB failed earlier in this pass?)`);
    return id;
  }
}

function required(a: InfluxAuthorization): string {
  if (!a.token) throw new Error('InfluxDB: created authorization came back without its token');
  return a.token;
}
