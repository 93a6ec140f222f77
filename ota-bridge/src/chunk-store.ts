import express from 'express';
import fs from 'node:fs';
import type { Server } from 'node:http';
import path from 'node:path';
import type { Logger } from '@cdm/common';

/** A chunk's URL path in a casync store: `/<first 4 hex digits>/<64 hex digits>.cacnk`, nothing else. */
const CHUNK = /^\/([0-9a-f]{4})\/(\1[0-9a-f]{60})\.cacnk$/;

export interface ChunkStoreOptions {
  dir: string;
  /** Counts what devices download (cdm_chunk_store_* on /metrics). */
  served?: { requests: number; bytes: number };
}

/**
 * The delta-update chunk store as devices read it (RAUC's `[casync] storepath`): GET of a chunk by
 * its id, nothing else — no listing, no other file of the directory, no path a request could steer.
 * Chunks are served without a device credential because casync's HTTP helper cannot present one:
 * an id is the SHA-512/256 of the chunk's content, so only whoever holds the index (inside the
 * signed bundle hawkBit hands the tenant's devices) can name a chunk. Ids never change content, so
 * caches may keep them for good.
 */
export function chunkStoreApp(o: ChunkStoreOptions): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.get(/.*/, (req, res) => {
    const m = CHUNK.exec(req.path);
    if (!m) return void res.status(404).type('text/plain').send('not a chunk\n');
    const file = path.join(o.dir, m[1]!, `${m[2]}.cacnk`);
    let size: number;
    try {
      size = fs.statSync(file).size;
    } catch {
      return void res.status(404).type('text/plain').send('no such chunk\n');
    }
    res.set({ 'Content-Type': 'application/octet-stream', 'Content-Length': String(size), 'Cache-Control': 'public, max-age=31536000, immutable' });
    if (req.method === 'HEAD') return void res.end();
    if (o.served) {
      o.served.requests++;
      o.served.bytes += size;
    }
    fs.createReadStream(file)
      .on('error', () => res.destroy())
      .pipe(res);
  });
  return app;
}

export async function startChunkStore(o: ChunkStoreOptions & { host: string; port: number; logger: Logger }): Promise<Server> {
  // Empty until the first delta bundle is published; publish fills the same directory.
  fs.mkdirSync(o.dir, { recursive: true });
  return new Promise((resolve, reject) => {
    const server = chunkStoreApp(o).listen(o.port, o.host, () => {
      o.logger.info({ host: o.host, port: o.port, dir: o.dir }, 'chunk store listening');
      resolve(server);
    });
    server.on('error', reject);
  });
}
