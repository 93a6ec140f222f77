import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { parseArgs, promisify } from 'node:util';
import { bridgeEnv } from './bridge-env.ts';
import { addDeviceNs, deviceNsName, removeDeviceNs } from './devices.ts';
import { stackJsonPath } from './paths.ts';
import type { Endpoint, StackContext } from './types.ts';

export const DEVICE_USAGE = `usage: stack device <n> enroll --tenant <name|id> [--serial <s>]
       stack device <n> shell
       stack device <n> remove
  A simulated device: network namespace cdm-dev-<n> (1–60000) on the WireGuard hub's LAN, running
  device/enroll.sh as a device image would, against the enrollment API of \`npm start\`
  (https://10.213.0.1:19443). enroll makes a one-use claim for the tenant with enroll-bridge's CLI,
  writes the device's config under the state dir and enrolls: certificate, ThingsBoard device,
  hawkBit target, WireGuard tunnel. shell opens a shell inside the device's namespace.`;

const exec = promisify(execFile);
const listening = (host: string, port: number) =>
  new Promise<boolean>((resolve) => {
    const c = net.connect({ host, port, timeout: 2000 }, () => (c.destroy(), resolve(true)));
    c.on('error', () => resolve(false));
    c.on('timeout', () => (c.destroy(), resolve(false)));
  });

/** `npm run stack -- device …`: enroll a device by hand against the running local stack. */
export async function deviceCommand(ctx: StackContext, argv: string[]): Promise<number> {
  const [n, cmd, ...rest] = argv;
  const index = Number(n);
  if (!Number.isInteger(index) || index < 1 || index > 60_000 || !cmd) {
    console.error(DEVICE_USAGE);
    return 2;
  }
  const dir = path.join(ctx.stateDir, 'devices', String(index));
  if (cmd === 'remove') {
    await removeDeviceNs(index);
    fs.rmSync(dir, { recursive: true, force: true });
    console.log(`device ${index}: namespace and files removed (decommission it with: enroll-bridge decommission <serial>)`);
    return 0;
  }
  if (cmd === 'shell') {
    return new Promise((resolve) => spawn('ip', ['netns', 'exec', deviceNsName(index), process.env.SHELL ?? 'bash'], { stdio: 'inherit' }).on('exit', (c) => resolve(c ?? 1)));
  }
  if (cmd !== 'enroll') {
    console.error(DEVICE_USAGE);
    return 2;
  }
  const { values } = parseArgs({ args: rest, options: { tenant: { type: 'string' }, serial: { type: 'string' } } });
  if (!values.tenant) throw new Error('device enroll needs --tenant <name or id> (a Keycloak group under /tenants that tenant-sync has synced)');
  if (!fs.existsSync(stackJsonPath(ctx))) throw new Error('the local stack is not up: run "npm start" (or "npm run stack -- up" and the bridges) first');
  const endpoints = JSON.parse(fs.readFileSync(stackJsonPath(ctx), 'utf8')) as Record<string, Endpoint>;
  const env = bridgeEnv(endpoints, ctx.stateDir)['enroll-bridge'];
  const api = `https://${env.API_HOST}:${env.API_PORT}`;
  if (!(await listening(env.API_HOST!, Number(env.API_PORT)))) {
    throw new Error(`enroll-bridge does not answer on ${api}: start the bridges with "npm start" in another terminal`);
  }

  // A claim from enroll-bridge itself (its CLI owns its store), one use.
  const claimOut = await exec(
    process.execPath,
    ['--import', 'tsx', path.join(ctx.repoDir, 'enroll-bridge', 'src', 'main.ts'), 'claim', 'create', '--tenant', values.tenant, '--uses', '1', '--expires', '1h'],
    {
      cwd: ctx.repoDir,
      env: { ...process.env, ...env, LOG_LEVEL: 'warn' },
    },
  ).catch((e: { stderr?: string; message: string }) => {
    throw new Error(`enroll-bridge could not make a claim for tenant "${values.tenant}": ${(e.stderr || e.message).trim()}`);
  });
  const token = /token[^:]*:\s*(\S+)\s*$/m.exec(claimOut.stdout)?.[1];
  if (!token) throw new Error(`no claim token in enroll-bridge's answer: ${claimOut.stdout}`);

  const serial = values.serial ?? `SIM${String(index).padStart(6, '0')}`;
  const etc = path.join(dir, 'etc');
  const state = path.join(dir, 'state');
  fs.mkdirSync(etc, { recursive: true, mode: 0o700 });
  fs.writeFileSync(path.join(dir, 'product_serial'), `${serial}\n`);
  fs.writeFileSync(path.join(etc, 'claim'), `${token}\n`, { mode: 0o600 });
  fs.writeFileSync(
    path.join(etc, 'device-config'),
    [`BRIDGE_API_URL=${api}`, `ROOT_FINGERPRINT=${endpoints.stepca!.extra!.rootFingerprint}`, `SERIAL_SOURCE=${path.join(dir, 'product_serial')}`, ''].join('\n'),
  );
  const ns = await addDeviceNs(index);
  console.log(`device ${index}: namespace ${ns.ns} (${ns.ip}), serial ${serial}, config in ${etc}`);
  const script = path.join(ctx.repoDir, 'device', 'enroll.sh');
  // Its own interface name: wireguard-go's control socket (/var/run/wireguard/<if>.sock) is shared
  // by every namespace, so a device left running as cdm0 broke the tests' devices (seen in CI runs).
  return new Promise((resolve) =>
    spawn('ip', ['netns', 'exec', ns.ns, 'bash', script, 'enroll'], { stdio: 'inherit', env: { PATH: process.env.PATH!, CDM_ETC: etc, CDM_STATE: state, CDM_WG_IF: `cdmw${index}` } }).on(
      'exit',
      (code) => {
        if (code === 0)
          console.log(
            `device ${index} enrolled: its files are in ${state}; "npm run stack -- device ${index} shell" opens a shell on it (ping ${endpoints.wireguard!.extra!.serverTunnelIp} reaches the hub through the tunnel)`,
          );
        resolve(code ?? 1);
      },
    ),
  );
}
