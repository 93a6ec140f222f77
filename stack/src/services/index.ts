import type { Service } from '../types.ts';
import { keycloak } from './keycloak.ts';
import { stepca } from './stepca.ts';
import { influxdb } from './influxdb.ts';
import { mosquitto } from './mosquitto.ts';
import { wireguard } from './wireguard.ts';
import { postgres } from './postgres.ts';
import { thingsboard } from './thingsboard.ts';
import { hawkbit } from './hawkbit.ts';
import { grafanaFake, influxdbV2Fake } from './fakes.ts';

/**
 * The local stack, in start order. Each module owns one upstream: pinned version, install from a
 * registry this machine reaches or from the pinned source (cached outside the repo), start on
 * loopback, health, endpoint. Mosquitto and ThingsBoard come after step-ca (their TLS listeners use
 * its certificates), ThingsBoard after its PostgreSQL, the InfluxDB 2 fake after influxd, which it
 * proxies to. Grafana and InfluxDB 2's management API cannot be obtained here: contract fakes.
 */
export const services: Service[] = [keycloak, stepca, influxdb, mosquitto, wireguard, postgres, thingsboard, hawkbit, grafanaFake, influxdbV2Fake];
