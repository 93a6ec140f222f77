import express, { type Request, type Response } from 'express';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Contract, ContractViolation, type MatchedOperation } from './contract.ts';
import { fakesCodeHash } from './code-hash.ts';

export interface FakeRequest<P = unknown> {
  method: string;
  path: string;
  template: string;
  params: Record<string, string>;
  query: Record<string, string | undefined>;
  headers: Record<string, string | string[] | undefined>;
  body: unknown;
  /** The body as received, for binary uploads (multipart) that text decoding would corrupt. */
  raw: Buffer;
  principal: P;
}

export interface FakeReply {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
  /** Body is already text (CSV, plain): sent as is and not validated as JSON. */
  text?: boolean;
}

export type Handler<P> = (req: FakeRequest<P>) => FakeReply | Promise<FakeReply>;

export interface FakeDefinition<P> {
  name: string;
  contract: Contract;
  /** Keyed "METHOD template", e.g. "POST /api/tenant", using the spec's own path keys. */
  handlers: Record<string, Handler<P>>;
  /** Decides who is calling; returns a reply (401/403) to refuse. Runs before body validation, as servers do. */
  authenticate(mo: MatchedOperation, req: Request): P | FakeReply | Promise<P | FakeReply>;
  /** The upstream's own error body shape. */
  errorBody(status: number, message: string): unknown;
  /** Requests served outside the contract (e.g. proxied); return true when handled. */
  passthrough?(req: Request, res: Response, rawBody: Buffer): Promise<boolean>;
  reset(): void;
}

/** Requests kept for /__fake/requests: enough for any test, bounded for long-running stacks. */
const MAX_LOG = 50_000;

export interface RecordedRequest {
  method: string;
  path: string;
  template?: string;
  status: number;
  body?: unknown;
}

const isReply = (x: unknown): x is FakeReply => typeof x === 'object' && x !== null && 'status' in x && typeof (x as FakeReply).status === 'number';

/**
 * An express app around a fake: every request is matched to the spec (404/405), authenticated,
 * validated (400/415) and then handled; every JSON response is validated against the spec too,
 * and a fake that answers outside its contract gets a loud 500 so the test fails.
 */
export function createFakeApp<P>(def: FakeDefinition<P>) {
  // A handler for an operation the spec does not have would be a fake inventing API.
  const unknown = Object.keys(def.handlers).filter((k) => {
    const [method, template] = k.split(' ') as [string, string];
    return !def.contract.hasOperation(method, template);
  });
  if (unknown.length) throw new Error(`${def.name} fake implements operations missing from its spec: ${unknown.join(', ')}`);
  const app = express();
  const log: RecordedRequest[] = [];
  const violations: string[] = [];
  app.disable('x-powered-by');
  app.use(express.raw({ type: () => true, limit: '256mb' }));

  const code = fakesCodeHash();
  app.get('/__fake/info', (_req, res) => {
    res.json({ name: def.name, code });
  });
  app.get('/__fake/requests', (_req, res) => {
    res.json({ requests: log, violations });
  });
  app.delete('/__fake/requests', (_req, res) => {
    log.length = 0;
    res.status(204).end();
  });
  app.post('/__fake/reset', (_req, res) => {
    def.reset();
    log.length = 0;
    violations.length = 0;
    res.status(204).end();
  });

  app.use(async (req: Request, res: Response) => {
    const raw = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    const entry: RecordedRequest = { method: req.method, path: req.path, status: 0 };
    log.push(entry);
    if (log.length > MAX_LOG) log.splice(0, log.length - MAX_LOG);
    const send = (reply: FakeReply, mo?: MatchedOperation) => {
      entry.status = reply.status;
      if (mo && !reply.text && reply.body !== undefined) {
        const bad = def.contract.validateResponse(mo, reply.status, reply.body);
        if (bad.length) {
          const msg = `${def.name} fake answered outside its contract for ${req.method} ${mo.template} (${reply.status}): ${bad.join('; ')}`;
          violations.push(msg);
          entry.status = 500;
          res.status(500).json({ message: msg });
          return;
        }
      }
      res.status(reply.status);
      for (const [k, v] of Object.entries(reply.headers ?? {})) res.setHeader(k, v);
      if (reply.body === undefined) res.end();
      else if (reply.text) res.send(reply.body);
      else res.json(reply.body);
    };
    try {
      if (def.passthrough && (await def.passthrough(req, res, raw))) {
        entry.status = res.statusCode;
        return;
      }
      const mo = def.contract.match(req.method, req.path);
      entry.template = mo.template;
      const principal = await def.authenticate(mo, req);
      if (isReply(principal)) return send(principal);
      const contentType = req.headers['content-type'];
      let body: unknown = undefined;
      if (raw.length) {
        const text = raw.toString('utf8');
        if ((contentType ?? '').includes('json')) {
          try {
            body = JSON.parse(text);
          } catch {
            throw new ContractViolation(400, 'request body is not valid JSON');
          }
        } else body = text;
      }
      // Tests read JSON bodies back; uploads stay out of the log so a long run does not hoard them.
      if ((contentType ?? '').includes('json') && raw.length <= 64 * 1024) entry.body = body;
      def.contract.validateRequest(mo, { query: req.query as Record<string, unknown>, headers: req.headers, contentType, body, rawLength: raw.length });
      const handler = def.handlers[`${req.method} ${mo.template}`];
      if (!handler) return send({ status: 501, body: def.errorBody(501, `${def.name} fake does not implement ${req.method} ${mo.template} yet`) });
      const reply = await handler({
        method: req.method,
        path: req.path,
        template: mo.template,
        params: mo.params,
        query: req.query as Record<string, string | undefined>,
        headers: req.headers,
        body,
        raw,
        principal,
      });
      send(reply, mo);
    } catch (err) {
      if (err instanceof ContractViolation) return send({ status: err.status, body: def.errorBody(err.status, err.message) });
      if (isReply(err)) return send(err);
      const msg = `${def.name} fake crashed: ${(err as Error).stack ?? err}`;
      violations.push(msg);
      send({ status: 500, body: { message: msg } });
    }
  });
  return app;
}

/** Listens on 127.0.0.1 (port 0 = any) and resolves with the server and its base URL. */
export function listen(app: express.Express, port = 0): Promise<{ server: Server; url: string }> {
  return new Promise((resolve, reject) => {
    const server = app.listen(port, '127.0.0.1', () => {
      resolve({ server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` });
    });
    // The upstreams are Go servers that keep idle connections for minutes (influxd 2: --http-idle-timeout 3m);
    // Node's 5 s closed them under a client busy between calls, whose next POST then met a reset.
    server.keepAliveTimeout = 180_000;
    server.headersTimeout = 181_000;
    server.on('error', reject);
  });
}

/** Throwing a reply from a handler sends it (keeps handlers short: `throw notFound()`). */
export const reply = (status: number, body?: unknown): FakeReply => ({ status, body });
