import { execFile } from 'node:child_process';
import { UpstreamError } from '../errors.ts';

/** execFile with optional stdin; injectable so tests never need a real interface. */
export type Exec = (cmd: string, args: string[], stdin?: string) => Promise<string>;

export const execFileExec: Exec = (cmd, args, stdin) =>
  new Promise((resolve, reject) => {
    const child = execFile(cmd, args, { timeout: 10_000, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) reject(Object.assign(err, { stderr: String(stderr) }));
      else resolve(String(stdout));
    });
    child.stdin?.on('error', () => {}); // the process may exit before reading stdin
    if (stdin !== undefined) child.stdin?.end(stdin);
  });

export interface WireGuardOptions {
  interface: string;
  /** Network namespace holding the interface; runs `ip netns exec <ns> wg ...`. */
  netns?: string;
  wgPath?: string;
  exec?: Exec;
}

export interface WgPeer {
  publicKey: string;
  presharedKey: boolean;
  endpoint?: string;
  allowedIps: string[];
  latestHandshake: number; // unix seconds, 0 = never
  rxBytes: number;
  txBytes: number;
  persistentKeepalive?: number;
}

export interface WgDump {
  publicKey: string;
  listenPort: number;
  peers: WgPeer[];
}

const KEY = /^[A-Za-z0-9+/]{42}[AEIMQUYcgkosw480]=$/;
const IFACE = /^[a-zA-Z0-9_=+.-]{1,15}$/;
const NETNS = /^[a-zA-Z0-9_.-]{1,64}$/;

export function isWgKey(k: string): boolean {
  return KEY.test(k);
}

/** IPv4 or IPv6 CIDR, strictly, so nothing odd reaches the wg command line. */
export function isCidr(c: string): boolean {
  const m = /^([0-9a-fA-F:.]+)\/(\d{1,3})$/.exec(c);
  if (!m) return false;
  const [, ip, bits] = m as unknown as [string, string, string];
  if (ip.includes(':')) return Number(bits) <= 128 && /^[0-9a-fA-F:]+$/.test(ip);
  const parts = ip.split('.');
  return parts.length === 4 && parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 255) && Number(bits) <= 32;
}

/** One peer change waiting for the next `wg set`: its arguments after `peer <key>`. */
interface PeerChange {
  args: string[];
  done: { resolve: () => void; reject: (err: unknown) => void };
}

/** Peer changes one `wg set` carries at most (its command line stays small). */
const BATCH = 200;

/**
 * The `wg` binary (wireguard-tools) via execFile, never a shell. Private keys go on stdin.
 *
 * Peer changes go out one `wg set` at a time; those asked for while one runs wait and then go
 * together in the next (`wg set <if> peer A … peer B …`, applied in order). Starting a process
 * blocks Node's event loop for milliseconds, and 500 enrollments at once meant 500 of them.
 */
export class WireGuardClient {
  private readonly exec: Exec;
  private queue: PeerChange[] = [];
  private running = false;

  constructor(private readonly opts: WireGuardOptions) {
    if (!IFACE.test(opts.interface)) throw new Error(`WireGuard: invalid interface name "${opts.interface}"`);
    if (opts.netns !== undefined && !NETNS.test(opts.netns)) throw new Error(`WireGuard: invalid netns "${opts.netns}"`);
    this.exec = opts.exec ?? execFileExec;
  }

  genkey(): Promise<string> {
    return this.wg('genkey', ['genkey']).then((s) => s.trim());
  }

  async pubkey(privateKey: string): Promise<string> {
    if (!isWgKey(privateKey)) throw new Error('WireGuard: pubkey needs a valid private key');
    return (await this.wg('pubkey', ['pubkey'], `${privateKey}\n`)).trim();
  }

