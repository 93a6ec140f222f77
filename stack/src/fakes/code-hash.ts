import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

/** Hash of the fakes' source, so a running fake from older code is restarted, not reused. */
export function fakesCodeHash(dir = path.dirname(new URL(import.meta.url).pathname)): string {
  const h = crypto.createHash('sha256');
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.ts') && !e.name.endsWith('.test.ts')) h.update(p).update(fs.readFileSync(p));
    }
  };
  walk(dir);
  return h.digest('hex').slice(0, 16);
}
