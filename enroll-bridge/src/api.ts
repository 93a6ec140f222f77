import http from 'node:http';
import https from 'node:https';
import type { TLSSocket } from 'node:tls';
import express, { type NextFunction, type Request, type Response } from 'express';
import { ipKeyGenerator, rateLimit } from 'express-rate-limit';
import { z } from 'zod';
import type { Logger } from '@cdm/common';
import { adminRouter, type AdminApiOptions } from './admin-api.ts';
import { hashClaimToken } from './claim-token.ts';
import { MAX_CSR_BYTES } from './csr.ts';
import type { Enroller } from './enroll.ts';
import { HttpError } from './errors.ts';
import { httpAnswer } from './http-answer.ts';

const EnrollBody = z
  .object({
    deviceId: z.string().max(64),
    csr: z.string().max(MAX_CSR_BYTES),
    wgPublicKey: z.string().max(64),
    sshHostKey: z.string().max(600).optional(),
  })
  .strict();

export interface ApiOptions {
  enroller: Enroller;
  /** step-ca's root (public): devices fetch it and trust it only if its fingerprint matches theirs. */
  rootPem: string;
  logger: Logger;
  /** Requests per minute per source address and per claim. */
  perAddressPerMinute: number;
  perClaimPerMinute: number;
  /** The admin API at /v1/admin; off when no token issuer is configured. */
  admin?: AdminApiOptions;
}

const claimOf = (req: Request) => /^Bearer (\S+)$/.exec(req.get('authorization') ?? '')?.[1];

/**
 * The certificate chain a TLS client presented, leaf first (DER). The handshake proved the client
 * holds the leaf's key; whether the chain is trusted is for the caller to decide.
 */
export function peerChain(req: Request): Buffer[] {
  const socket = req.socket as TLSSocket;
  if (!socket.encrypted) return [];
  const chain: Buffer[] = [];
  let c = socket.getPeerCertificate(true);
  while (c?.raw && !chain.some((x) => x.equals(c.raw)) && chain.length < 8) {
    chain.push(c.raw);
    c = c.issuerCertificate;
  }
  return chain;
}

/** Rate-limit key of the voucher: the claim token's hash, or the factory certificate. */
const voucherKey = (req: Request) => {
  const token = claimOf(req);
  if (token) return `claim:${hashClaimToken(token)}`;
  const socket = req.socket as TLSSocket;
  return `factory:${(socket.encrypted && socket.getPeerCertificate().fingerprint256) || '-'}`;
};

/**
 * The device-facing API. The claim travels in the Authorization header (never in a URL or a
 * log line); the body is small JSON checked by schema; every refusal says why.
 */
