import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReceivedNotification {
  /** Milliseconds since the epoch when it arrived. */
  at: number;
  /** The path after the receiver's root: <tenant>/<role>/<person> for tenant-sync's escalation targets. */
  path: string;
  body: unknown;
}

/**
 * The local stack's notification endpoint: stands where a paging gateway (or Teams) would, answers
 * every POST with 200 and keeps what arrived, when and for whom (its path) — in memory, and as JSON
 * lines in `file` when given. Only loopback; it holds nothing secret.
 */
export async function startWebhookReceiver(o: { port?: number; file?: string; onReceive?: (n: ReceivedNotification) => void } = {}) {
  const received: ReceivedNotification[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.method !== 'POST') {
        res.writeHead(405, { 'content-type': 'text/plain' }).end('POST notifications here\n');
        return;
      }
      let body: unknown;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      } catch {
        res.writeHead(400, { 'content-type': 'text/plain' }).end('expected a JSON body\n');
        return;
      }
      const n = { at: Date.now(), path: decodeURIComponent((req.url ?? '/').split('?')[0]!.replace(/^\/+/, '')), body };
      received.push(n);
      if (o.file) fs.appendFileSync(o.file, `${JSON.stringify(n)}\n`);
      o.onReceive?.(n);
      res.writeHead(200, { 'content-type': 'text/plain' }).end('1');
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port ?? 0, '127.0.0.1', resolve);
  });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { url, received, close: () => new Promise<void>((r) => server.close(() => r())) };
}
