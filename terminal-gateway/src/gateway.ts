import crypto from 'node:crypto';
import fs from 'node:fs';
import type { IncomingMessage, Server } from 'node:http';
import path from 'node:path';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import { z } from 'zod';
import { AuthError, tenantsOf, type Logger, type TokenUser } from '@cdm/common';
import type { AuditLog } from './audit.ts';
import type { DeviceLookup } from './devices.ts';
import { openShell } from './ssh.ts';

/** WebSocket close codes: 44xx mirror the HTTP status a plain API would give. */
export const CLOSE = { badRequest: 4400, unauthenticated: 4401, forbidden: 4403, unknownDevice: 4404, timeout: 4408, tooMany: 4429, deviceUnreachable: 4502 } as const;
const TERMINAL_ROLES = ['cdm-oncall', 'cdm-operator'];

export interface GatewayOptions {
  verifier: { verify(token: string | undefined): Promise<TokenUser> };
  devices: DeviceLookup;
  /** cdm id (Keycloak group id) → tenant name (the group's name, as in the token's group paths). */
  tenantName(cdmId: string): Promise<string | undefined>;
  tenantParent: string;
  audit: AuditLog;
  logger: Logger;
  ssh: { user: string; port: number; privateKey: Buffer; netns?: string };
  idleTimeoutMs: number;
  maxSessionMs: number;
  maxSessionsPerUser: number;
  transcriptDir?: string;
  /** The first message must come within this time. */
  authTimeoutMs?: number;
}

const Auth = z
  .object({ type: z.literal('auth'), token: z.string().min(1).max(16_384), deviceId: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{2,63}$/), reason: z.string().trim().min(3).max(500), cols: z.number().int().min(10).max(1000), rows: z.number().int().min(5).max(500) })
  .strict();
const Input = z.union([z.object({ type: z.literal('input'), data: z.string().max(64 * 1024) }).strict(), z.object({ type: z.literal('resize'), cols: z.number().int().min(10).max(1000), rows: z.number().int().min(5).max(500) }).strict()]);

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
 * (signature, issuer, audience, expiry), a terminal role and membership of the device's tenant,
 * then opens SSH to the device's WireGuard address with its own key and the pinned host key.
 */
