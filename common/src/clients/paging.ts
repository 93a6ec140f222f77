/** One page of a listing, and whether the upstream has another after it. */
export interface Page<T> {
  items: T[];
  more: boolean;
}

/**
 * The one walk over a paged listing: page 0, 1, … until the upstream says it was the last, so
 * callers list by pages and never fetch one entity per request. Each client maps its upstream's
 * paging to `Page` (ThingsBoard's hasNext, Grafana's page numbers, offset/limit below).
 */
export async function* walk<T>(fetchPage: (index: number) => Promise<Page<T>>): AsyncGenerator<T[]> {
  for (let index = 0; ; index++) {
    const { items, more } = await fetchPage(index);
    if (items.length) yield items;
    if (!more || !items.length) return;
  }
}

/** Offset/limit listings (hawkBit, Keycloak, InfluxDB): a short page, or the total, ends them. */
export function pages<T>(fetchPage: (offset: number, limit: number) => Promise<{ items: T[]; total?: number }>, limit: number): AsyncGenerator<T[]> {
  return walk(async (index) => {
    const offset = index * limit;
    const { items, total } = await fetchPage(offset, limit);
    return { items, more: items.length === limit && (total === undefined || offset + items.length < total) };
  });
}

export async function collect<T>(it: AsyncIterable<T[]>): Promise<T[]> {
  const out: T[] = [];
  for await (const page of it) out.push(...page);
  return out;
}
