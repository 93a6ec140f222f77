import { describe, expect, it } from 'vitest';
import { lineOf, nanos, type RawRow } from './line-protocol.ts';

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
});