export class TerminalGateway {
  private readonly wss = new WebSocketServer({ noServer: true, maxPayload: 128 * 1024 });
  private readonly open = new Map<string, number>();

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
      this.wss.handleUpgrade(req, socket, head, (ws) => void this.session(ws, req.socket.remoteAddress));
    });
  }

  close(): void {
    for (const ws of this.wss.clients) ws.close(1001, 'gateway shutting down');
    this.wss.close();
  }

  private async session(ws: WebSocket, remote: string | undefined): Promise<void> {
    const log = this.o.logger.child({ remote });
    let user: TokenUser | undefined;
    let deviceId: string | undefined;
    try {
      const first = await firstMessage(ws, this.o.authTimeoutMs ?? 10_000);
      const auth = Auth.safeParse(first);
      if (!auth.success) throw new Refused(CLOSE.badRequest, `first message must be {type:"auth", token, deviceId, reason, cols, rows}: ${auth.error.issues[0]?.path.join('.')} ${auth.error.issues[0]?.message}`);
      deviceId = auth.data.deviceId;
      try {
        user = await this.o.verifier.verify(auth.data.token);
      } catch (err) {
        throw new Refused(err instanceof AuthError && err.status === 403 ? CLOSE.forbidden : CLOSE.unauthenticated, (err as Error).message);
      }
      if (!TERMINAL_ROLES.some((r) => user!.roles.has(r))) throw new Refused(CLOSE.forbidden, 'cdm-oncall or cdm-operator role required');
      const device = this.o.devices.find(deviceId);
      const tenant = device && (await this.o.tenantName(device.tenantId));
      // A device of another tenant looks exactly like an unknown one.
      if (!device || !tenant || !tenantsOf(user, this.o.tenantParent).includes(tenant)) throw new Refused(CLOSE.unknownDevice, `no device ${deviceId} in your tenants`);
      if (!device.sshHostKey) throw new Refused(CLOSE.deviceUnreachable, `device ${deviceId} has no recorded SSH host key (enrolled without sshd?)`);
      if ((this.open.get(user.sub) ?? 0) >= this.o.maxSessionsPerUser) throw new Refused(CLOSE.tooMany, `at most ${this.o.maxSessionsPerUser} terminal sessions per person; close one first`);
      this.open.set(user.sub, (this.open.get(user.sub) ?? 0) + 1);
      try {
        await this.run(ws, user, device.deviceId, tenant, device.wgIp, device.sshHostKey, auth.data, log);
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

  private async run(ws: WebSocket, user: TokenUser, deviceId: string, tenant: string, wgIp: string, hostKey: string, a: z.infer<typeof Auth>, log: Logger): Promise<void> {
    const sessionId = crypto.randomBytes(8).toString('hex');
    const start = new Date();
    let shell: Awaited<ReturnType<typeof openShell>>;
    try {
      shell = await openShell({ host: wgIp, port: this.o.ssh.port, user: this.o.ssh.user, privateKey: this.o.ssh.privateKey, hostKey, netns: this.o.ssh.netns, cols: a.cols, rows: a.rows });
    } catch (err) {
      throw new Refused(CLOSE.deviceUnreachable, `cannot open SSH to ${deviceId}: ${(err as Error).message}`);
    }
    const transcript = this.o.transcriptDir ? path.join(this.o.transcriptDir, `${start.toISOString().replace(/[:.]/g, '-')}-${deviceId}-${sessionId}.log`) : undefined;
    const out = transcript ? fs.createWriteStream(transcript, { mode: 0o600 }) : undefined;
    let bytesIn = 0;
    let bytesOut = 0;
    let closedBy = 'device';
    let idle: NodeJS.Timeout;
    const armIdle = () => {
      clearTimeout(idle);
      idle = setTimeout(() => end('idle timeout', CLOSE.timeout), this.o.idleTimeoutMs);
    };
    const max = setTimeout(() => end('maximum session length', CLOSE.timeout), this.o.maxSessionMs);
    let ended = false;
    const end = (by: string, code: number = 1000) => {
      if (ended) return;
      ended = true;
      closedBy = by;
      clearTimeout(idle);
      clearTimeout(max);
      shell.stream.end();
      shell.client.end();
      out?.end();
      if (ws.readyState === ws.OPEN) ws.close(code, by);
    };
    log.info({ sessionId, user: user.username, deviceId, tenant }, 'terminal session opened');
    ws.send(JSON.stringify({ type: 'ready', sessionId, deviceId }));
    armIdle();
    shell.stream.on('data', (d: Buffer) => {
      bytesOut += d.length;
      out?.write(d);
      if (ws.readyState === ws.OPEN) ws.send(d);
    });
    shell.stream.stderr.on('data', (d: Buffer) => {
      bytesOut += d.length;
      if (ws.readyState === ws.OPEN) ws.send(d);
    });
    ws.on('message', (raw: RawData) => {
      const m = Input.safeParse(parseJson(raw));
      if (!m.success) return void ws.send(JSON.stringify({ type: 'error', message: 'send {type:"input", data} or {type:"resize", cols, rows}' }));
      armIdle();
      if (m.data.type === 'resize') shell.stream.setWindow(m.data.rows, m.data.cols, 0, 0);
      else {
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
    this.o.audit.write({ event: 'session', sessionId, user: user.username, sub: user.sub, deviceId, tenant, reason: a.reason, start: start.toISOString(), end: new Date().toISOString(), bytesIn, bytesOut, closedBy, ...(transcript ? { transcript } : {}) });
    log.info({ sessionId, bytesIn, bytesOut, closedBy }, 'terminal session closed');
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
