import { describe, expect, it } from 'vitest';
import { lineOf, pointLines, nanos, type RawColumn, type RawRow } from './line-protocol.ts';

const row = (value: string, type: string, tags: Record<string, string> = {}): RawRow => ({
  '': { value: '', type: 'string' },
  result: { value: '_result', type: 'string' },
  table: { value: '0', type: 'long' },
  _start: { value: '2026-11-26T00:00:00Z', type: 'dateTime:RFC3339' },
  _stop: { value: '2026-11-27T00:00:00Z', type: 'dateTime:RFC3339' },
  _time: { value: '2026-11-26T10:00:00.000000123Z', type: 'dateTime:RFC3339' },
  _value: { value, type },
  _field: { value: 'battery pct', type: 'string' },
  _measurement: { value: 'device_health', type: 'string' },
  ...Object.fromEntries(Object.entries(tags).map(([k, v]) => [k, { value: v, type: 'string' }])),
});

describe('line protocol from Flux rows', () => {
  it('keeps each field type, escapes names and values, sorts tags and leaves empty ones out', () => {
    const tags = { site: 'hall 2,north', device: 'd=1', empty: '' };
    expect(lineOf(row('41.5', 'double', tags))).toBe('device_health,device=d\\=1,site=hall\\ 2\\,north battery\\ pct=41.5 1795687200000000123');
    expect(lineOf(row('7', 'long'))).toBe('device_health battery\\ pct=7i 1795687200000000123');
    expect(lineOf(row('7', 'unsignedLong'))).toBe('device_health battery\\ pct=7u 1795687200000000123');
    expect(lineOf(row('true', 'boolean'))).toBe('device_health battery\\ pct=true 1795687200000000123');
    expect(lineOf(row('say "hi" \\ bye', 'string'))).toBe('device_health battery\\ pct="say \\"hi\\" \\\\ bye" 1795687200000000123');
  });

  it('reads RFC 3339 times to the nanosecond and refuses anything else', () => {
    expect(nanos('1970-01-01T00:00:01Z')).toBe(1_000_000_000n);
    expect(nanos('2026-11-26T10:00:00.5Z')).toBe(1795687200500000000n);
    expect(() => nanos('2026-11-26 10:00:00')).toThrow(/RFC 3339/);
    expect(() => lineOf({ ...row('1', 'double'), _value: { value: '1', type: 'base64Binary' } })).toThrow(/no line-protocol form/);
  });

  it('point lines hold what lineOf writes per row, every field of a point on one line, across series, layouts, types and times', () => {
    const layout = (tags: string[], valueType: string): RawColumn[] =>
      ['', 'result', 'table', '_start', '_stop', '_time', '_value', '_field', '_measurement', ...tags].map((label) => ({
        label,
        dataType: label === '_value' ? valueType : label === 'table' ? 'long' : 'string',
        defaultValue: label === 'result' ? '_result' : '',
      }));
    const times = ['2026-11-26T10:00:00Z', '2026-11-26T10:00:30.5Z', '2026-11-26T10:01:00.000000123Z', '1970-01-01T00:00:00.25Z', '1970-01-01T00:00:01Z'];
    const cases: { columns: RawColumn[]; values: string[] }[] = [];
    const num = layout(['site', 'device', 'empty'], 'double');
    const str = layout(['device', 'z=tag'], 'string');
    const int = layout(['device'], 'long');
    // Field by field as InfluxDB streams them: devices 0 and 1, then a string series in another
    // layout, then device 0 again: its fields still join its points.
    for (const [device, field] of [
      [0, 'signal'],
      [0, 'battery pct'],
      [1, 'signal'],
      [1, 'battery pct'],
    ] as const)
      for (const time of times) cases.push({ columns: num, values: ['', '', '0', 's', 's', time, `${device}.5`, field, 'device_health', `hall ${device},n`, `d=${device}`, ''] });
    for (const time of times) cases.push({ columns: str, values: ['', '_result', '3', 's', 's', time, time.endsWith('1Z') ? '' : 'say "hi" \\ bye, ok', 'sw_version', 'm,x y', 'd20', 'q'] });
    for (const time of times.slice(0, 2)) cases.push({ columns: num, values: ['', '', '0', 's', 's', time, '9', 'uptime', 'device_health', 'hall 0,n', 'd=0', ''] });
    for (const time of times) cases.push({ columns: int, values: ['', '_result', '3', 's', 's', time, time.endsWith('0Z') ? '' : '42', 'errors', 'device_health', 'd1'] });
    int[6]!.defaultValue = '7';
    const rowOf = ({ columns, values }: (typeof cases)[number]): RawRow =>
      Object.fromEntries(columns.map((col, i) => [col.label, { value: values[i] === '' ? col.defaultValue : values[i]!, type: col.dataType }]));
    const convert = (maxFields?: number) => {
      const lines = pointLines(maxFields);
      return [...cases.flatMap((r) => lines.push(r.values, r.columns)), ...lines.end()];
    };
    const got = convert();
    // Each line back to one line per field, as lineOf writes them.
    const perField = (line: string) => {
      const end = line.lastIndexOf(' '); // the time has no spaces
      let head = -1;
      const commas: number[] = [];
      for (let i = 0, quoted = false; i < end; i++) {
        if (line[i] === '\\') i++;
        else if (line[i] === '"') quoted = !quoted;
        else if (!quoted && head < 0 && line[i] === ' ') head = i;
        else if (!quoted && head >= 0 && line[i] === ',') commas.push(i);
      }
      const bounds = [head, ...commas, end];
      return bounds.slice(0, -1).map((b, k) => `${line.slice(0, head)} ${line.slice(b + 1, bounds[k + 1])}${line.slice(end)}`);
    };
    expect(got.flatMap(perField).sort()).toEqual(cases.map((r) => lineOf(rowOf(r))).sort());
    expect(got).toContain('device_health,device=d\\=1,site=hall\\ 1\\,n signal=1.5,battery\\ pct=1.5 1795687200000000000');
    expect(got).toContain('device_health,device=d\\=0,site=hall\\ 0\\,n signal=0.5,battery\\ pct=0.5,uptime=9 1795687200000000000');
    expect(got).toContain('m\\,x\\ y,device=d20,z\\=tag=q sw_version="" 1000000000');
    expect(got).toContain('device_health,device=d1 errors=7i 1795687200000000000');
    expect(got).toHaveLength(2 * times.length + times.length + times.length); // devices 0 and 1, the string series, d1
    // Held fields are bounded: the same points, more lines.
    const bounded = convert(3);
    expect(bounded.length).toBeGreaterThan(got.length);
    expect(bounded.flatMap(perField).sort()).toEqual(got.flatMap(perField).sort());
    expect(() => pointLines().push(['x'], [{ label: '_value', dataType: 'double', defaultValue: '' }])).toThrow(/without _time/);
  });
});
