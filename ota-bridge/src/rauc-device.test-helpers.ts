import crypto from 'node:crypto';
import { execFile, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const MiB = 1024 * 1024;
const big = { maxBuffer: 64 * MiB };

/** Deterministic bytes (AES-CTR of zeros): images that differ only where a test changes them. */
export const seededBytes = (seed: string, n: number) => crypto.createCipheriv('aes-128-ctr', crypto.createHash('md5').update(seed).digest(), Buffer.alloc(16)).update(Buffer.alloc(n));

export const sha256File = (f: string) => crypto.createHash('sha256').update(fs.readFileSync(f)).digest('hex');

/**
 * Two root filesystems as an image build makes them: an ext4 image of `sizeMiB`, `fill` (70 %) full
 * of files of 64 KiB–1 MiB (`content`: incompressible by default), and the next release with
 * `changePct` % of the image's bytes rewritten in place across files.
 */
export async function rootfsImages(
  dir: string,
  o: { sizeMiB: number; changePct: number; fill?: number; content?: (i: number, size: number) => Buffer },
): Promise<{ v1: string; v2: string; changed: number; files: number; contentBytes: number }> {
  const content = o.content ?? ((i: number, size: number) => seededBytes(`file${i}`, size));
  let contentBytes = 0;
  const tree = path.join(dir, 'tree');
  const files: string[] = [];
  for (let i = 0, total = 0; ; i++) {
    const size = 64 * 1024 * (1 + (i % 16));
    if (total + size > o.sizeMiB * MiB * (o.fill ?? 0.7)) break;
    const f = path.join(tree, `d${i % 8}`, `f${i}`);
    fs.mkdirSync(path.dirname(f), { recursive: true });
    fs.writeFileSync(f, content(i, size));
    files.push(f);
    total += size;
    contentBytes = total;
  }
  const image = async (name: string, version: string) => {
    fs.writeFileSync(path.join(tree, 'version'), `${version}\n`);
    const img = path.join(dir, name);
    await run('mkfs.ext4', ['-q', '-F', '-d', tree, '-U', '6f1c2a8e-0d5b-4c2e-9d7f-000000000001', img, `${o.sizeMiB}M`], {
      env: { ...process.env, E2FSPROGS_FAKE_TIME: '1790000000' },
    });
    return img;
  };
  const v1 = await image('rootfs-v1.ext4', 'v1');
  const target = Math.round((o.sizeMiB * MiB * o.changePct) / 100);
  let changed = 0;
  for (let i = 0; changed < target; i += 7) {
    const f = files[i % files.length]!;
    const len = Math.min(fs.statSync(f).size, 64 * 1024, target - changed);
    const fd = fs.openSync(f, 'r+');
    fs.writeSync(fd, seededBytes(`change${i}`, len), 0, len, 0);
    fs.closeSync(fd);
    changed += len;
  }
  return { v1, v2: await image('rootfs-v2.ext4', 'v2'), changed, files: files.length, contentBytes };
}

/** The vendor's signing material for RAUC: a CA (the devices' keyring) and a code-signing certificate it issued. */
export function raucSigner(dir: string): { keyring: string; cert: string; key: string } {
  const ssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  ssl(
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:P-256',
    '-nodes',
    '-keyout',
    'ca.key',
    '-out',
    'ca.pem',
    '-days',
    '2',
    '-subj',
    '/CN=vendor RAUC CA',
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=keyCertSign',
  );
  ssl('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'signer.key', '-out', 'signer.csr', '-subj', '/CN=vendor RAUC signing');
  fs.writeFileSync(path.join(dir, 'signer.ext'), 'keyUsage=digitalSignature\nextendedKeyUsage=codeSigning,emailProtection\n');
  ssl('x509', '-req', '-in', 'signer.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'signer.pem', '-days', '2', '-extfile', 'signer.ext');
  return { keyring: path.join(dir, 'ca.pem'), cert: path.join(dir, 'signer.pem'), key: path.join(dir, 'signer.key') };
}

/**
 * A full RAUC bundle of one rootfs image (`rauc bundle`), and its casync conversion (`rauc
 * convert`: the bundle holds a chunk index, the chunks go to `<name>.castr` beside it).
 */
export async function raucBundles(dir: string, o: { image: string; version: string; compatible: string; signer: ReturnType<typeof raucSigner> }) {
  const content = path.join(dir, `content-${o.version}`);
  fs.mkdirSync(content, { recursive: true });
  fs.copyFileSync(o.image, path.join(content, 'rootfs.ext4'));
  fs.writeFileSync(path.join(content, 'manifest.raucm'), `[update]\ncompatible=${o.compatible}\nversion=${o.version}\n\n[image.rootfs]\nfilename=rootfs.ext4\n`);
  const full = path.join(dir, `full-${o.version}.raucb`);
  const delta = path.join(dir, `delta-${o.version}.raucb`);
  const sign = ['--cert', o.signer.cert, '--key', o.signer.key];
  await run('rauc', ['bundle', ...sign, content, full], big);
  await run('rauc', ['convert', ...sign, '--keyring', o.signer.keyring, full, delta], big);
  fs.rmSync(content, { recursive: true, force: true });
  return { full, delta, chunks: delta.replace(/\.raucb$/, '.castr') };
}

// The device's RAUC service and one install, on a private bus: RAUC's CLI takes the session bus
// when DBUS_STARTER_BUS_TYPE=session (as RAUC's own test suite runs it), so no system D-Bus is needed.
const INSTALL = `set -u
export DBUS_STARTER_BUS_TYPE=session
rauc service --conf="$1" --override-boot-slot=A >"$3" 2>&1 &
svc=$!
for i in $(seq 100); do rauc status --conf="$1" >/dev/null 2>&1 && break; sleep 0.1; done
rauc install --conf="$1" "$2"; rc=$?
kill $svc; wait $svc
exit $rc
`;

// The bootloader as RAUC's custom backend sees it, with its state in files beside the slots.
const BOOTLOADER = `#!/bin/sh
state="$(dirname "$0")/boot"
mkdir -p "$state"
case "$1" in
  get-primary) cat "$state/primary" 2>/dev/null || echo A ;;
  set-primary) echo "$2" > "$state/primary" ;;
  get-state) cat "$state/state.$2" 2>/dev/null || echo good ;;
  set-state) echo "$3" > "$state/state.$2" ;;
  get-current) echo A ;;
  *) exit 1 ;;
esac
`;

/**
 * A device's update side, for real: RAUC (Debian's 1.8) with two file-backed ext4 slots holding
 * `installed`, booted from A, a custom bootloader backend, the vendor's keyring and the platform's
 * chunk store as its `[casync] storepath` — what the image's /etc/rauc/system.conf says on a device.
 */
export function raucDevice(dir: string, o: { keyring: string; storeUrl: string; compatible: string; installed: string; casyncArgs?: string }) {
  fs.mkdirSync(path.join(dir, 'mnt'), { recursive: true });
  fs.copyFileSync(o.installed, path.join(dir, 'slotA.ext4'));
  fs.copyFileSync(o.installed, path.join(dir, 'slotB.ext4'));
  fs.writeFileSync(path.join(dir, 'bootloader'), BOOTLOADER, { mode: 0o755 });
  fs.writeFileSync(path.join(dir, 'install.sh'), INSTALL);
  const conf = path.join(dir, 'system.conf');
  fs.writeFileSync(
    conf,
    [
      '[system]',
      `compatible=${o.compatible}`,
      'bootloader=custom',
      `mountprefix=${path.join(dir, 'mnt')}`,
      // One status file beside the slots: per-slot status files would be written into the new slot.
      `statusfile=${path.join(dir, 'status.raucs')}`,
      '[handlers]',
      `bootloader-custom-backend=${path.join(dir, 'bootloader')}`,
      '[keyring]',
      `path=${o.keyring}`,
      '[casync]',
      `storepath=${o.storeUrl}`,
      ...(o.casyncArgs ? [`install-args=${o.casyncArgs}`] : []),
      '[slot.rootfs.0]',
      `device=${path.join(dir, 'slotA.ext4')}`,
      'type=ext4',
      'bootname=A',
      '[slot.rootfs.1]',
      `device=${path.join(dir, 'slotB.ext4')}`,
      'type=ext4',
      'bootname=B',
      '',
    ].join('\n'),
  );
  return {
    slotB: path.join(dir, 'slotB.ext4'),
    /** `rauc install` of a downloaded bundle; resolves with its output, rejects with it and the service's log. */
    install: async (bundle: string): Promise<string> => {
      const log = path.join(dir, 'service.log');
      try {
        const r = await run('dbus-run-session', ['--', 'bash', path.join(dir, 'install.sh'), conf, bundle, log], { ...big, timeout: 300_000 });
        return r.stdout + r.stderr;
      } catch (err) {
        const e = err as { stdout?: string; stderr?: string };
        throw new Error(`rauc install failed: ${e.stdout ?? ''}${e.stderr ?? ''}\nservice: ${fs.existsSync(log) ? fs.readFileSync(log, 'utf8') : '(no log)'}`, { cause: err });
      }
    },
    /** The slot the bootloader starts next. */
    primary: () => fs.readFileSync(path.join(dir, 'boot', 'primary'), 'utf8').trim(),
  };
}
