import crypto from 'node:crypto';
import fs from 'node:fs';
import type { IncomingMessage, Server } from 'node:http';
import path from 'node:path';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import { z } from 'zod';
import { AuthError, type Logger, type TenantRole, type TokenUser } from '@cdm/common';
import type { AuditLog } from './audit.ts';
import type { DeviceLookup } from './devices.ts';
import { openShell } from './ssh.ts';

/** WebSocket close codes: 44xx mirror the HTTP status a plain API would give. */
export const CLOSE = { badRequest: 4400, unauthenticated: 4401, forbidden: 4403, unknownDevice: 4404, timeout: 4408, tooMany: 4429, deviceUnreachable: 4502 } as const;
const TERMINAL_ROLES: readonly TenantRole[] = ['oncall', 'operator'];

export interface GatewayOptions {
  verifier: { verify(token: string | undefined): Promise<TokenUser> };
  devices: DeviceLookup;
  /** Who is on-call or operator in which tenant, from Keycloak by user id and group id (TenantAuthority). */
  authority: { may(sub: string, roles: readonly TenantRole[], cdmId: string): Promise<boolean>; tenants(): Promise<ReadonlyMap<string, { name: string }>> };
  audit: AuditLog;
  logger: Logger;
  ssh: { user: string; port: number; privateKey: Buffer; netns?: string };
  idleTimeoutMs: number;
  maxSessionMs: number;
  maxSessionsPerUser: number;
  transcriptDir?: string;
  /** The first message must come within this time. */
  authTimeoutMs?: number;
  /** How often an open session re-checks the person's authority and the device (default 30 s). */
  recheckMs?: number;
  /** Origins a browser may open the WebSocket from, besides the page's own (the request's Host). */
  allowedOrigins?: readonly string[];
  /** Connections that have not authenticated yet: in all, and per source address. */
  maxPending?: number;
  maxPendingPerAddress?: number;
}

const Auth = z
  .object({
    type: z.literal('auth'),
    token: z.string().min(1).max(16_384),
    deviceId: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{2,63}$/),
    reason: z.string().trim().min(3).max(500),
    cols: z.number().int().min(10).max(1000),
    rows: z.number().int().min(5).max(500),
  })
  .strict();
const Input = z.union([
  z.object({ type: z.literal('input'), data: z.string().max(64 * 1024) }).strict(),
  z.object({ type: z.literal('resize'), cols: z.number().int().min(10).max(1000), rows: z.number().int().min(5).max(500) }).strict(),
  // A fresh access token (the page refreshes it): the session may last until this one expires.
  z.object({ type: z.literal('token'), token: z.string().min(1).max(16_384) }).strict(),
]);

class Refused extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

/**
 * The terminal WebSocket (`/v1/terminal`). The access token arrives in the first message — never in
 * the URL, never logged — with the device and the engineer's reason; the gateway checks the token
 * (signature, issuer, audience, expiry), then asks Keycloak whether that person (by id) is on-call
 * or operator in the device's tenant (by group id), then opens SSH to the device's WireGuard address
 * with its own key and the pinned host key. A session ends when its token expires (the page sends
 * fresh ones), and is closed as soon as a periodic re-check finds the role gone or the device gone.
 */
export class TerminalGateway {
  private readonly wss = new WebSocketServer({ noServer: true, maxPayload: 128 * 1024 });
  private readonly open = new Map<string, number>();
  private readonly pending = new Map<string, number>();
  private pendingTotal = 0;

  constructor(private readonly o: GatewayOptions) {}

