#!/usr/bin/env bash
# cdm boot health check, baked into device images beside enroll.sh; cdm-health.service runs it at
# every boot. After an update RAUC boots the new slot on trial: this runs the image's checks (the
# executables in $HEALTH_HOOKS_DIR, e.g. 10-platform: can the device reach the platform, 20-app: the
# application's own self-test) up to $HEALTH_ATTEMPTS times. All pass: the slot is marked good
# (`rauc status mark-good`) and the update reported successful to hawkBit with the running version.
# One still fails after the last attempt: the slot is marked bad (`rauc status mark-bad`), the
# failure reported to hawkBit (DDI feedback: ota-bridge raises OTA Failure) and the device reboots,
# so the bootloader starts the previous slot.
#
# The update's hawkBit action is what the updater left in $CDM_STATE/ota-pending before rebooting
# (JSON {"actionId": 123, "version": "2.1.0"}); without it there is nothing to confirm and the
# checks still run, so a slot that turned bad is not kept as good.
#
# Needs: bash, curl, jq, rauc. Configuration: $CDM_ETC/device-config (HAWKBIT_URL, optional
# HAWKBIT_TENANT, HAWKBIT_CA_FILE, HEALTH_ATTEMPTS, HEALTH_RETRY_SECONDS, HEALTH_HOOK_TIMEOUT, REBOOT_CMD).
set -euo pipefail
umask 077

CDM_ETC=${CDM_ETC:-/etc/cdm}
CDM_STATE=${CDM_STATE:-/var/lib/cdm}
CONFIG=${CDM_CONFIG:-$CDM_ETC/device-config}

log() { printf 'cdm-health: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

[ -r "$CONFIG" ] || die "no configuration at $CONFIG"
# shellcheck disable=SC1090
. "$CONFIG"
HEALTH_HOOKS_DIR=${HEALTH_HOOKS_DIR:-$CDM_ETC/health.d}
HEALTH_ATTEMPTS=${HEALTH_ATTEMPTS:-3}
HEALTH_RETRY_SECONDS=${HEALTH_RETRY_SECONDS:-30}
HEALTH_HOOK_TIMEOUT=${HEALTH_HOOK_TIMEOUT:-60}
HAWKBIT_TENANT=${HAWKBIT_TENANT:-DEFAULT}
REBOOT_CMD=${REBOOT_CMD:-systemctl reboot}
PENDING=$CDM_STATE/ota-pending

for bin in curl jq rauc timeout; do command -v "$bin" >/dev/null || die "$bin not installed"; done
[[ $HEALTH_ATTEMPTS =~ ^[1-9][0-9]?$ ]] || die "HEALTH_ATTEMPTS must be 1..99"

# Runs every hook (sorted, executable files only), each with a time limit; prints what failed.
run_checks() {
  local hook out failed=0
  for hook in "$HEALTH_HOOKS_DIR"/*; do
    [ -f "$hook" ] && [ -x "$hook" ] || continue
    if ! out=$(timeout "$HEALTH_HOOK_TIMEOUT" "$hook" 2>&1); then
      printf '%s: %s\n' "$(basename "$hook")" "$(printf '%s' "$out" | tail -n 3 | tr '\n' ' ' | cut -c1-300)"
      failed=1
    fi
  done
  return $failed
}

# DDI feedback on the pending action (target token from enrollment); logged, never fatal: the slot
# decision is the device's and must not wait for the network.
feedback() {
  local finished=$1 details=$2 action controller token
  [ -r "$PENDING" ] || return 0
  action=$(jq -r '.actionId // empty | tostring' "$PENDING")
  [[ $action =~ ^[0-9]{1,18}$ ]] || { log "ignoring $PENDING: no action id"; return 0; }
  controller=$(jq -r '.deviceId // empty' "$CDM_STATE/enrollment.json" 2>/dev/null || true)
  token=$(cat "$CDM_STATE/hawkbit.token" 2>/dev/null || true)
  if [ -z "${HAWKBIT_URL:-}" ] || [ -z "$controller" ] || [ -z "$token" ]; then
    log "cannot report to hawkBit (HAWKBIT_URL, enrollment or token missing)"; return 0
  fi
  local body
  body=$(jq -n --arg f "$finished" --arg d "$details" '{status: {execution: "closed", result: {finished: $f}, details: ($d | split("\n") | map(select(length > 0)))}}')
  # The token goes in a header read from stdin (curl -H @-), never on the command line or in a URL.
  if printf 'Authorization: TargetToken %s\n' "$token" | curl -fsS --max-time 20 ${HAWKBIT_CA_FILE:+--cacert "$HAWKBIT_CA_FILE"} \
      -H @- -H 'Content-Type: application/json' -X POST --data-binary "$body" \
      "$HAWKBIT_URL/$HAWKBIT_TENANT/controller/v1/$controller/deploymentBase/$action/feedback" >/dev/null; then
    log "reported $finished for action $action to hawkBit"
  else
    log "could not report $finished for action $action to hawkBit"
  fi
}

booted=$(rauc status --output-format=json | jq -r '.booted // empty')
[ -n "$booted" ] || die "rauc does not say which slot is booted"
version=$(jq -r '.version // empty' "$PENDING" 2>/dev/null || true)

attempt=1
while :; do
  if failures=$(run_checks); then
    rauc status mark-good >/dev/null
    log "slot $booted healthy (attempt $attempt of $HEALTH_ATTEMPTS): marked good"
    feedback success "booted slot $booted healthy${version:+, running $version}"
    rm -f "$PENDING"
    exit 0
  fi
  log "slot $booted: checks failed (attempt $attempt of $HEALTH_ATTEMPTS): $failures"
  [ "$attempt" -lt "$HEALTH_ATTEMPTS" ] || break
  attempt=$((attempt + 1))
  sleep "$HEALTH_RETRY_SECONDS"
done

rauc status mark-bad >/dev/null
log "slot $booted failed its health checks $HEALTH_ATTEMPTS times: marked bad, rebooting into the previous slot"
feedback failure "slot $booted failed its health checks $HEALTH_ATTEMPTS times; rolled back to the previous slot
$failures"
rm -f "$PENDING"
# shellcheck disable=SC2086
exec $REBOOT_CMD
