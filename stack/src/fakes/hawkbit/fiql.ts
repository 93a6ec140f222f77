/**
 * The subset of FIQL that hawkBit clients use: `field==value` (with * wildcards), `!=`, `=ge=`,
 * `=gt=`, `=le=`, `=lt=`, `=in=(a,b)`, `=out=(a,b)`, joined by `;` (and) or `,` (or). Grouping
 * parentheses are not supported and are refused, so a test relying on them fails instead of passing
 * on a wrong filter.
 */
export type Predicate = (entity: Record<string, unknown>) => boolean;

export function parseFiql(q: string | undefined): Predicate {
  if (!q) return () => true;
  if (/[()]/.test(q.replace(/=(in|out)=\([^()]*\)/g, ''))) throw new Error('FIQL grouping with parentheses is not supported by the hawkBit fake');
  const ors = splitTop(q, ',').map((part) => splitTop(part, ';').map(term));
  return (e) => ors.some((ands) => ands.every((t) => t(e)));
}

function splitTop(s: string, sep: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  let list = 0; // inside an =in=(...) value list
  for (const ch of s) {
    if (ch === '"') quoted = !quoted;
    if (!quoted && ch === '(') list++;
    if (!quoted && ch === ')') list--;
    if (ch === sep && !quoted && !list) {
      out.push(cur);
      cur = '';
    } else cur += ch;
  }
  out.push(cur);
  return out;
}

function term(t: string): Predicate {
  const m = /^([A-Za-z.]+)(==|!=|=ge=|=gt=|=le=|=lt=|=in=|=out=)(.*)$/.exec(t.trim());
  if (!m) throw new Error(`invalid FIQL term: ${t}`);
  const [, field, op, rawValue] = m as unknown as [string, string, string, string];
  const quoted = rawValue.length >= 2 && rawValue.startsWith('"') && rawValue.endsWith('"');
  if (!quoted && /[\s"']/.test(rawValue)) throw new Error(`invalid FIQL value (quote values with spaces): ${rawValue}`);
  const value = quoted ? rawValue.slice(1, -1).replace(/\\(["\\])/g, '$1') : rawValue;
  const get = (e: Record<string, unknown>) => field.split('.').reduce<unknown>((o, k) => (o as Record<string, unknown> | undefined)?.[fieldName(k)], e);
  const like = (v: unknown) =>
    new RegExp(
      `^${value
        .split('*')
        .map((x) => x.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
        .join('.*')}$`,
      'i',
    ).test(String(v ?? ''));
  const num = (v: unknown) => Number(v);
  switch (op) {
    case '==':
      return (e) => like(get(e));
    case '!=':
      return (e) => !like(get(e));
    case '=ge=':
      return (e) => num(get(e)) >= Number(value);
    case '=gt=':
      return (e) => num(get(e)) > Number(value);
    case '=le=':
      return (e) => num(get(e)) <= Number(value);
    case '=lt=':
      return (e) => num(get(e)) < Number(value);
    case '=in=':
    case '=out=': {
      if (!/^\(.*\)$/.test(rawValue)) throw new Error(`invalid FIQL list: ${rawValue}`);
      const items = new Set(
        splitTop(rawValue.slice(1, -1), ',').map((v) =>
          v
            .trim()
            .replace(/^"(.*)"$/, '$1')
            .toLowerCase(),
        ),
      );
      const inList = (e: Record<string, unknown>) => items.has(String(get(e) ?? '').toLowerCase());
      return op === '=in=' ? inList : (e) => !inList(e);
    }
    default:
      throw new Error(`FIQL operator ${op} is not supported by the hawkBit fake`);
  }
}

/** hawkBit's FIQL field names are the lower-case forms of the entity fields. */
function fieldName(k: string): string {
  const map: Record<string, string> = {
    controllerid: 'controllerId',
    lastmodifiedat: 'lastModifiedAt',
    createdat: 'createdAt',
    updatestatus: 'updateStatus',
    name: 'name',
    id: 'id',
    version: 'version',
    description: 'description',
    status: 'status',
    laststatuscode: 'lastStatusCode',
    lastcontrollerrequestat: 'lastControllerRequestAt',
    distributionset: 'distributionSet',
    assignedds: 'assignedDs',
    installedds: 'installedDs',
  };
  return map[k.toLowerCase()] ?? k;
}
