import { ensureDebian } from './services/apt.ts';

/**
 * Debian tools some tests drive besides the stack: each test installs what it uses in its own
 * setup (as the stack installs Mosquitto), so `npm test` needs no step the README does not show.
 */
const TOOLS = {
  /** validates compose/ without a Docker engine */
  'docker-compose': { bin: 'docker-compose', pkg: 'docker-compose' },
  /** the device side of the remote terminal */
  sshd: { bin: '/usr/sbin/sshd', pkg: 'openssh-server' },
  /** the on-call engineer's browser */
  chromium: { bin: '/usr/lib/chromium/chromium', pkg: 'chromium' },
  /** content-addressed chunking for delta updates (RAUC's casync bundles) */
  casync: { bin: 'casync', pkg: 'casync' },
  /** reads RAUC bundles (squashfs): ota-bridge publish finds a delta bundle's chunk indexes */
  unsquashfs: { bin: 'unsquashfs', pkg: 'squashfs-tools' },
  /** the device's update client: bundles, casync conversion and installs into file-backed slots */
  rauc: { bin: 'rauc', pkg: 'rauc' },
  /** a private D-Bus for the RAUC service (rauc install talks to it) */
  'dbus-run-session': { bin: 'dbus-run-session', pkg: 'dbus-daemon' },
  /** filesystem images for the delta-update benchmark */
  'mkfs.ext4': { bin: 'mkfs.ext4', pkg: 'e2fsprogs' },
} as const;

export type TestTool = keyof typeof TOOLS;

export async function ensureTestTools(...tools: TestTool[]): Promise<void> {
  await ensureDebian(
    (m) => process.stderr.write(`${m}\n`),
    tools.map((t) => TOOLS[t]),
  );
}
