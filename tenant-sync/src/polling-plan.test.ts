import { describe, expect, it } from 'vitest';
import type { DesiredTenant } from './model.ts';
import { planPolling, pollingTimeValue } from './polling-plan.ts';

const policy = { interval: '06:00:00', whileUpdating: '00:05:00', jitterPercent: 10 };
const tenant = (cdmId: string, pollingInterval?: string): DesiredTenant => ({ cdmId, name: cdmId, admins: [], operators: [], oncall: [], ...(pollingInterval ? { pollingInterval } : {}) });
const none = new Set<string>();

describe("hawkBit's pollingTime from the tenants", () => {
  it('is 6 h with jitter, and each tenant with its own interval by its targets’ marker', () => {
    const { value, ignored } = pollingTimeValue([tenant('b-2', '01:00:00'), tenant('a-1'), tenant('c-3', '06:00:00')], policy);
    expect(value).toBe('06:00:00~10%, description=="cdm tenant b-2" -> 01:00:00~10%');
    expect(ignored).toEqual([]);
  });

  it('puts a tenant with a rollout under way first, on the short interval, whatever its own', () => {
    const { value } = pollingTimeValue([tenant('b-2', '01:00:00'), tenant('a-1'), tenant('d-4', '02:00:00')], policy, new Set(['b-2', 'a-1', 'gone']));
    expect(value).toBe('06:00:00~10%, description=="cdm tenant a-1" -> 00:05:00~10%, description=="cdm tenant b-2" -> 00:05:00~10%, description=="cdm tenant d-4" -> 02:00:00~10%');
  });

  it('leaves out, and names, a tenant interval hawkBit would refuse (one bad group must not stop every tenant’s setting)', () => {
    const { value, ignored } = pollingTimeValue([tenant('a-1', '6h'), tenant('b-2', '00:00:10'), tenant('c-3', '00:30:00')], { ...policy, jitterPercent: 0 });
    expect(value).toBe('06:00:00, description=="cdm tenant c-3" -> 00:30:00');
    expect(ignored.map((i) => [i.cdmId, i.why])).toEqual([
      ['a-1', '"6h" is not HH:MM:SS'],
      ['b-2', "00:00:10 is under hawkBit's minimum polling time of 30 s"],
    ]);
  });

  it('plans nothing when hawkBit already says it, one change otherwise', () => {
    const want = pollingTimeValue([tenant('a-1', '01:00:00')], policy).value;
    expect(planPolling([tenant('a-1', '01:00:00')], { value: want, updating: none }, policy)).toEqual([]);
    expect(planPolling([tenant('a-1', '02:00:00')], { value: want, updating: none }, policy)).toMatchObject([
      { kind: 'set-polling', cdmId: '*', was: want, value: expect.stringContaining('-> 02:00:00~10%') },
    ]);
    expect(planPolling([tenant('a-1', '01:00:00')], { value: want, updating: new Set(['a-1']) }, policy)).toMatchObject([{ value: expect.stringContaining('-> 00:05:00~10%') }]);
    expect(planPolling([], { updating: none }, policy)).toMatchObject([{ value: '06:00:00~10%' }]);
  });

  it('keeps the interval of a tenant skipped this pass (invalid group), as its other projections stay', () => {
    const had = pollingTimeValue([tenant('a-1', '01:00:00'), tenant('b-2', '02:00:00')], policy).value;
    expect(planPolling([tenant('a-1', '01:00:00')], { value: had, updating: none }, policy, new Set(['b-2']))).toEqual([]);
    expect(planPolling([tenant('a-1', '01:00:00')], { value: had, updating: none }, policy)).toHaveLength(1); // deleted, not skipped: its override goes
  });

  it('puts a skipped tenant on the short interval while its rollout runs, and back on its own after, without its group', () => {
    const had = pollingTimeValue([tenant('a-1'), tenant('b-2', '02:00:00')], policy).value;
    const skipped = new Set(['b-2']);
    const during = planPolling([tenant('a-1')], { value: had, updating: new Set(['b-2']) }, policy, skipped);
    expect(during).toMatchObject([{ value: '06:00:00~10%, description=="cdm tenant b-2" -> 00:05:00~10%, description=="cdm tenant b-2" -> 02:00:00~10%' }]);
    const after = planPolling([tenant('a-1')], { value: during[0]!.value, updating: none }, policy, skipped);
    expect(after).toMatchObject([{ value: had }]);
    // A short-interval override left from before (the stale case): gone once no rollout is under way.
    expect(planPolling([tenant('a-1')], { value: '06:00:00~10%, description=="cdm tenant b-2" -> 00:05:00~10%', updating: none }, policy, skipped)).toMatchObject([{ value: '06:00:00~10%' }]);
  });
});
