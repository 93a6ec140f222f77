import fs from 'node:fs';
import path from 'node:path';
import { dbOf } from '../../stack/src/fakes/influxdb/fake.ts';

/** Bytes of the files under `dir` whose names pass `only` (0 if it does not exist). */
export function du(dir: string, only: (file: string) => boolean = () => true): number {
  if (!fs.existsSync(dir)) return 0;
  let n = 0;
  for (const f of fs.readdirSync(dir, { recursive: true, encoding: 'utf8' })) {
    const st = fs.statSync(path.join(dir, f));
    if (st.isFile() && only(f)) n += st.size;
  }
  return n;
}

/** What a bucket takes on the local stack's influxd: its database's data and WAL (uncompacted). */
export const bucketBytes = (stateDir: string, bucketId: string) => {
  const influxDir = path.join(stateDir, 'influxdb');
  return du(path.join(influxDir, 'data', dbOf(bucketId))) + du(path.join(influxDir, 'wal', dbOf(bucketId)));
};

/** What is still in the bucket's write-ahead log (not yet written down to TSM). */
export const walBytes = (stateDir: string, bucketId: string) => du(path.join(stateDir, 'influxdb', 'wal', dbOf(bucketId)));

/** The bucket's points as influxd stores them compressed (TSM files), without its series index, which it keeps per series whatever their points. */
export const tsmBytes = (stateDir: string, bucketId: string) => du(path.join(stateDir, 'influxdb', 'data', dbOf(bucketId)), (f) => f.endsWith('.tsm'));
