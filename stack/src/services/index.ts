import type { Service } from '../types.ts';
import { keycloak } from './keycloak.ts';
import { stepca } from './stepca.ts';
import { influxdb } from './influxdb.ts';
import { mosquitto } from './mosquitto.ts';
import { wireguard } from './wireguard.ts';

/**
 * The local stack, in start order. Each module owns one upstream: pinned version, install from a
 * registry this machine reaches (cached outside the repo), start on loopback, health, endpoint.
 * Mosquitto comes after step-ca: its TLS listener uses a certificate from it.
 */
export const services: Service[] = [keycloak, stepca, influxdb, mosquitto, wireguard];
