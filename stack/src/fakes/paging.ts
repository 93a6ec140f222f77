/** ThingsBoard-style page of an in-memory list: textSearch (contains, case-insensitive), sort, page. */
export function tbPage<T extends Record<string, unknown>>(
  items: T[],
  q: Record<string, string | undefined>,
  textOf: (t: T) => string,
): { data: T[]; totalPages: number; totalElements: number; hasNext: boolean } {
  const pageSize = Number(q.pageSize);
  const page = Number(q.page);
  const search = (q.textSearch ?? '').toLowerCase();
  let list = search ? items.filter((t) => textOf(t).toLowerCase().includes(search)) : [...items];
  const prop = q.sortProperty;
  if (prop) {
    const dir = q.sortOrder === 'DESC' ? -1 : 1;
    list = list.sort((a, b) => (String(a[prop] ?? '') < String(b[prop] ?? '') ? -dir : String(a[prop] ?? '') > String(b[prop] ?? '') ? dir : 0));
  }
  const start = page * pageSize;
  const data = list.slice(start, start + pageSize);
  const totalPages = Math.ceil(list.length / pageSize);
  return { data, totalPages, totalElements: list.length, hasNext: start + pageSize < list.length };
}
