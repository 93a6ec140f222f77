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
