import { describe, expect, it } from 'vitest';
import { collect, pages, walk } from './paging.ts';

describe('paging: one walk for every upstream', () => {
  it('walks pages until the upstream says it was the last (ThingsBoard hasNext, Grafana page numbers)', async () => {
    const asked: number[] = [];
    const data = [[1, 2], [3, 4], [5]];
    expect(await collect(walk(async (i) => (asked.push(i), { items: data[i]!, more: i < 2 })))).toEqual([1, 2, 3, 4, 5]);
    expect(asked).toEqual([0, 1, 2]);
  });

  it('stops at an empty page even if the upstream claims more (never loops forever)', async () => {
    let calls = 0;
    expect(await collect(walk(async () => (calls++, { items: [] as number[], more: true })))).toEqual([]);
    expect(calls).toBe(1);
  });

  it('offset/limit: a short page or the total ends it, without an extra empty request', async () => {
    const all = Array.from({ length: 7 }, (_, i) => i);
    const offsets: number[] = [];
    const fetch = (withTotal: boolean) => async (offset: number, limit: number) => (offsets.push(offset), { items: all.slice(offset, offset + limit), ...(withTotal ? { total: all.length } : {}) });
    expect(await collect(pages(fetch(false), 3))).toEqual(all);
    expect(offsets.splice(0)).toEqual([0, 3, 6]);
    const six = all.slice(0, 6);
    expect(await collect(pages(async (offset, limit) => (offsets.push(offset), { items: six.slice(offset, offset + limit), total: 6 }), 3))).toEqual(six);
    expect(offsets).toEqual([0, 3]); // the total says page 2 was the last
  });
});