export function createApi(o: ApiOptions): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', false);
  const limited = (limit: number, key: (req: Request) => string) =>
    rateLimit({
      windowMs: 60_000,
      limit,
      standardHeaders: 'draft-8',
      legacyHeaders: false,
      keyGenerator: key,
      handler: (_req, res) => void res.status(429).json({ error: 'too many enrollment requests; slow down and retry later' }),
    });
  // One IPv6 host owns a whole /64 (and often a /56): per full address it could rotate forever.
  const perAddress = (req: Request) => `ip:${addressKey(req.socket.remoteAddress)}`;
  app.post(
    '/v1/enroll',
    limited(o.perAddressPerMinute, perAddress),
    limited(o.perClaimPerMinute, voucherKey),
    (req, res, next) => (req.is('application/json') ? next() : next(new HttpError(415, 'send the enrollment as Content-Type: application/json'))),
    express.json({ limit: 16 * 1024, strict: true }),
    async (req, res, next) => {
      const started = Date.now();
      try {
        const body = EnrollBody.safeParse(req.body);
        if (!body.success) throw new HttpError(400, `invalid enrollment: ${body.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; ')}`);
        const claimToken = claimOf(req);
        const factoryChain = claimToken ? undefined : peerChain(req);
        if (!claimToken && !factoryChain?.length) throw new HttpError(401, 'send the enrollment claim as Authorization: Bearer <claim>, or present the factory certificate as TLS client certificate');
        const result = await o.enroller.enroll({ ...body.data, claimToken, factoryChain });
        o.logger.info({ deviceId: result.deviceId, tenant: result.tenantId, via: claimToken ? 'claim' : 'factory-certificate', wgIp: result.wireguard.address, ms: Date.now() - started }, 'enrolled');
        res.status(200).json(result);
      } catch (err) {
        next(err);
      }
    },
  );
  app.get('/v1/root.pem', (_req, res) => void res.type('application/x-pem-file').send(o.rootPem));
  app.post(
    '/v1/renew',
    limited(o.perAddressPerMinute, perAddress),
    (req, res, next) => (req.is('application/json') ? next() : next(new HttpError(415, 'send the renewal as Content-Type: application/json'))),
    express.json({ limit: 16 * 1024, strict: true }),
    async (req, res, next) => {
      try {
        const socket = req.socket as TLSSocket;
        // The TLS layer verified the chain against step-ca's root and the validity period.
        if (!socket.encrypted || !socket.authorized) throw new HttpError(401, "renewal needs the device's current certificate as TLS client certificate");
        const peer = socket.getPeerCertificate();
        const body = z
          .object({ csr: z.string().max(MAX_CSR_BYTES) })
          .strict()
          .safeParse(req.body);
        if (!body.success) throw new HttpError(400, 'invalid renewal: send {"csr": "<PEM>"}');
        const deviceId = String(peer.subject?.CN ?? '');
        res.json(await o.enroller.renew(deviceId, BigInt(`0x${peer.serialNumber}`).toString(), body.data.csr));
      } catch (err) {
        next(err);
      }
    },
  );
  if (o.admin) app.use('/v1/admin', adminRouter(o.admin));
  app.use((_req, res) => void res.status(404).json({ error: 'no such endpoint; devices POST /v1/enroll' }));
  app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    const e = err as { status?: number; type?: string; message?: string };
    const answer = httpAnswer(err);
    if (answer) {
      if (answer.retryAfterSec) res.set('Retry-After', String(answer.retryAfterSec));
      if (answer.status >= 500) o.logger.warn({ status: answer.status, err: answer.error }, 'enrollment failed upstream');
      return void res.status(answer.status).json({ error: answer.error });
    }
    if (e.type === 'entity.too.large') return void res.status(413).json({ error: 'enrollment body larger than 16 KiB' });
    if (e.type === 'entity.parse.failed') return void res.status(400).json({ error: 'body is not valid JSON' });
    o.logger.error({ err: e.message }, 'enrollment crashed');
    res.status(500).json({ error: 'internal error; the bridge logged it' });
  });
  return app;
}

/**
 * The API's server: HTTPS when given a certificate, asking for (not requiring) a client certificate —
 * enrollment with a claim token has none, enrollment with a factory certificate and renewal need one.
 * `authorized` is set only for chains to step-ca's root (renewal); factory chains are checked by the
 * enroller against the registered factory CAs.
 */
export function createApiServer(app: express.Express, tls?: { cert: Buffer | string; key: Buffer | string; rootPem: string }): http.Server {
  const server = tls ? https.createServer({ cert: tls.cert, key: tls.key, requestCert: true, rejectUnauthorized: false, ca: tls.rootPem }, app) : http.createServer(app);
  // Node closes idle keep-alive connections after 5 s; a client or TLS proxy (nginx, load balancers:
  // 60 s) reusing one at that moment gets ECONNRESET — seen here when 500 enrollments stalled the
  // event loop. Outlive the proxies' idle timeouts instead.
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  return server;
}

/** The rate-limit key of a source address: IPv4 as is, IPv6 by its /56 (IPv4-mapped IPv6 as IPv4). */
export function addressKey(remote: string | undefined): string {
  if (!remote) return '?';
  const v4 = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(remote)?.[1];
  return ipKeyGenerator(v4 ?? remote, 56);
}
