import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export class BadBundle extends Error {}

/**
 * A RAUC bundle is the image (squashfs) followed by a detached CMS signature over it and the
 * signature's size as a big-endian 64-bit number. Verifies that signature against the keyring
 * with openssl (execFile, no shell), as RAUC does on the device, so a bundle the fleet would
 * refuse never reaches hawkBit.
 */
export async function verifyRaucBundle(bundle: string, keyring: string): Promise<void> {
  const size = fs.statSync(bundle).size;
  if (size < 16) throw new BadBundle(`${bundle} is too small to be a RAUC bundle`);
  const fd = fs.openSync(bundle, 'r');
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'cdm-rauc-'));
  try {
    const tail = Buffer.alloc(8);
    fs.readSync(fd, tail, 0, 8, size - 8);
    const sigSize = Number(tail.readBigUInt64BE());
    if (sigSize <= 0 || sigSize > Math.min(size - 8, 1024 * 1024)) throw new BadBundle(`${bundle} has no RAUC signature (size field ${sigSize})`);
    const sig = Buffer.alloc(sigSize);
    fs.readSync(fd, sig, 0, sigSize, size - 8 - sigSize);
    fs.writeFileSync(path.join(work, 'sig.der'), sig);
    // The signed content is everything before the signature: a copy cut to that length.
    const content = path.join(work, 'content');
    fs.copyFileSync(bundle, content);
    fs.truncateSync(content, size - 8 - sigSize);
    try {
      // Only the keyring: not the system's CA directory or store (-no-CApath -no-CAstore), and the
      // signer must be fit for signing (openssl's default S/MIME signing purpose, not "any").
      await run(
        'openssl',
        ['cms', '-verify', '-binary', '-inform', 'DER', '-in', path.join(work, 'sig.der'), '-content', content, '-CAfile', keyring, '-no-CApath', '-no-CAstore', '-out', path.join(work, 'out')],
        { maxBuffer: 1024 * 1024 },
      );
    } catch (err) {
      const why =
        String((err as { stderr?: string }).stderr ?? '')
          .split('\n')
          .find((l) => /error|fail/i.test(l)) ?? 'openssl refused it';
      throw new BadBundle(`RAUC signature of ${path.basename(bundle)} does not verify against ${keyring}: ${why.trim()}`);
    }
  } finally {
    fs.closeSync(fd);
    fs.rmSync(work, { recursive: true, force: true });
  }
}
