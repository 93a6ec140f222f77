import type { Service } from '../types.ts';

/**
 * The local stack, in start order. Each module owns one upstream: pinned version, install from a
 * registry this machine reaches (cached outside the repo), start on loopback, health, endpoint.
 */
export const services: Service[] = [];
