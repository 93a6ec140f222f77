#!/bin/sh
# One PostgreSQL for Keycloak, ThingsBoard and hawkBit (single node); each gets its own database
# and role. Runs once, on the first start with an empty volume.
set -eu
for db in keycloak thingsboard hawkbit; do
  pw=$(eval "echo \${CDM_PG_${db}_PASSWORD}" | tr -d '\n')
  psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" <<SQL
CREATE ROLE ${db} LOGIN PASSWORD '${pw}';
CREATE DATABASE ${db} OWNER ${db};
SQL
done