  attach(server: Server): void {
    server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      const url = new URL(req.url ?? '/', 'http://gateway');
      if (url.pathname !== '/v1/terminal') return void socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n');
      // Tokens in URLs end up in proxy logs and browser history: refuse them outright.
      if ([...url.searchParams.keys()].some((k) => /token|auth|jwt/i.test(k))) {
        this.o.audit.write({ event: 'denied', at: new Date().toISOString(), status: 400, why: 'token in URL', remote: req.socket.remoteAddress });
        return void socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Type: text/plain\r\n\r\nsend the token in the first WebSocket message, never in the URL\n');
      }
      // A browser always names the page that opens a WebSocket: a page elsewhere (cross-site
      // WebSocket hijacking) is refused. Clients that are not browsers send no Origin.
      const origin = req.headers.origin;
      if (origin && !this.originAllowed(origin, req.headers.host)) {
        this.o.audit.write({ event: 'denied', at: new Date().toISOString(), status: 403, why: `origin ${origin.slice(0, 200)} not allowed`, remote: req.socket.remoteAddress });
        return void socket.end('HTTP/1.1 403 Forbidden\r\nConnection: close\r\nContent-Type: text/plain\r\n\r\nthis page may not open terminals (Origin not allowed)\n');
      }
      const remote = req.socket.remoteAddress ?? '?';
      if (this.pendingTotal >= (this.o.maxPending ?? 200) || (this.pending.get(remote) ?? 0) >= (this.o.maxPendingPerAddress ?? 10)) {
        return void socket.end(
          'HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nRetry-After: 5\r\nContent-Type: text/plain\r\n\r\ntoo many connections waiting to authenticate; retry shortly\n',
        );
      }
      this.pendingTotal++;
      this.pending.set(remote, (this.pending.get(remote) ?? 0) + 1);
      let released = false;
      const release = () => {
        if (released) return;
        released = true;
        this.pendingTotal--;
        const n = (this.pending.get(remote) ?? 1) - 1;
        if (n > 0) this.pending.set(remote, n);
        else this.pending.delete(remote);
      };
      socket.once('close', release);
      this.wss.handleUpgrade(req, socket, head, (ws) => void this.session(ws, req.socket.remoteAddress, release));
    });
  }

  private originAllowed(origin: string, host: string | undefined): boolean {
    if (this.o.allowedOrigins?.includes(origin)) return true;
    try {
      return new URL(origin).host === host;
    } catch {
      return false;
    }
  }

  close(): void {
    for (const ws of this.wss.clients) ws.close(1001, 'gateway shutting down');
    this.wss.close();
  }

  private async session(ws: WebSocket, remote: string | undefined, authenticated: () => void): Promise<void> {
    const log = this.o.logger.child({ remote });
    let user: TokenUser | undefined;
    let deviceId: string | undefined;
    try {
      const first = await firstMessage(ws, this.o.authTimeoutMs ?? 10_000).finally(authenticated);
      const auth = Auth.safeParse(first);
      if (!auth.success)
        throw new Refused(CLOSE.badRequest, `first message must be {type:"auth", token, deviceId, reason, cols, rows}: ${auth.error.issues[0]?.path.join('.')} ${auth.error.issues[0]?.message}`);
      deviceId = auth.data.deviceId;
      try {
        user = await this.o.verifier.verify(auth.data.token);
      } catch (err) {
        throw new Refused(err instanceof AuthError && err.status === 403 ? CLOSE.forbidden : CLOSE.unauthenticated, (err as Error).message);
      }
      const device = await this.o.devices.find(deviceId);
      // A device of a tenant where the person is not on-call or operator looks exactly like an unknown one.
      if (!device || !(await this.o.authority.may(user.sub, TERMINAL_ROLES, device.tenantId)))
        throw new Refused(CLOSE.unknownDevice, `no device ${deviceId} in a tenant where you are on-call or operator`);
      const tenant = (await this.o.authority.tenants()).get(device.tenantId)?.name ?? device.tenantId;
      if (!device.sshHostKey) throw new Refused(CLOSE.deviceUnreachable, `device ${deviceId} has no recorded SSH host key (enrolled without sshd?)`);
      if ((this.open.get(user.sub) ?? 0) >= this.o.maxSessionsPerUser) throw new Refused(CLOSE.tooMany, `at most ${this.o.maxSessionsPerUser} terminal sessions per person; close one first`);
      this.open.set(user.sub, (this.open.get(user.sub) ?? 0) + 1);
      try {
        await this.run(ws, user, { deviceId: device.deviceId, tenantId: device.tenantId, tenant, wgIp: device.wgIp, hostKey: device.sshHostKey }, auth.data, log, remote);
      } finally {
        this.open.set(user.sub, (this.open.get(user.sub) ?? 1) - 1);
      }
    } catch (err) {
      const refused = err instanceof Refused ? err : new Refused(CLOSE.badRequest, (err as Error).message);
      this.o.audit.write({ event: 'denied', at: new Date().toISOString(), user: user?.username, deviceId, status: refused.code - 4000, why: refused.message, remote });
      log.info({ user: user?.username, deviceId, code: refused.code, why: refused.message }, 'terminal refused');
      if (ws.readyState === ws.OPEN) ws.close(refused.code, refused.message.slice(0, 120));
    }
  }

  private async run(
    ws: WebSocket,
    user: TokenUser,
    d: { deviceId: string; tenantId: string; tenant: string; wgIp: string; hostKey: string },
    a: z.infer<typeof Auth>,
    log: Logger,
    remote: string | undefined,
  ): Promise<void> {
    const { deviceId, tenant } = d;
    const sessionId = crypto.randomBytes(8).toString('hex');
    const start = new Date();
    let shell: Awaited<ReturnType<typeof openShell>>;
    try {
      shell = await openShell({
        host: d.wgIp,
        port: this.o.ssh.port,
        user: this.o.ssh.user,
        privateKey: this.o.ssh.privateKey,
        hostKey: d.hostKey,
        netns: this.o.ssh.netns,
        cols: a.cols,
        rows: a.rows,
      });
    } catch (err) {
      throw new Refused(CLOSE.deviceUnreachable, `cannot open SSH to ${deviceId}: ${(err as Error).message}`);
    }
    // Written before the first byte flows: a crash of the gateway mid-session still leaves who opened what.
    this.o.audit.write({ event: 'session-start', sessionId, user: user.username, sub: user.sub, deviceId, tenant, tenantId: d.tenantId, reason: a.reason, start: start.toISOString(), remote });
    const transcript = this.o.transcriptDir ? path.join(this.o.transcriptDir, `${start.toISOString().replace(/[:.]/g, '-')}-${deviceId}-${sessionId}.log`) : undefined;
    const out = transcript ? fs.createWriteStream(transcript, { mode: 0o600 }) : undefined;
    out?.on('error', (err) => log.error({ sessionId, err: err.message }, 'transcript cannot be written'));
    let bytesIn = 0;
    let bytesOut = 0;
    let closedBy = 'device';
    let idle: NodeJS.Timeout;
    let expiry: NodeJS.Timeout;
    const armIdle = () => {
      clearTimeout(idle);
      idle = setTimeout(() => end('idle timeout', CLOSE.timeout), this.o.idleTimeoutMs);
    };
    // The session lives no longer than the token that opened it (or the last fresh one the page sent).
    const armExpiry = (exp: number) => {
      clearTimeout(expiry);
      expiry = setTimeout(() => end('access token expired: sign in again', CLOSE.unauthenticated), Math.max(0, exp * 1000 - Date.now()));
    };
    const max = setTimeout(() => end('maximum session length', CLOSE.timeout), this.o.maxSessionMs);
    // Authority and the device are checked again while the session runs: a person removed from the
    // role, or a device decommissioned, loses the shell within one period.
    const recheck = setInterval(() => {
      void (async () => {
        const device = await this.o.devices.find(deviceId);
        if (!device || device.tenantId !== d.tenantId || device.wgIp !== d.wgIp) return end('device decommissioned or moved', CLOSE.unknownDevice);
        if (!(await this.o.authority.may(user.sub, TERMINAL_ROLES, d.tenantId))) end('you are no longer on-call or operator in this tenant', CLOSE.forbidden);
      })().catch((err: Error) => log.warn({ sessionId, err: err.message }, 'authority re-check failed; trying again next period'));
    }, this.o.recheckMs ?? 30_000);
    let ended = false;
    const end = (by: string, code: number = 1000) => {
      if (ended) return;
      ended = true;
      closedBy = by;
      clearTimeout(idle);
      clearTimeout(max);
      clearTimeout(expiry);
      clearInterval(recheck);
      shell.stream.end();
      shell.client.end();
      out?.end();
      if (ws.readyState === ws.OPEN) ws.close(code, by);
    };
    log.info({ sessionId, user: user.username, deviceId, tenant }, 'terminal session opened');
    ws.send(JSON.stringify({ type: 'ready', sessionId, deviceId, expiresAt: new Date(user.exp * 1000).toISOString() }));
    armIdle();
    armExpiry(user.exp);
    // Output can still arrive after the session ended (the device flushes while the channel closes):
    // the transcript is closed by then, and a write after its end would crash the gateway.
    shell.stream.on('data', (b: Buffer) => {
      if (ended) return;
      bytesOut += b.length;
      out?.write(b);
      if (ws.readyState === ws.OPEN) ws.send(b);
    });
    shell.stream.stderr.on('data', (b: Buffer) => {
      bytesOut += b.length;
      if (ws.readyState === ws.OPEN) ws.send(b);
    });
    ws.on('message', (raw: RawData) => {
      const m = Input.safeParse(parseJson(raw));
      if (!m.success) return void ws.send(JSON.stringify({ type: 'error', message: 'send {type:"input", data}, {type:"resize", cols, rows} or {type:"token", token}' }));
      if (m.data.type === 'token')
        return void this.extend(m.data.token, user, d.tenantId).then(
          (exp) => (armExpiry(exp), ws.send(JSON.stringify({ type: 'extended', expiresAt: new Date(exp * 1000).toISOString() }))),
          (err: Error) => end(`fresh token refused: ${err.message}`, err instanceof Refused ? err.code : CLOSE.unauthenticated),
        );
      armIdle();
      if (m.data.type === 'resize') shell.stream.setWindow(m.data.rows, m.data.cols, 0, 0);
      else if (!ended) {
        bytesIn += Buffer.byteLength(m.data.data);
        out?.write(m.data.data);
        shell.stream.write(m.data.data);
      }
    });
    await new Promise<void>((resolve) => {
      ws.on('close', () => {
        end('browser');
        resolve();
      });
      shell.stream.on('close', () => {
        end('device');
        resolve();
      });
    });
    this.o.audit.write({
      event: 'session',
      sessionId,
      user: user.username,
      sub: user.sub,
      deviceId,
      tenant,
      reason: a.reason,
      start: start.toISOString(),
      end: new Date().toISOString(),
      bytesIn,
      bytesOut,
      closedBy,
      ...(transcript ? { transcript } : {}),
    });
    log.info({ sessionId, bytesIn, bytesOut, closedBy }, 'terminal session closed');
  }

  /** A fresh token must be valid, for the same person, who still holds the role: its expiry is returned. */
  private async extend(token: string, user: TokenUser, tenantId: string): Promise<number> {
    const fresh = await this.o.verifier.verify(token);
    if (fresh.sub !== user.sub) throw new Refused(CLOSE.forbidden, 'token is for another person');
    if (!(await this.o.authority.may(fresh.sub, TERMINAL_ROLES, tenantId))) throw new Refused(CLOSE.forbidden, 'no longer on-call or operator in this tenant');
    return fresh.exp;
  }
}

function parseJson(raw: RawData): unknown {
  try {
    return JSON.parse(raw.toString());
  } catch {
    return undefined;
  }
}

function firstMessage(ws: WebSocket, timeoutMs: number): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Refused(CLOSE.unauthenticated, 'no auth message in time')), timeoutMs);
    ws.once('message', (raw) => {
      clearTimeout(t);
      resolve(parseJson(raw));
    });
    ws.once('close', () => {
      clearTimeout(t);
      reject(new Refused(CLOSE.badRequest, 'closed before authenticating'));
    });
  });
}
