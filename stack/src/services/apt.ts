import { execFileP } from '../proc.ts';

async function has(bin: string): Promise<boolean> {
  try {
    await execFileP('sh', ['-c', 'command -v "$1"', 'sh', bin]);
    return true;
  } catch {
    return false;
  }
}

/**
 * Installs Debian packages whose binaries are missing. As root it runs apt-get (updating the lists
 * once if the first try fails); otherwise it stops with the exact command to run.
 */
export async function ensureDebian(log: (m: string) => void, wanted: { bin: string; pkg: string }[]): Promise<void> {
  const missing: string[] = [];
  for (const w of wanted) if (!(await has(w.bin)) && !missing.includes(w.pkg)) missing.push(w.pkg);
  if (!missing.length) return;
  if (process.getuid?.() !== 0) {
    throw new Error(`missing Debian packages: run  sudo apt-get install -y ${missing.join(' ')}`);
  }
  log(`[install] apt-get install ${missing.join(' ')}`);
  const install = () =>
    // Waits for the dpkg lock: test files running in parallel may install their tools at once.
    execFileP('apt-get', ['-o', 'DPkg::Lock::Timeout=300', 'install', '-y', '--no-install-recommends', ...missing], {
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
      maxBuffer: 64 * 1024 * 1024,
    });
  try {
    await install();
  } catch {
    await execFileP('apt-get', ['-o', 'DPkg::Lock::Timeout=300', 'update'], { maxBuffer: 64 * 1024 * 1024 });
    await install();
  }
}
