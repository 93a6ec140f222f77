#!/bin/sh
# Starts the bridge named by BRIDGE_DIR. Refuses the placeholder secrets of .env.example, and
# derives STEPCA_ROOT_FINGERPRINT from step-ca's root on the shared volume when it is not given
# (the root only exists after step-ca's first start).
set -eu
bad=$(env | grep -E '^[A-Za-z_][A-Za-z0-9_]*=CHANGE_ME' | cut -d= -f1 | head -n 1)
if [ -n "$bad" ]; then
  echo "cdm: $bad is still CHANGE_ME from .env.example: set a real value in .env" >&2
  exit 78
fi
if [ -z "${STEPCA_ROOT_FINGERPRINT:-}" ] && [ -n "${STEPCA_ROOT_CERT_FILE:-}" ]; then
  [ -r "$STEPCA_ROOT_CERT_FILE" ] || { echo "cdm: no step-ca root at $STEPCA_ROOT_CERT_FILE yet" >&2; exit 75; }
  STEPCA_ROOT_FINGERPRINT=$(openssl x509 -in "$STEPCA_ROOT_CERT_FILE" -noout -fingerprint -sha256 | cut -d= -f2 | tr -d ':' | tr 'A-F' 'a-f')
  export STEPCA_ROOT_FINGERPRINT
fi
exec node --import tsx "$BRIDGE_DIR/src/main.ts" "$@"