  async setPeer(peer: { publicKey: string; allowedIps: string[]; persistentKeepalive?: number }): Promise<void> {
    if (!isWgKey(peer.publicKey)) throw new Error('WireGuard: invalid peer public key');
    const bad = peer.allowedIps.filter((c) => !isCidr(c));
    if (bad.length) throw new Error(`WireGuard: invalid allowed-ips ${bad.join(',')}`);
    const args = ['peer', peer.publicKey, 'allowed-ips', peer.allowedIps.join(',')];
    if (peer.persistentKeepalive !== undefined) args.push('persistent-keepalive', String(Math.trunc(peer.persistentKeepalive)));
    await this.change(args);
  }

  async removePeer(publicKey: string): Promise<void> {
    if (!isWgKey(publicKey)) throw new Error('WireGuard: invalid peer public key');
    await this.change(['peer', publicKey, 'remove']);
  }

  private change(args: string[]): Promise<void> {
    return new Promise((resolve, reject) => {
      this.queue.push({ args, done: { resolve, reject } });
      if (!this.running) void this.drain();
    });
  }

  private async drain(): Promise<void> {
    this.running = true;
    try {
      while (this.queue.length) {
        const batch = this.queue.splice(0, BATCH);
        try {
          await this.set(batch);
          for (const c of batch) c.done.resolve();
        } catch (err) {
          if (batch.length === 1) batch[0]!.done.reject(err);
          // One bad change must not fail the others: each goes again on its own.
          else for (const c of batch) await this.set([c]).then(c.done.resolve, c.done.reject);
        }
      }
    } finally {
      this.running = false;
    }
  }

  private set(batch: PeerChange[]): Promise<string> {
    const call = batch.length > 1 ? `set ${batch.length} peers` : batch[0]!.args.at(-1) === 'remove' ? 'remove peer' : 'set peer';
    return this.wg(call, ['set', this.opts.interface, ...batch.flatMap((c) => c.args)]);
  }

  async dump(): Promise<WgDump> {
    return parseDump(await this.wg('show dump', ['show', this.opts.interface, 'dump']));
  }

  private async wg(call: string, args: string[], stdin?: string): Promise<string> {
    const wg = this.opts.wgPath ?? 'wg';
    // Key generation needs no interface, so it never enters the namespace.
    const local = args[0] === 'genkey' || args[0] === 'pubkey';
    const [cmd, argv] = this.opts.netns && !local ? ['ip', ['netns', 'exec', this.opts.netns, wg, ...args]] : [wg, args];
    try {
      return await this.exec(cmd, argv, stdin);
    } catch (err) {
      if ((err as { code?: string }).code === 'ENOENT') {
        throw new UpstreamError('WireGuard', `wg ${call}`, undefined, `${cmd} not found`, 'install wireguard-tools (apt-get install wireguard-tools)');
      }
      const stderr = ((err as { stderr?: string }).stderr ?? (err as Error).message).trim();
      throw new UpstreamError(
        'WireGuard',
        `wg ${call}`,
        undefined,
        stderr || 'failed',
        `is interface ${this.opts.interface} up${this.opts.netns ? ` in netns ${this.opts.netns}` : ''}? (local stack: npm run stack -- up wireguard)`,
      );
    }
  }
}

/** Parses `wg show <if> dump`: a line for the interface, then one per peer, tab-separated. */
export function parseDump(text: string): WgDump {
  const [head, ...rest] = text.trim().split('\n');
  const h = (head ?? '').split('\t');
  const peers = rest
    .filter((l) => l.trim())
    .map((line): WgPeer => {
      const [publicKey = '', psk, endpoint, allowed, handshake, rx, tx, keepalive] = line.split('\t');
      return {
        publicKey,
        presharedKey: psk !== '(none)',
        endpoint: endpoint === '(none)' ? undefined : endpoint,
        allowedIps: !allowed || allowed === '(none)' ? [] : allowed.split(','),
        latestHandshake: Number(handshake ?? 0),
        rxBytes: Number(rx ?? 0),
        txBytes: Number(tx ?? 0),
        persistentKeepalive: keepalive && keepalive !== 'off' ? Number(keepalive) : undefined,
      };
    });
  return { publicKey: h[1] ?? '', listenPort: Number(h[2] ?? 0), peers };
}
