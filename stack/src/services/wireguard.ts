import fs from 'node:fs';
import path from 'node:path';
import { PORTS } from '../paths.ts';
import { readPid, spawnDetached, stopDetached } from '../proc.ts';
import type { Service, StackContext } from '../types.ts';
import { ensureDebian } from './apt.ts';
import { inNs, nsExists, run, waitForLink } from './netns.ts';
import { serverCertificate } from './stepca.ts';

/**
 * The WireGuard hub: its own network namespace (the "server host"), joined to the root namespace
 * by a veth pair so bridges and the terminal gateway reach device tunnel addresses, plus a LAN
 * bridge that device namespaces plug into. The kernel here has no WireGuard module, so the
 * interface is wireguard-go (userspace, on /dev/net/tun).
 */
export const HUB = {
  netns: 'cdm-wg',
  iface: 'wg0',
  hostVeth: 'cdmwg-h',
  nsVeth: 'cdmwg-n',
  hostIp: '10.213.0.1/30',
  nsIp: '10.213.0.2',
  lanBridge: 'br-dev',
  lanIp: '10.214.0.1',
  lanCidr: '10.214.0.0/16',
  pool: '10.77.0.0/16',
  tunnelIp: '10.77.0.1',
  port: PORTS.wireguard,
} as const;

const keyFile = (ctx: StackContext) => path.join(ctx.stateDir, 'wireguard', 'server.key');
/** The root namespace's address as device namespaces reach it. */
export const HOST_FROM_DEVICES = HUB.hostIp.split('/')[0]!;
const enrollApiDir = (ctx: StackContext) => path.join(ctx.stateDir, 'wireguard', 'enroll-api');

async function teardown(): Promise<void> {
  await run('ip', ['route', 'del', HUB.pool], { quiet: true });
  await run('ip', ['route', 'del', HUB.lanCidr], { quiet: true });
  await run('ip', ['link', 'del', HUB.hostVeth], { quiet: true });
  await run('ip', ['netns', 'del', HUB.netns], { quiet: true });
}

async function serverKey(ctx: StackContext): Promise<string> {
  const f = keyFile(ctx);
  if (!fs.existsSync(f)) {
    fs.mkdirSync(path.dirname(f), { recursive: true, mode: 0o700 });
    fs.writeFileSync(f, await run('wg', ['genkey']), { mode: 0o600 });
  }
  return f;
}

export function serverPublicKey(ctx: StackContext): string {
  const f = `${keyFile(ctx)}.pub`;
  return fs.existsSync(f) ? fs.readFileSync(f, 'utf8').trim() : '';
}

