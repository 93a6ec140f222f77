import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * No service opens another service's storage or code: facts cross between services through an API
 * (enroll-bridge's device directory) or a contract in common/src/contracts/. Checked on the source
 * of each service (tests may use other services' code to set the scene).
 */
const root = path.resolve(import.meta.dirname, '..', '..', '..');
const SERVICES = ['tenant-sync', 'enroll-bridge', 'ota-bridge', 'terminal-gateway', 'fleet-api', 'fleet-monitor'] as const;
const sources = (service: string) =>
  fs
    .readdirSync(path.join(root, service, 'src'), { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts') && !f.includes('test-helpers'))
    .map((f) => ({ file: `${service}/src/${f}`, text: fs.readFileSync(path.join(root, service, 'src', f), 'utf8') }));

describe('service boundaries', () => {
  for (const service of SERVICES) {
    it(`${service} imports no other service and opens no other service's store`, () => {
      const others = SERVICES.filter((s) => s !== service);
      const found: string[] = [];
      for (const { file, text } of sources(service)) {
        for (const o of others) {
          if (new RegExp(`from ['"](@cdm/${o}|(\\.\\./)+${o}/)`).test(text)) found.push(`${file} imports ${o}`);
          if (text.includes(`${o}.sqlite`)) found.push(`${file} names ${o}'s store file`);
        }
        if (/ENROLL_DATA_DIR|OTA_DATA_DIR/.test(text)) found.push(`${file} reads another service's data directory`);
        if (/better-sqlite3/.test(text) && !file.endsWith('/store.ts')) found.push(`${file} opens SQLite outside its store`);
      }
      expect(found).toEqual([]);
    });
  }

  it('the check itself sees a violation (the terminal gateway reading enroll-bridge.sqlite, as it once did)', () => {
    const text = "new Database(path.join(dir, 'enroll-bridge.sqlite'), { readonly: true })";
    expect(text.includes('enroll-bridge.sqlite')).toBe(true);
    expect(/from ['"](@cdm\/enroll-bridge|(\.\.\/)+enroll-bridge\/)/.test("import { Store } from '../../enroll-bridge/src/store.ts';")).toBe(true);
  });
});
