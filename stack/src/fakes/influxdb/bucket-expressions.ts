/**
 * Pure: `from(bucket: <expression>)` → `from(bucket: cdm_bucket(name: <expression>))`, with
 * `cdm_bucket` mapping each given bucket name to its 1.8 database (others pass unchanged), defined
 * after the script's imports. Literal bucket names are left to the caller; a script without an
 * expression comes back as it was.
 */
export function mapBucketExpressions(flux: string, names: [string, string][]): string {
  const from = /from\s*\(\s*bucket\s*:\s*/g;
  let out = '';
  let last = 0;
  for (let m = from.exec(flux); m; m = from.exec(flux)) {
    const start = m.index + m[0].length;
    if (flux[start] === '"') continue;
    const end = argumentEnd(flux, start);
    out += `${flux.slice(last, start)}cdm_bucket(name: ${flux.slice(start, end).trim()})`;
    last = end;
  }
  if (!last) return flux;
  out += flux.slice(last);
  const body = names.map(([name, db]) => `if name == ${JSON.stringify(name)} then ${JSON.stringify(db)} else `).join('');
  const fn = `cdm_bucket = (name) => ${body}name`;
  const imports = [...out.matchAll(/^[ \t]*import[ \t]+"[^"]+"[ \t]*$/gm)];
  const at = imports.length ? imports.at(-1)!.index + imports.at(-1)![0].length : 0;
  return at ? `${out.slice(0, at)}\n${fn}${out.slice(at)}` : `${fn}\n${out}`;
}

/** Where an argument starting at `i` ends: the `,` or `)` at depth 0, outside strings. */
function argumentEnd(s: string, i: number): number {
  let depth = 0;
  for (let k = i; k < s.length; k++) {
    const c = s[k];
    if (c === '"') {
      for (k++; k < s.length && s[k] !== '"'; k++) if (s[k] === '\\') k++;
    } else if (c === '(' || c === '[' || c === '{') depth++;
    else if ((c === ')' || c === ']' || c === '}') && depth > 0) depth--;
    else if ((c === ')' || c === ',') && depth === 0) return k;
  }
  return s.length;
}
