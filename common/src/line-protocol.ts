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

/** A column of a Flux result as the client library describes it. */
export interface RawColumn {
  label: string;
  dataType: string;
  defaultValue: string;
}

/** `nanos` as text, without BigInt for times after the epoch's first second (the hot path of an export). */
function nanoText(rfc3339: string): string {
  const m = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?Z$/.exec(rfc3339);
  const s = m ? Date.parse(`${m[1]}Z`) / 1000 : NaN;
  return s >= 1 ? `${s}${(m![2] ?? '').padEnd(9, '0')}` : String(nanos(rfc3339));
}

/**
 * Rows of one query → line protocol with every field of a point on one line (measurement, tags and
 * time once, not once per field: an 11-field device point is one line, not eleven), for millions
 * of rows. InfluxDB streams a table per series and field, ordered by field before tags, so a
 * point's fields arrive apart: they are gathered per series and time until `maxFields` are held,
 * then written. A point split over two lines restores the same (InfluxDB merges a point's fields),
 * so the bound costs size, never data. The column plan is made once per table layout, a series'
 * escaped prefix once per run of rows. `push` returns the lines complete so far; `end` the rest.
 */
export function pointLines(maxFields = 250_000): { push(values: readonly string[], columns: readonly RawColumn[]): string[]; end(): string[] } {
  let layout: readonly RawColumn[] | undefined;
  let at: { time: number; value: number; field: number; series: number[]; tags: number[] };
  let series: string | undefined;
  let prefix = '';
  let points = new Map<string, { prefix: string; time: string; fields: string[] }>();
  let held = 0;
  const flush = () => {
    const out = [...points.values()].map((p) => `${p.prefix} ${p.fields.join(',')} ${nanoText(p.time)}`);
    points = new Map();
    held = 0;
    return out;
  };
  return {
    push(values, columns) {
      const text = (i: number) => (values[i] === '' || values[i] === undefined ? columns[i]!.defaultValue : values[i]!);
      if (columns !== layout) {
        const find = (label: string) => columns.findIndex((c) => c.label === label);
        for (const k of ['_time', '_measurement', '_field']) if (find(k) < 0) throw new Error(`rows without ${k}: not the output of from() |> range()`);
        const tags = columns
          .map((c, i) => [c.label, i] as const)
          .filter(([label]) => !NOT_TAGS.has(label))
          .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
          .map(([, i]) => i);
        layout = columns;
        at = { time: find('_time'), value: find('_value'), field: find('_field'), series: [find('_measurement'), ...tags], tags };
        series = undefined;
      }
      const id = at.series.map(text).join('\0');
      if (id !== series) {
        series = id;
        prefix = `${name(text(at.series[0]!))}${at.tags.map((i) => (text(i) === '' ? '' : `,${key(columns[i]!.label)}=${key(text(i))}`)).join('')}`;
      }
      const value = at.value >= 0 ? { value: text(at.value), type: columns[at.value]!.dataType } : { value: '', type: 'missing' };
      const time = text(at.time);
      const field = `${key(text(at.field))}=${fieldValue(value)}`;
      const point = points.get(`${prefix} ${time}`);
      if (point) point.fields.push(field);
      else points.set(`${prefix} ${time}`, { prefix, time, fields: [field] });
      return ++held >= maxFields ? flush() : [];
    },
    end: flush,
  };
}
