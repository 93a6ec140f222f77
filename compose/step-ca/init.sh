#!/bin/bash
# step-ca for cdm. First start: `step ca init` with two passwords — CDM_STEPCA_PASSWORD encrypts the
# CA keys, CDM_STEPCA_PROVISIONER_PASSWORD the cdm-bridge provisioner's key (the one enroll-bridge,
# which faces the internet, holds). The image's own init uses one password for both: a compromised
# bridge would then hold the password of the CA keys.
# The keys live in $STEPPATH/secrets, a volume of its own that enroll-bridge does not mount; it sees
# the CA's public half (certs/, config/ca.json with the encrypted provisioner key).
set -euo pipefail
STEPPATH=${STEPPATH:-/home/step}
export STEPPATH
for v in CDM_STEPCA_PASSWORD CDM_STEPCA_PROVISIONER_PASSWORD; do
  case "${!v:-}" in ''|CHANGE_ME*) echo "cdm step-ca: $v is empty or still CHANGE_ME: set it in .env" >&2; exit 78 ;; esac
done
[ "$CDM_STEPCA_PASSWORD" != "$CDM_STEPCA_PROVISIONER_PASSWORD" ] || { echo "cdm step-ca: CDM_STEPCA_PROVISIONER_PASSWORD must differ from CDM_STEPCA_PASSWORD" >&2; exit 78; }
if [ ! -f "$STEPPATH/config/ca.json" ]; then
  umask 077
  mkdir -p "$STEPPATH/secrets"
  printf '%s' "$CDM_STEPCA_PASSWORD" > "$STEPPATH/secrets/password"
  prov=$(mktemp)
  trap 'rm -f "$prov"' EXIT
  printf '%s' "$CDM_STEPCA_PROVISIONER_PASSWORD" > "$prov"
  step ca init --name "${CDM_STEPCA_NAME:-cdm device CA}" --dns "${CDM_STEPCA_DNS_NAMES:-step-ca,localhost}" \
    --address "${CDM_STEPCA_ADDRESS:-:9000}" --provisioner cdm-bridge \
    --password-file "$STEPPATH/secrets/password" --provisioner-password-file "$prov" >&2
  rm -f "$prov"
fi
[ "${1:-}" = --init-only ] && exit 0
exec step-ca --password-file "$STEPPATH/secrets/password" "$STEPPATH/config/ca.json"
