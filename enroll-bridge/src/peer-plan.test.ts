import { describe, expect, it } from 'vitest';
import { planPeers } from './peer-plan.ts';
import { parseCidr } from './pool.ts';

const pool = parseCidr('10.77.0.0/16');
const key = (c: string) => `${c.repeat(43)}=`;
const dev = (c: string, ip: string, o: { done?: boolean; decommissioning?: boolean } = {}) => ({
  wgPublicKey: key(c),
  wgIp: ip,
  wireguardDone: o.done ?? true,
  decommissioning: o.decommissioning ?? false,
});

describe('planPeers', () => {
  it('restores missing peers and corrects a wrong address; leaves right ones alone', () => {
    const plan = planPeers(
      [dev('A', '10.77.0.2'), dev('B', '10.77.0.3'), dev('C', '10.77.0.4')],
      [
        { publicKey: key('A'), allowedIps: ['10.77.0.2/32'] },
        { publicKey: key('B'), allowedIps: ['10.77.0.9/32'] },
      ],
      pool,
    );
    expect(plan).toEqual({
      set: [
        { publicKey: key('B'), allowedIps: ['10.77.0.3/32'] },
        { publicKey: key('C'), allowedIps: ['10.77.0.4/32'] },
      ],
      remove: [],
    });
  });

  it('removes a pool peer whose key no device holds; keeps peers outside the pool and enrollments under way', () => {
    const plan = planPeers(
      [dev('A', '10.77.0.2', { done: false })],
      [
        { publicKey: key('A'), allowedIps: ['10.77.0.2/32'] },
        { publicKey: key('S'), allowedIps: ['10.77.0.7/32'] },
        { publicKey: key('H'), allowedIps: ['192.168.5.0/24'] },
      ],
      pool,
    );
    expect(plan).toEqual({ set: [], remove: [key('S')] });
  });

  it('does not bring back the peer of a device being decommissioned', () => {
    expect(planPeers([dev('A', '10.77.0.2', { decommissioning: true })], [], pool)).toEqual({ set: [], remove: [] });
  });
});
