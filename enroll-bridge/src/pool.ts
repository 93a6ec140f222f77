/**
 * IPv4 arithmetic for the WireGuard address pool. Pure: which addresses a CIDR offers and the
 * lowest one not taken. The store decides atomically; this only computes.
 */
export interface Cidr {
  base: number; // network address as an unsigned 32-bit integer
  prefix: number;
}

export function parseCidr(s: string): Cidr {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(s.trim());
  if (!m) throw new Error(`"${s}" is not an IPv4 CIDR like 10.77.0.0/16`);
  const octets = m.slice(1, 5).map(Number);
  const prefix = Number(m[5]);
  if (octets.some((o) => o > 255) || prefix < 8 || prefix > 30) throw new Error(`"${s}": octets must be 0–255 and the prefix 8–30`);
  const ip = toInt(octets.join('.'));
  const mask = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
  if ((ip & mask) >>> 0 !== ip) throw new Error(`"${s}" has host bits set; did you mean ${toIp((ip & mask) >>> 0)}/${prefix}?`);
  return { base: ip, prefix };
}

export const toInt = (ip: string): number => ip.split('.').reduce((n, o) => ((n << 8) | Number(o)) >>> 0, 0);
export const toIp = (n: number): string => [24, 16, 8, 0].map((s) => (n >>> s) & 255).join('.');
export const cidrText = (c: Cidr): string => `${toIp(c.base)}/${c.prefix}`;

/** The first and last device address (as integers): after the hub (the first host), before the broadcast. */
export const firstDevice = (c: Cidr): number => c.base + 2;
export const lastDevice = (c: Cidr): number => c.base + 2 ** (32 - c.prefix) - 2;

/** Device addresses: every host address except the network, broadcast and the hub's (first host). */
export function poolSize(c: Cidr): number {
  return lastDevice(c) - firstDevice(c) + 1;
}

export function hubAddress(c: Cidr): string {
  return toIp(c.base + 1);
}

export function contains(c: Cidr, ip: string): boolean {
  const n = toInt(ip);
  return n >= firstDevice(c) && n <= lastDevice(c);
}
