#!/bin/sh
# One PostgreSQL for Keycloak, ThingsBoard and hawkBit (single node); each gets its own database
# and role. Runs once, on the first start with an empty volume. The password reaches SQL as a psql
# variable (:'pw' quotes it as a literal), never pasted into the statement: a quote in a password
# cannot end the string.
set -eu
for db in ${CDM_PG_DATABASES:-keycloak thingsboard hawkbit}; do
  pw=$(printenv "CDM_PG_${db}_PASSWORD") || { echo "cdm: CDM_PG_${db}_PASSWORD is not set" >&2; exit 78; }
  psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" -v db="$db" -v pw="$pw" <<'SQL'
CREATE ROLE :"db" LOGIN PASSWORD :'pw';
CREATE DATABASE :"db" OWNER :"db";
SQL
done
