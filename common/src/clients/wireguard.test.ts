import { describe, expect, it } from 'vitest';
import { UpstreamError } from '../errors.ts';
import { WireGuardClient, isCidr, isWgKey, parseDump, type Exec } from './wireguard.ts';

const PUB = 'xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=';
const PRIV = 'yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=';
// A peer another tool gave a preshared key: wg's dump shows it, the parser must read the line.
const PSK = 'FpCyhws9cxwWoV4xELtfJvjJN+zQVRPISllRWgeopVE=';

function fakeExec(out = '') {
  const calls: { cmd: string; args: string[]; stdin?: string }[] = [];
  const exec: Exec = async (cmd, args, stdin) => {
    calls.push({ cmd, args, stdin });
    return out;
  };
  return { exec, calls };
}

const DUMP = [`${PRIV}\t${PUB}\t51820\toff`, `${PUB}\t(none)\t10.214.0.10:41000\t10.77.0.2/32\t1700000000\t1024\t2048\t25`, `${PUB}\t${PSK}\t(none)\t10.77.0.3/32,fd00::3/128\t0\t0\t0\toff`].join(
  '\n',
);

describe('WireGuardClient', () => {
  it('sets a peer inside the namespace with execFile argv, no shell', async () => {
    const { exec, calls } = fakeExec();
    const wg = new WireGuardClient({ interface: 'wg0', netns: 'cdm-wg', exec });
    await wg.setPeer({ publicKey: PUB, allowedIps: ['10.77.0.2/32'], persistentKeepalive: 25 });
    expect(calls[0]).toMatchObject({
      cmd: 'ip',
      args: ['netns', 'exec', 'cdm-wg', 'wg', 'set', 'wg0', 'peer', PUB, 'allowed-ips', '10.77.0.2/32', 'persistent-keepalive', '25'],
    });
  });

  it('feeds the private key on stdin for pubkey, never as an argument', async () => {
    const { exec, calls } = fakeExec(`${PUB}\n`);
    const wg = new WireGuardClient({ interface: 'wg0', netns: 'cdm-wg', exec });
    expect(await wg.pubkey(PRIV)).toBe(PUB);
    expect(calls[0]).toMatchObject({ cmd: 'wg', args: ['pubkey'], stdin: `${PRIV}\n` });
  });

  it('removes a peer', async () => {
    const { exec, calls } = fakeExec();
    await new WireGuardClient({ interface: 'wg0', exec }).removePeer(PUB);
    expect(calls[0]!.args).toEqual(['set', 'wg0', 'peer', PUB, 'remove']);
  });

  it('sends the peer changes asked for while one wg set runs together in the next, in order', async () => {
    const keys = Array.from({ length: 6 }, (_, i) => `${String.fromCharCode(65 + i).repeat(42)}A=`);
    const calls: string[][] = [];
    let release: () => void = () => {};
    const exec: Exec = async (_cmd, args) => {
      calls.push(args);
      if (calls.length === 1) await new Promise<void>((r) => (release = r));
      return '';
    };
    const wg = new WireGuardClient({ interface: 'wg0', exec });
    const first = wg.setPeer({ publicKey: keys[0]!, allowedIps: ['10.77.0.1/32'] });
    const rest = [1, 2, 3, 4].map((i) => wg.setPeer({ publicKey: keys[i]!, allowedIps: [`10.77.0.${i + 1}/32`] }));
    const removed = wg.removePeer(keys[5]!);
    release();
    await Promise.all([first, ...rest, removed]);
    expect(calls).toEqual([
      ['set', 'wg0', 'peer', keys[0], 'allowed-ips', '10.77.0.1/32'],
      ['set', 'wg0', ...[1, 2, 3, 4].flatMap((i) => ['peer', keys[i], 'allowed-ips', `10.77.0.${i + 1}/32`]), 'peer', keys[5], 'remove'],
    ]);
  });

  it('fails only the change wg refused when a batch fails: the others go again one by one', async () => {
    const keys = Array.from({ length: 4 }, (_, i) => `${String.fromCharCode(75 + i).repeat(42)}A=`);
    const bad = keys[2]!;
    const calls: string[][] = [];
    let release: () => void = () => {};
    const exec: Exec = async (_cmd, args) => {
      calls.push(args);
      if (calls.length === 1) await new Promise<void>((r) => (release = r));
      if (args.includes(bad)) throw Object.assign(new Error('exit 1'), { stderr: 'Unable to modify interface: Invalid argument' });
      return '';
    };
    const wg = new WireGuardClient({ interface: 'wg0', exec });
    const results = keys.map((k, i) =>
      wg.setPeer({ publicKey: k, allowedIps: [`10.77.1.${i}/32`] }).then(
        () => 'ok',
        (e: Error) => e.message,
      ),
    );
    release();
    expect(await Promise.all(results)).toEqual([
      'ok',
      'ok',
      'WireGuard: wg set peer failed: Unable to modify interface: Invalid argument — is interface wg0 up? (local stack: npm run stack -- up wireguard)',
      'ok',
    ]);
    expect(calls.length).toBe(5); // the first, the failed batch of three, then each of the three alone
  });

  it('rejects malformed keys, CIDRs and names before anything runs', async () => {
    const { exec, calls } = fakeExec();
    const wg = new WireGuardClient({ interface: 'wg0', exec });
    await expect(wg.setPeer({ publicKey: 'x; rm -rf /', allowedIps: ['10.77.0.2/32'] })).rejects.toThrow(/public key/);
    await expect(wg.setPeer({ publicKey: PUB, allowedIps: ['10.77.0.2/32,0.0.0.0/0 '] })).rejects.toThrow(/allowed-ips/);
    expect(() => new WireGuardClient({ interface: 'wg0 up', exec })).toThrow(/interface/);
    expect(() => new WireGuardClient({ interface: 'wg0', netns: '../x y', exec })).toThrow(/netns/);
    expect(calls).toHaveLength(0);
  });

  it('wraps a failing wg in an UpstreamError with a hint', async () => {
    const exec: Exec = async () => {
      throw Object.assign(new Error('exit 1'), { stderr: 'Unable to access interface: No such device\n' });
    };
    const err = await new WireGuardClient({ interface: 'wg0', netns: 'cdm-wg', exec }).dump().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UpstreamError);
    expect((err as Error).message).toBe(
      'WireGuard: wg show dump failed: Unable to access interface: No such device — is interface wg0 up in netns cdm-wg? (local stack: npm run stack -- up wireguard)',
    );
  });

  it('says which package to install when the binary is missing', async () => {
    const err = await new WireGuardClient({ interface: 'wg0', wgPath: '/nonexistent/wg' }).genkey().catch((e: unknown) => e);
    expect((err as Error).message).toBe('WireGuard: wg genkey failed: /nonexistent/wg not found — install wireguard-tools (apt-get install wireguard-tools)');
  });

  it('generates real keys with the wg binary', async () => {
    const wg = new WireGuardClient({ interface: 'wg0' });
    const priv = await wg.genkey();
    expect(isWgKey(priv)).toBe(true);
    expect(isWgKey(await wg.pubkey(priv))).toBe(true);
  });
});

describe('parseDump', () => {
  it('parses the interface line and peers', () => {
    const d = parseDump(DUMP);
    expect(d).toMatchObject({ publicKey: PUB, listenPort: 51820 });
    expect(d.peers[0]).toEqual({
      publicKey: PUB,
      presharedKey: false,
      endpoint: '10.214.0.10:41000',
      allowedIps: ['10.77.0.2/32'],
      latestHandshake: 1700000000,
      rxBytes: 1024,
      txBytes: 2048,
      persistentKeepalive: 25,
    });
    expect(d.peers[1]).toMatchObject({ presharedKey: true, endpoint: undefined, allowedIps: ['10.77.0.3/32', 'fd00::3/128'] });
  });
});

describe('validators', () => {
  it('accepts only well-formed keys and CIDRs', () => {
    expect(isWgKey(PUB)).toBe(true);
    expect(isWgKey(`${PUB}x`)).toBe(false);
    expect(isCidr('10.77.0.2/32')).toBe(true);
    expect(isCidr('10.77.0.256/32')).toBe(false);
    expect(isCidr('10.77.0.2/33')).toBe(false);
    expect(isCidr('fd00::3/128')).toBe(true);
  });
});
