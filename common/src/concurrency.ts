/**
 * Maps with at most `limit` calls in flight, keeping input order: reads of many tenants overlap
 * their round trips without flooding an upstream.
 */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (t: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i]!);
      }
    }),
  );
  return out;
}

/**
 * Like {@link mapLimit}, but items with the same key run one after another in their order (one
 * operation per device at a time: two changes of one device must not race), while different keys
 * run side by side. Results keep input order.
 */
export async function mapByKey<T, R>(items: readonly T[], key: (t: T) => string, limit: number, fn: (t: T) => Promise<R>): Promise<R[]> {
  const groups = new Map<string, number[]>();
  items.forEach((t, i) => {
    const k = key(t);
    const g = groups.get(k);
    if (g) g.push(i);
    else groups.set(k, [i]);
  });
  const out = new Array<R>(items.length);
  await mapLimit([...groups.values()], limit, async (indices) => {
    for (const i of indices) out[i] = await fn(items[i]!);
  });
  return out;
}
