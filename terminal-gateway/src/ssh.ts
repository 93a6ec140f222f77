import { spawn } from 'node:child_process';
import { Duplex } from 'node:stream';
import { Client, type ClientChannel } from 'ssh2';

export interface ShellTarget {
  host: string;
  port: number;
  user: string;
  privateKey: Buffer;
  /** The device's host key as enrollment recorded it (OpenSSH line): any other key is refused. */
  hostKey: string;
  /** Dial from this network namespace (the WireGuard hub's), so the device sees the hub's address. */
  netns?: string;
  cols: number;
  rows: number;
}

// Runs inside the hub namespace: a plain TCP pipe between stdio and the device's sshd.
const DIAL =
  "const s=require('net').connect(+process.argv[2],process.argv[1]);process.stdin.pipe(s);s.pipe(process.stdout);s.on('error',e=>{process.stderr.write(e.message);process.exit(1)});s.on('close',()=>process.exit(0))";

function netnsSocket(netns: string, host: string, port: number): Duplex {
  const child = spawn('ip', ['netns', 'exec', netns, process.execPath, '-e', DIAL, host, String(port)], { stdio: ['pipe', 'pipe', 'ignore'] });
  const sock = Duplex.from({ readable: child.stdout, writable: child.stdin });
  sock.on('close', () => child.kill());
  child.on('exit', () => sock.destroy());
  return sock;
}

/** Opens an interactive shell on the device over SSH with the gateway's key and the pinned host key. */
export function openShell(t: ShellTarget): Promise<{ client: Client; stream: ClientChannel }> {
  const pinned = Buffer.from(t.hostKey.split(' ')[1] ?? '', 'base64');
  return new Promise((resolve, reject) => {
    const client = new Client();
    client.on('ready', () =>
      client.shell({ term: 'xterm-256color', cols: t.cols, rows: t.rows }, (err, stream) => {
        if (err) {
          client.end();
          reject(err);
        } else resolve({ client, stream });
      }),
    );
    client.on('error', (err) => reject(err));
    client.connect({
      host: t.host,
      port: t.port,
      username: t.user,
      privateKey: t.privateKey,
      readyTimeout: 15_000,
      hostVerifier: (key: Buffer) => pinned.length > 0 && key.equals(pinned),
      ...(t.netns ? { sock: netnsSocket(t.netns, t.host, t.port) as never } : {}),
    });
  });
}
