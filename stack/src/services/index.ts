import type { Service } from '../types.ts';
import { keycloak } from './keycloak.ts';
import { stepca } from './stepca.ts';
import { influxdb } from './influxdb.ts';
import { mosquitto } from './mosquitto.ts';
import { wireguard } from './wireguard.ts';
import { grafanaFake, hawkbitFake, influxdbV2Fake, thingsboardFake } from './fakes.ts';

/**
 * The local stack, in start order. Each module owns one upstream: pinned version, install from a
 * registry this machine reaches (cached outside the repo), start on loopback, health, endpoint.
 * Mosquitto comes after step-ca: its TLS listener uses a certificate from it; the InfluxDB 2 fake
 * after influxd, which it proxies to. ThingsBoard, Grafana and hawkBit cannot be obtained from the
 * registries this project's machines reach, so they are contract fakes (see README).
 */
export const services: Service[] = [keycloak, stepca, influxdb, mosquitto, wireguard, thingsboardFake, grafanaFake, hawkbitFake, influxdbV2Fake];
