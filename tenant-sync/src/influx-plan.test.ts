import { describe, expect, it } from 'vitest';
import { tenant } from './fixtures.test-helpers.ts';
import { disabledTokenDescription, planInflux, purgeInflux, writeTokenDescription, type InfluxState } from './influx-plan.ts';

const acme = tenant('g-acme', 'acme');
const inLine: InfluxState = {
  orgId: 'o1',
  tenants: [{ cdmId: 'g-acme', bucketId: 'b1', description: 'acme', writeTokens: [{ id: 'w1', status: 'active', description: writeTokenDescription('g-acme') }], storedTokenId: 'w1' }],
};

describe('planInflux', () => {
  it('is empty when InfluxDB is in line', () => {
    expect(planInflux([acme], inLine)).toEqual([]);
  });

  it('creates the org, a bucket and a stored write token for a new tenant', () => {
    expect(planInflux([acme], { tenants: [] }).map((a) => a.kind)).toEqual(['create-org', 'create-bucket', 'create-write-token']);
  });

  it('follows a rename in the description only (the bucket name is the stable id)', () => {
    expect(planInflux([tenant('g-acme', 'ACME Corp')], inLine)).toEqual([{ kind: 'update-bucket', cdmId: 'g-acme', bucketId: 'b1', name: 'ACME Corp' }]);
  });

  it('mints a new token when the stored one is gone or was switched off by hand, and keeps a hand-revoked one off', () => {
    const gone = { ...inLine, tenants: [{ ...inLine.tenants[0]!, storedTokenId: 'w0' }] };
    expect(planInflux([acme], gone)).toEqual([{ kind: 'create-write-token', cdmId: 'g-acme', why: 'stored token deleted in InfluxDB' }]);
    const revoked = { ...inLine, tenants: [{ ...inLine.tenants[0]!, writeTokens: [{ id: 'w1', status: 'inactive' as const, description: writeTokenDescription('g-acme') }] }] };
    expect(planInflux([acme], revoked)).toEqual([{ kind: 'create-write-token', cdmId: 'g-acme', why: 'stored token switched off in InfluxDB' }]);
    const noStore = { ...inLine, tenants: [{ ...inLine.tenants[0]!, storedTokenId: undefined }] };
    expect(planInflux([acme], noStore)[0]).toMatchObject({ kind: 'create-write-token', why: 'no token in the store' });
  });

  it('switches a deleted tenant’s write tokens off but keeps its bucket, and back on when it returns', () => {
    const off = planInflux([], inLine);
    expect(off).toEqual([{ kind: 'disable-token', cdmId: 'g-acme', tokenId: 'w1' }]);
    const disabled = { ...inLine, tenants: [{ ...inLine.tenants[0]!, writeTokens: [{ id: 'w1', status: 'inactive' as const, description: disabledTokenDescription('g-acme') }] }] };
    expect(planInflux([], disabled)).toEqual([]);
    expect(planInflux([acme], disabled)).toEqual([{ kind: 'enable-token', cdmId: 'g-acme', tokenId: 'w1' }]);
  });

  it('leaves skipped (invalid) groups alone', () => {
    expect(planInflux([], inLine, new Set(['g-acme']))).toEqual([]);
  });

  it('purge deletes every token and then the bucket', () => {
    expect(purgeInflux('g-acme', inLine, ['r1']).map((a) => a.kind)).toEqual(['delete-token', 'delete-token', 'delete-bucket']);
    expect(purgeInflux('nope', inLine, [])).toEqual([]);
  });
});

describe('planInflux with the rollup tier', () => {
  const flux = { rollupFlux: (cdmId: string) => `task for ${cdmId}`, retentionSeconds: 0, rollupRetentionSeconds: 86400 };
  const withTier = { ...inLine, tenants: [{ ...inLine.tenants[0]!, rollupBucketId: 'r1', rollupRetentionSeconds: 86400, rollupTask: { id: 't1', flux: 'task for g-acme' } }] };

  it('adds the rollup bucket and its task to a new tenant, and nothing once both are there', () => {
    expect(planInflux([acme], { orgId: 'o1', tenants: [] }, new Set(), flux).map((a) => a.kind)).toEqual(['create-bucket', 'create-write-token', 'create-rollup-bucket', 'put-rollup-task']);
    expect(planInflux([acme], withTier, new Set(), flux)).toEqual([]);
  });

  it('makes what is missing for an existing tenant and rewrites a task whose script differs', () => {
    expect(planInflux([acme], inLine, new Set(), flux)).toEqual([
      { kind: 'create-rollup-bucket', cdmId: 'g-acme' },
      { kind: 'put-rollup-task', cdmId: 'g-acme', taskId: undefined, flux: 'task for g-acme' },
    ]);
    const edited = { ...withTier, tenants: [{ ...withTier.tenants[0]!, rollupTask: { id: 't1', flux: 'edited by hand' } }] };
    expect(planInflux([acme], edited, new Set(), flux)).toEqual([{ kind: 'put-rollup-task', cdmId: 'g-acme', taskId: 't1', flux: 'task for g-acme' }]);
  });

  it('switches a task that was switched off back on, and leaves an active one alone', () => {
    const off = { ...withTier, tenants: [{ ...withTier.tenants[0]!, rollupTask: { id: 't1', flux: 'task for g-acme', status: 'inactive' as const } }] };
    expect(planInflux([acme], off, new Set(), flux)).toEqual([{ kind: 'put-rollup-task', cdmId: 'g-acme', taskId: 't1', flux: 'task for g-acme' }]);
    const on = { ...withTier, tenants: [{ ...withTier.tenants[0]!, rollupTask: { id: 't1', flux: 'task for g-acme', status: 'active' as const } }] };
    expect(planInflux([acme], on, new Set(), flux)).toEqual([]);
  });

  it('purge deletes the task and the rollup bucket before the raw bucket', () => {
    expect(purgeInflux('g-acme', withTier, []).map((a) => a.kind)).toEqual(['delete-token', 'delete-rollup-task', 'delete-rollup-bucket', 'delete-bucket']);
  });

  it('follows a changed retention setting on existing buckets, each tier its own', () => {
    expect(planInflux([acme], withTier, new Set(), { ...flux, retentionSeconds: 30 * 86400, rollupRetentionSeconds: 365 * 86400 })).toEqual([
      { kind: 'set-retention', cdmId: 'g-acme', bucketId: 'b1', tier: 'raw', seconds: 30 * 86400 },
      { kind: 'set-retention', cdmId: 'g-acme', bucketId: 'r1', tier: 'rollup', seconds: 365 * 86400 },
    ]);
  });
});
