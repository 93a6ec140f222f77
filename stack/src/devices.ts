import { HUB } from './services/wireguard.ts';
import { inNs, nsExists, run } from './services/netns.ts';

/** A simulated device: its own network namespace on the hub's LAN (br-dev), as a device on a site LAN. */
export interface DeviceNs {
  ns: string;
  /** Its LAN address; the hub (10.214.0.1) is its gateway, through which it reaches the bridges. */
  ip: string;
}

export function deviceNsName(index: number): string {
  return `cdm-dev-${index}`;
}

/** Creates (or re-creates) device namespace `index` (1–60000). Needs the stack's WireGuard hub. */
export async function addDeviceNs(index: number): Promise<DeviceNs> {
  if (!Number.isInteger(index) || index < 1 || index > 60_000) throw new Error('device index must be 1–60000');
  if (!(await nsExists(HUB.netns))) throw new Error(`hub namespace ${HUB.netns} missing: run "npm run stack -- up" first`);
  await removeDeviceNs(index);
  const ns = deviceNsName(index);
  const hubSide = `cdmd${index}`;
  const devSide = `cdmd${index}p`;
  const ip = `10.214.${1 + Math.floor(index / 250)}.${1 + (index % 250)}`;
  await run('ip', ['netns', 'add', ns]);
  await run('ip', ['link', 'add', hubSide, 'type', 'veth', 'peer', 'name', devSide]);
  await run('ip', ['link', 'set', hubSide, 'netns', HUB.netns]);
  await inNs(HUB.netns, 'ip', ['link', 'set', hubSide, 'master', HUB.lanBridge]);
  await inNs(HUB.netns, 'ip', ['link', 'set', hubSide, 'up']);
  await run('ip', ['link', 'set', devSide, 'netns', ns]);
  await inNs(ns, 'ip', ['link', 'set', devSide, 'name', 'eth0']);
  await inNs(ns, 'ip', ['addr', 'add', `${ip}/16`, 'dev', 'eth0']);
  await inNs(ns, 'ip', ['link', 'set', 'eth0', 'up']);
  await inNs(ns, 'ip', ['link', 'set', 'lo', 'up']);
  await inNs(ns, 'ip', ['route', 'add', 'default', 'via', HUB.lanIp]);
  return { ns, ip };
}

export async function removeDeviceNs(index: number): Promise<void> {
  await run('ip', ['netns', 'pids', deviceNsName(index)], { quiet: true }).then((pids) =>
    Promise.all(
      pids
        .split('\n')
        .filter(Boolean)
        .map((p) => run('kill', [p.trim()], { quiet: true })),
    ),
  );
  await inNs(HUB.netns, 'ip', ['link', 'del', `cdmd${index}`], { quiet: true });
  await run('ip', ['netns', 'del', deviceNsName(index)], { quiet: true });
}

/** The address of the root namespace as devices reach it (the bridges listen there). */
export { HOST_FROM_DEVICES } from './services/wireguard.ts';
