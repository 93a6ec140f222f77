/** A row as influxd streams it: each column's text and its Flux type (InfluxClient.rawRows). */
export type RawRow = Record<string, { value: string; type: string }>;

// Flux's bookkeeping columns: everything else in a row from `range()` is a tag.
const NOT_TAGS = new Set(['', 'result', 'table', '_start', '_stop', '_time', '_value', '_field', '_measurement']);
const escape = (s: string, special: RegExp) => s.replace(special, '\\$&');
const name = (s: string) => escape(s, /[, ]/g);
const key = (s: string) => escape(s, /[,= ]/g);

/** RFC 3339 (Flux's `_time`, up to nanoseconds) → nanoseconds since the epoch, exactly. */
export function nanos(rfc3339: string): bigint {
  const m = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?Z$/.exec(rfc3339);
  const ms = m ? Date.parse(`${m[1]}Z`) : NaN;
  if (!m || Number.isNaN(ms)) throw new Error(`not an RFC 3339 UTC time: ${rfc3339}`);
  return BigInt(ms) * 1_000_000n + BigInt((m[2] ?? '').padEnd(9, '0'));
}

function fieldValue(v: { value: string; type: string }): string {
  switch (v.type) {
    case 'double':
      return v.value;
    case 'long':
      return `${v.value}i`;
    case 'unsignedLong':
      return `${v.value}u`;
    case 'boolean':
      return v.value === 'true' ? 'true' : 'false';
    case 'string':
      return `"${escape(v.value, /["\\]/g)}"`;
    default:
      throw new Error(`a field of Flux type ${v.type} has no line-protocol form`);
  }
}

/**
 * Pure: one row of `from() |> range()` as the line-protocol line that wrote it — measurement, tags
 * (sorted, empty ones left out as InfluxDB never stores them), the field with its type kept (long
 * as `i`, strings quoted) and the nanosecond timestamp.
 */
export function lineOf(row: RawRow): string {
  const tags = Object.keys(row)
    .filter((k) => !NOT_TAGS.has(k) && row[k]!.value !== '')
    .sort()
    .map((k) => `,${key(k)}=${key(row[k]!.value)}`)
    .join('');
  const need = (k: string) => {
    if (!row[k]) throw new Error(`row without ${k}: not the output of from() |> range()`);
    return row[k].value;
  };
  return `${name(need('_measurement'))}${tags} ${key(need('_field'))}=${fieldValue(row._value ?? { value: '', type: 'missing' })} ${nanos(need('_time'))}`;
}
