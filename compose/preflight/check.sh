#!/bin/sh
# Runs before every other service (they depend on it): refuses to start the platform while a
# setting is empty or still CHANGE_ME from .env.example. The bridges check again at their own start.
set -eu
bad=$(env | grep -E '^CDM_[A-Z0-9_]+=(CHANGE_ME.*)?$' | cut -d= -f1 | sort | tr '\n' ' ')
if [ -n "$bad" ]; then
  echo "cdm: still CHANGE_ME or empty in .env: $bad— set real values (openssl rand -base64 24)" >&2
  exit 78
fi
echo "cdm: settings checked"
