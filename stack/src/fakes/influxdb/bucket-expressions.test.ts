import { describe, expect, it } from 'vitest';
import { mapBucketExpressions } from './bucket-expressions.ts';

describe('mapBucketExpressions', () => {
  const names: [string, string][] = [
    ['cdm-acme', 'b_1/autogen'],
    ['cdm-acme.rollup', 'b_2/autogen'],
  ];

  it('wraps a bucket given by an expression, after the imports, and leaves literal names alone', () => {
    const q = 'import "date"\nb = if 1 > 2 then "cdm-acme" + ".rollup" else "cdm-acme"\nfrom(bucket: b) |> range(start: -1h)';
    expect(mapBucketExpressions(q, names)).toBe(
      'import "date"\ncdm_bucket = (name) => if name == "cdm-acme" then "b_1/autogen" else if name == "cdm-acme.rollup" then "b_2/autogen" else name\nb = if 1 > 2 then "cdm-acme" + ".rollup" else "cdm-acme"\nfrom(bucket: cdm_bucket(name: b)) |> range(start: -1h)',
    );
    expect(mapBucketExpressions('from(bucket: "cdm-acme") |> range(start: -1h)', names)).toBe('from(bucket: "cdm-acme") |> range(start: -1h)');
  });

  it('finds the end of an expression with calls, strings with parentheses and a following argument', () => {
    const q = 'from(bucket: f(x: "a)b", y: (1)), host: "h")';
    expect(mapBucketExpressions(q, [])).toBe('cdm_bucket = (name) => name\nfrom(bucket: cdm_bucket(name: f(x: "a)b", y: (1))), host: "h")');
  });
});