export const wireguard: Service = {
  name: 'wireguard',
  real: true,
  version: 'Debian 12 wireguard-tools 1.0.20210914, wireguard-go 0.0.20220316',
  startTimeoutSec: 15,
  needs: ['stepca'],
  async install(ctx) {
    await ensureDebian(ctx.log, [
      { bin: 'wg', pkg: 'wireguard-tools' },
      { bin: 'wireguard-go', pkg: 'wireguard-go' },
      { bin: 'ip', pkg: 'iproute2' },
      // Simulated devices check their tunnel with ping and run device/enroll.sh (curl, jq).
      { bin: 'ping', pkg: 'iputils-ping' },
      { bin: 'curl', pkg: 'curl' },
      { bin: 'jq', pkg: 'jq' },
    ]);
  },
  async start(ctx) {
    if (process.getuid?.() !== 0) throw new Error('the WireGuard hub needs root (network namespaces); run the stack as root');
    await stopDetached(ctx, 'wireguard', 2000);
    await teardown(); // leftovers of a crashed run
    const key = await serverKey(ctx);
    fs.writeFileSync(`${key}.pub`, await run('wg', ['pubkey'], { input: fs.readFileSync(key, 'utf8') }));
    await run('ip', ['netns', 'add', HUB.netns]);
    await inNs(HUB.netns, 'ip', ['link', 'set', 'lo', 'up']);
    await run('ip', ['link', 'add', HUB.hostVeth, 'type', 'veth', 'peer', 'name', HUB.nsVeth]);
    await run('ip', ['link', 'set', HUB.nsVeth, 'netns', HUB.netns]);
    await run('ip', ['addr', 'add', HUB.hostIp, 'dev', HUB.hostVeth]);
    await run('ip', ['link', 'set', HUB.hostVeth, 'up']);
    await inNs(HUB.netns, 'ip', ['addr', 'add', `${HUB.nsIp}/30`, 'dev', HUB.nsVeth]);
    await inNs(HUB.netns, 'ip', ['link', 'set', HUB.nsVeth, 'up']);
    await inNs(HUB.netns, 'ip', ['link', 'add', HUB.lanBridge, 'type', 'bridge']);
    await inNs(HUB.netns, 'ip', ['addr', 'add', `${HUB.lanIp}/16`, 'dev', HUB.lanBridge]);
    await inNs(HUB.netns, 'ip', ['link', 'set', HUB.lanBridge, 'up']);
    spawnDetached(ctx, 'wireguard', 'ip', ['netns', 'exec', HUB.netns, 'wireguard-go', '-f', HUB.iface], {
      env: { WG_PROCESS_FOREGROUND: '1', LOG_LEVEL: 'error' },
    });
    await waitForLink(HUB.netns, HUB.iface);
    await inNs(HUB.netns, 'wg', ['set', HUB.iface, 'listen-port', String(HUB.port), 'private-key', key]);
    await inNs(HUB.netns, 'ip', ['addr', 'add', `${HUB.tunnelIp}/16`, 'dev', HUB.iface]);
    await inNs(HUB.netns, 'ip', ['link', 'set', HUB.iface, 'up']);
    // Forwarding only inside the hub namespace: root namespace → hub → device tunnels.
    await inNs(HUB.netns, 'sysctl', ['-qw', 'net.ipv4.ip_forward=1']);
    await run('ip', ['route', 'add', HUB.pool, 'via', HUB.nsIp]);
    // Device namespaces on br-dev reach services in the root namespace (the bridges) through the hub.
    await run('ip', ['route', 'add', HUB.lanCidr, 'via', HUB.nsIp]);
  },
  async healthy(ctx) {
    if (!readPid(ctx, 'wireguard') || !(await nsExists(HUB.netns))) return false;
    const show = await inNs(HUB.netns, 'wg', ['show', HUB.iface, 'listen-port'], { quiet: true });
    const lanRoute = await run('ip', ['route', 'show', HUB.lanCidr], { quiet: true });
    return show.trim() === String(HUB.port) && lanRoute.includes(HUB.nsIp);
  },
  /**
   * Devices reach the root namespace (where the bridges run) at the hub's host address: the local
   * enrollment API listens there with a certificate from the stack's step-ca.
   */
  async afterStart(ctx) {
    await serverCertificate(ctx, enrollApiDir(ctx), HOST_FROM_DEVICES);
  },
  endpoint: (ctx) => ({
    url: `udp://${HUB.lanIp}:${HUB.port}`,
    extra: {
      hostFromDevices: HOST_FROM_DEVICES,
      enrollApiCert: path.join(enrollApiDir(ctx), 'server.crt'),
      enrollApiKey: path.join(enrollApiDir(ctx), 'server.key'),
      netns: HUB.netns,
      interface: HUB.iface,
      serverPublicKey: serverPublicKey(ctx),
      deviceEndpoint: `${HUB.lanIp}:${HUB.port}`,
      pool: HUB.pool,
      serverTunnelIp: HUB.tunnelIp,
      wg: `ip netns exec ${HUB.netns} wg`,
    },
  }),
  async stop(ctx) {
    await stopDetached(ctx, 'wireguard', 5000);
    await teardown();
  },
};
