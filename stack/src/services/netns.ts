import { execFile } from 'node:child_process';

/** `ip` and friends via execFile; `quiet` swallows errors for idempotent clean-up steps. */
export async function run(cmd: string, args: string[], opts: { quiet?: boolean; input?: string } = {}): Promise<string> {
  try {
    return await new Promise<string>((resolve, reject) => {
      const child = execFile(cmd, args, { timeout: 15_000 }, (err, stdout, stderr) => (err ? reject(Object.assign(err, { stderr: String(stderr) })) : resolve(String(stdout))));
      // A command that exits before reading stdin closes the pipe: ignore that, not crash.
      child.stdin?.on('error', () => {});
      child.stdin?.end(opts.input ?? '');
    });
  } catch (err) {
    if (opts.quiet) return '';
    const e = err as { stderr?: string; message: string };
    throw new Error(`${cmd} ${args.join(' ')}: ${(e.stderr ?? e.message).trim()}`, { cause: err });
  }
}

export const inNs = (ns: string, cmd: string, args: string[], opts: { quiet?: boolean } = {}) => run('ip', ['netns', 'exec', ns, cmd, ...args], opts);

export async function nsExists(ns: string): Promise<boolean> {
  return (await run('ip', ['netns', 'list'], { quiet: true })).split('\n').some((l) => l.split(' ')[0] === ns);
}

/** Polls until an interface exists in a namespace (wireguard-go creates it asynchronously). */
export async function waitForLink(ns: string, dev: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if ((await inNs(ns, 'ip', ['link', 'show', dev], { quiet: true })).includes(dev)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${dev} did not appear in netns ${ns} within ${timeoutMs} ms (is /dev/net/tun available?)`);
}
