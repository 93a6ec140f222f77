/**
 * Walks an offset/limit paged listing until a short page, so callers list by pages and never
 * fetch one entity per request.
 */
export async function* pages<T>(
  fetchPage: (offset: number, limit: number) => Promise<{ items: T[]; total?: number }>,
  limit: number,
): AsyncGenerator<T[]> {
  for (let offset = 0; ; offset += limit) {
    const { items, total } = await fetchPage(offset, limit);
    if (items.length) yield items;
    if (items.length < limit || (total !== undefined && offset + items.length >= total)) return;
  }
}

export async function collect<T>(it: AsyncIterable<T[]>): Promise<T[]> {
  const out: T[] = [];
  for await (const page of it) out.push(...page);
  return out;
}
