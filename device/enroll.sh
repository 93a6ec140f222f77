#!/usr/bin/env bash
# cdm device enrollment, baked into device images. Zero-touch: at first boot it derives the device
# id from the hardware serial, makes its keys here (they never leave the device), checks the CA
# root against the fingerprint shipped in the image, enrolls with the tenant claim and brings the
# WireGuard tunnel up.
#
#   enroll.sh [enroll]   enroll if not yet enrolled, then bring the tunnel up (first boot, every boot)
#   enroll.sh renew      renew the certificate over mTLS when it expires within RENEW_BEFORE_DAYS
#                        (--force: now); the systemd timer in device/systemd runs this daily
#   enroll.sh up         bring the tunnel up from what is installed
#
# Needs: bash, openssl, curl (>= 7.55), jq, wg (wireguard-tools), ip; wireguard-go if the kernel
# has no WireGuard module. Configuration: $CDM_ETC/device-config (shell KEY=value lines).
set -euo pipefail
umask 077

CDM_ETC=${CDM_ETC:-/etc/cdm}
CDM_STATE=${CDM_STATE:-/var/lib/cdm}
CONFIG=${CDM_CONFIG:-$CDM_ETC/device-config}
WG_IF=${CDM_WG_IF:-cdm0}

log() { printf 'cdm-enroll: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

[ -r "$CONFIG" ] || die "no configuration at $CONFIG (BRIDGE_API_URL, ROOT_FINGERPRINT, ...)"
# shellcheck disable=SC1090
. "$CONFIG"
: "${BRIDGE_API_URL:?BRIDGE_API_URL missing in $CONFIG}"
: "${ROOT_FINGERPRINT:?ROOT_FINGERPRINT missing in $CONFIG}"
SERIAL_SOURCE=${SERIAL_SOURCE:-/sys/class/dmi/id/product_serial}
CLAIM_FILE=${CLAIM_FILE:-$CDM_ETC/claim}
# Second claim method: a factory (bootstrap) certificate, CN = device id, presented as TLS client
# certificate; used when there is no claim file. Its key never leaves the device either.
FACTORY_CERT=${FACTORY_CERT:-$CDM_ETC/factory.crt}
FACTORY_KEY=${FACTORY_KEY:-$CDM_ETC/factory.key}
# Remote terminal: the host key the gateway pins, and where the gateway's key is authorised.
SSH_HOST_KEY_FILE=${SSH_HOST_KEY_FILE:-/etc/ssh/ssh_host_ed25519_key.pub}
AUTHORIZED_KEYS_FILE=${AUTHORIZED_KEYS_FILE:-/root/.ssh/authorized_keys}
# Renew when less than a third of the certificate's lifetime is left (or RENEW_BEFORE_DAYS, if set).
RENEW_BEFORE_DAYS=${RENEW_BEFORE_DAYS:-}
ATTEMPTS=${ATTEMPTS:-8}

for bin in openssl curl jq wg ip; do command -v "$bin" >/dev/null || die "$bin not installed"; done
mkdir -p "$CDM_STATE"
# Trust the pinned root and nothing else: curl and openssl would also read the system's CA
# directory, where any public CA could vouch for a fake bridge.
NO_CAPATH=$CDM_STATE/.no-ca-path
mkdir -p "$NO_CAPATH"

device_id() {
  local src raw
  for src in $SERIAL_SOURCE /proc/device-tree/serial-number; do
    [ -r "$src" ] || continue
    raw=$(tr -d '\000\r\n\t ' < "$src")
    [ -n "$raw" ] && break
  done
  [ -n "${raw:-}" ] || die "no hardware serial in $SERIAL_SOURCE or /proc/device-tree/serial-number"
  raw="${DEVICE_ID_PREFIX:-}$raw"
  [[ $raw =~ ^[A-Za-z0-9][A-Za-z0-9._-]{2,63}$ ]] || die "serial \"$raw\" has characters outside [A-Za-z0-9._-] or a bad length"
  printf '%s' "$raw"
}

# The root is fetched without trust, then trusted only if its SHA-256 matches the image's
# fingerprint — and only that one certificate is kept: anything else the answer carried (a second
# certificate after the pinned one) is dropped, not trusted along with it.
trusted_root() {
  local root=$CDM_STATE/root_ca.crt tmp fp
  if [ -s "$root" ]; then printf '%s' "$root"; return; fi
  tmp=$(mktemp -d)
  curl -fsS --insecure --max-time 20 --max-filesize 65536 "$BRIDGE_API_URL/v1/root.pem" -o "$tmp/fetched" || { rm -rf "$tmp"; die "cannot fetch the CA root from $BRIDGE_API_URL"; }
  openssl x509 -in "$tmp/fetched" -out "$tmp/root.crt" 2>/dev/null || { rm -rf "$tmp"; die "the bridge's root.pem holds no certificate"; }
  fp=$(openssl x509 -in "$tmp/root.crt" -outform DER | openssl dgst -sha256 -r | cut -d' ' -f1)
  [ "$fp" = "$(tr 'A-F' 'a-f' <<<"${ROOT_FINGERPRINT//:/}")" ] || { rm -rf "$tmp"; die "CA root fingerprint $fp does not match ROOT_FINGERPRINT: refusing to trust it"; }
  mv "$tmp/root.crt" "$root"; rm -rf "$tmp"
  printf '%s' "$root"
}

# A certificate (chain in $1) verified against the pinned root only.
verify_chain() {
  openssl verify -no-CApath -no-CAstore -CAfile "$ROOT" -untrusted "$1" "$1" >/dev/null 2>&1
}

# POST JSON with retries (network errors, 429, 5xx); 4xx other than 429 is final. $1 path, $2 body
# file, rest: extra curl arguments. Prints the response body; fails with the bridge's reason.
post() {
  local path=$1 body=$2; shift 2
  local out code attempt=1 wait=2
  out=$(mktemp)
  while :; do
    code=$(curl -sS --max-time 60 --cacert "$ROOT" --capath "$NO_CAPATH" --max-filesize 1048576 -o "$out" -w '%{http_code}' -H 'Content-Type: application/json' --data-binary "@$body" "$@" "$BRIDGE_API_URL$path" || echo 000)
    if [ "$code" = 200 ]; then cat "$out"; rm -f "$out"; return 0; fi
    local reason; reason=$(jq -r '.error // empty' "$out" 2>/dev/null || true)
    if [[ $code =~ ^4 && $code != 429 ]] || [ "$attempt" -ge "$ATTEMPTS" ]; then
      rm -f "$out"; die "bridge answered $code${reason:+: $reason}"
    fi
    log "bridge answered $code${reason:+ ($reason)}; retrying in ${wait}s ($attempt/$ATTEMPTS)"
    sleep "$wait"; attempt=$((attempt + 1)); wait=$((wait * 2 > 60 ? 60 : wait * 2))
  done
}

# Every field of the bridge's answer that reaches a file, a command or the network configuration,
# checked before anything is written: a hostile or broken bridge gets nothing in.
B64KEY='^[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=$'
IPV4='(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])(\.(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])){3}'
check_answer() {
  local a=$1 id=$2 v
  jq -e 'type == "object"' "$a" >/dev/null 2>&1 || die "the bridge's answer is not a JSON object"
  field() { jq -r "if ($1 | type) == \"string\" then $1 else \"\" end" "$a"; }
  [ "$(field .deviceId)" = "$id" ] || die "the answer is for another device ($(field .deviceId | head -c 64))"
  [[ $(field .tenantId) =~ ^[A-Za-z0-9._-]{1,64}$ ]] || die "bad tenantId in the answer"
  [[ $(field .wireguard.address) =~ ^${IPV4}/32$ ]] || die "bad wireguard.address in the answer"
  [[ $(field .wireguard.serverPublicKey) =~ $B64KEY ]] || die "bad wireguard.serverPublicKey in the answer"
  [[ $(field .wireguard.endpoint) =~ ^([A-Za-z0-9-]+\.)*[A-Za-z0-9-]+:[0-9]{1,5}$ ]] || die "bad wireguard.endpoint in the answer"
  jq -e '.wireguard.allowedIps | type == "array" and length >= 1 and length <= 8' "$a" >/dev/null || die "bad wireguard.allowedIps in the answer"
  for v in $(jq -r '.wireguard.allowedIps[] | tostring' "$a"); do
    [[ $v =~ ^${IPV4}/([0-9]|[12][0-9]|3[0-2])$ && $v != 0.0.0.0/* ]] || die "bad wireguard.allowedIps entry in the answer"
  done
  [[ $(field .certificate.serial) =~ ^[0-9]{1,60}$ ]] || die "bad certificate.serial in the answer"
  [[ $(field .certificate.notAfter) =~ ^[0-9T:.+Z-]{10,40}$ ]] || die "bad certificate.notAfter in the answer"
  v=$(field .hawkbit.securityToken); [[ -z $v || $v =~ ^[A-Za-z0-9]{8,128}$ ]] || die "bad hawkbit.securityToken in the answer"
  for v in org bucket token; do [[ $(field .influxdb.$v) =~ ^[A-Za-z0-9._=-]{1,200}$ ]] || die "bad influxdb.$v in the answer"; done
  if jq -e '.terminal != null' "$a" >/dev/null; then
    [[ $(field .terminal.from) =~ ^${IPV4}$ ]] || die "bad terminal.from in the answer"
    # One line: a newline would add an authorized_keys line without restrictions.
    [[ $(field .terminal.authorizedKey) =~ ^(ssh-ed25519|ecdsa-sha2-nistp(256|384))\ [A-Za-z0-9+/]{60,400}={0,2}(\ [!-~]{1,64})?$ ]] || die "bad terminal.authorizedKey in the answer"
  fi
}

# Writes the files of an enrollment answer into a new directory, then swaps it in: a crash leaves
# either the old state or the new one.
install_answer() {
  local answer=$1 new=$CDM_STATE/.new
  check_answer "$answer" "$2"
  rm -rf "$new"; mkdir -p "$new"
  jq -r '.certificate.chain' "$answer" > "$new/device.crt"
  jq -r '.hawkbit.securityToken // empty' "$answer" > "$new/hawkbit.token"
  jq '{org: .influxdb.org, bucket: .influxdb.bucket, token: .influxdb.token}' "$answer" > "$new/influxdb.json"
  jq '{deviceId, tenantId, address: .wireguard.address, endpoint: .wireguard.endpoint, serverPublicKey: .wireguard.serverPublicKey, allowedIps: .wireguard.allowedIps, serial: .certificate.serial, notAfter: .certificate.notAfter}' "$answer" > "$new/enrollment.json"
  verify_chain "$new/device.crt" || die "the issued certificate does not chain to the pinned root"
  for f in device.crt hawkbit.token influxdb.json enrollment.json; do mv -f "$new/$f" "$CDM_STATE/$f"; done
  rmdir "$new"
  install_terminal_key "$answer"
}

# The terminal gateway's key, allowed only from the hub's address and only for a terminal; replaces
# an earlier cdm line, keeps everything else in the file.
install_terminal_key() {
  local key from tmp
  key=$(jq -r '.terminal.authorizedKey // empty' "$1"); from=$(jq -r '.terminal.from // empty' "$1")
  [ -n "$key" ] || return 0  # checked by check_answer
  mkdir -p "$(dirname "$AUTHORIZED_KEYS_FILE")"; chmod 700 "$(dirname "$AUTHORIZED_KEYS_FILE")"
  tmp=$(mktemp "$AUTHORIZED_KEYS_FILE.XXXX")
  { grep -v ' cdm-terminal-gateway$' "$AUTHORIZED_KEYS_FILE" 2>/dev/null || true
    printf 'from="%s",restrict,pty %s cdm-terminal-gateway\n' "$from" "$(printf '%s' "$key" | cut -d' ' -f1-2)"; } > "$tmp"
  chmod 600 "$tmp"; mv -f "$tmp" "$AUTHORIZED_KEYS_FILE"
  log "terminal gateway key authorised from $from"
}

# A certificate request with a fresh random challengePassword: the bridge accepts each request once,
# so every attempt is a new signature by the device key (a replayed request proves nothing).
new_csr() {
  local id=$1 work=$2
  printf '[req]\nprompt = no\ndistinguished_name = dn\nattributes = attrs\n[dn]\nCN = %s\n[attrs]\nchallengePassword = %s\n' \
    "$id" "$(openssl rand -hex 16)" > "$work/csr.cnf"
  openssl req -new -key "$CDM_STATE/device.key" -config "$work/csr.cnf" -out "$work/csr.pem"
}

enroll() {
  local id; id=$(device_id)
  if [ -s "$CDM_STATE/enrollment.json" ] && [ "$(jq -r .deviceId "$CDM_STATE/enrollment.json")" = "$id" ]; then
    log "$id already enrolled"; return 0
  fi
  local voucher=()
  if [ -r "$CLAIM_FILE" ]; then voucher=(claim)
  elif [ -r "$FACTORY_CERT" ] && [ -r "$FACTORY_KEY" ]; then voucher=(--cert "$FACTORY_CERT" --key "$FACTORY_KEY")
  else die "no enrollment claim at $CLAIM_FILE and no factory certificate at $FACTORY_CERT"
  fi
  [ -s "$CDM_STATE/device.key" ] || openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$CDM_STATE/device.key" 2>/dev/null
  [ -s "$CDM_STATE/wg.key" ] || wg genkey > "$CDM_STATE/wg.key"
  local work; work=$(mktemp -d); trap 'rm -rf "$work"' RETURN
  new_csr "$id" "$work"
  local hostkey=''
  [ -r "$SSH_HOST_KEY_FILE" ] && hostkey=$(cut -d' ' -f1-2 < "$SSH_HOST_KEY_FILE")
  jq -n --arg d "$id" --rawfile csr "$work/csr.pem" --arg wg "$(wg pubkey < "$CDM_STATE/wg.key")" --arg hk "$hostkey" \
    '{deviceId: $d, csr: $csr, wgPublicKey: $wg} + (if $hk == "" then {} else {sshHostKey: $hk} end)' > "$work/body.json"
  if [ "${voucher[0]}" = claim ]; then
    # The claim goes in a header file, never on a command line (visible in ps) or in a URL.
    printf 'Authorization: Bearer %s\n' "$(tr -d '\r\n ' < "$CLAIM_FILE")" > "$work/auth"
    voucher=(-H "@$work/auth")
  fi
  log "enrolling $id with $BRIDGE_API_URL ($([ "${voucher[0]}" = --cert ] && echo 'factory certificate' || echo 'claim'))"
  post /v1/enroll "$work/body.json" "${voucher[@]}" > "$work/answer.json"
  install_answer "$work/answer.json" "$id"
  # Used: a claim left in the image would let anyone with a copy of it enroll as this tenant.
  [ "${voucher[0]}" = --cert ] || rm -f "$CLAIM_FILE" 2>/dev/null || log "could not remove the used claim $CLAIM_FILE: remove it from the image's writable copy"
  log "enrolled $id: $(jq -r .address "$CDM_STATE/enrollment.json"), certificate until $(jq -r .notAfter "$CDM_STATE/enrollment.json")"
}

up() {
  [ -s "$CDM_STATE/enrollment.json" ] || die "not enrolled"
  local e=$CDM_STATE/enrollment.json conf
  if ! ip link show "$WG_IF" >/dev/null 2>&1; then
    ip link add "$WG_IF" type wireguard 2>/dev/null || {
      command -v wireguard-go >/dev/null || die "no WireGuard kernel module and no wireguard-go"
      wireguard-go "$WG_IF" >/dev/null 2>&1
      for _ in $(seq 50); do ip link show "$WG_IF" >/dev/null 2>&1 && break; sleep 0.1; done
    }
  fi
  # The private key goes from its file straight to wg: no copy of it in a temporary file.
  wg set "$WG_IF" private-key "$CDM_STATE/wg.key" peer "$(jq -r .serverPublicKey "$e")" \
    endpoint "$(jq -r .endpoint "$e")" allowed-ips "$(jq -r '.allowedIps | join(",")' "$e")" persistent-keepalive 25
  ip addr replace "$(jq -r .address "$e")" dev "$WG_IF"
  ip link set "$WG_IF" up
  for net in $(jq -r '.allowedIps[]' "$e"); do ip route replace "$net" dev "$WG_IF"; done
  log "tunnel $WG_IF up as $(jq -r .address "$e")"
}

renew() {
  local force=${1:-} e=$CDM_STATE/enrollment.json
  [ -s "$e" ] || die "not enrolled"
  local start end window
  start=$(date -d "$(openssl x509 -in "$CDM_STATE/device.crt" -noout -startdate | cut -d= -f2)" +%s)
  end=$(date -d "$(openssl x509 -in "$CDM_STATE/device.crt" -noout -enddate | cut -d= -f2)" +%s)
  window=$(( ${RENEW_BEFORE_DAYS:-0} > 0 ? RENEW_BEFORE_DAYS * 86400 : (end - start) / 3 ))
  if [ "$force" != --force ] && openssl x509 -in "$CDM_STATE/device.crt" -noout -checkend "$window" >/dev/null; then
    log "certificate valid until $(date -u -d "@$end" +%FT%TZ), renewal due in the last $((window / 3600)) h; nothing to do"; return 0
  fi
  local work; work=$(mktemp -d); trap 'rm -rf "$work"' RETURN
  new_csr "$(jq -r .deviceId "$e")" "$work"
  jq -n --rawfile csr "$work/csr.pem" '{csr: $csr}' > "$work/body.json"
  post /v1/renew "$work/body.json" --cert "$CDM_STATE/device.crt" --key "$CDM_STATE/device.key" > "$work/answer.json"
  jq -r .chain "$work/answer.json" > "$work/device.crt"
  [[ $(jq -r '.serial | tostring' "$work/answer.json") =~ ^[0-9]{1,60}$ ]] || die "bad serial in the renewal answer"
  verify_chain "$work/device.crt" || die "the renewed certificate does not chain to the pinned root"
  jq --slurpfile a "$work/answer.json" '.serial = $a[0].serial | .notAfter = $a[0].notAfter' "$e" > "$work/enrollment.json"
  mv -f "$work/device.crt" "$CDM_STATE/device.crt"
  mv -f "$work/enrollment.json" "$e"
  log "renewed: certificate until $(jq -r .notAfter "$e")"
}

ROOT=$(trusted_root)
case "${1:-enroll}" in
  enroll) enroll; up ;;
  up) up ;;
  renew) renew "${2:-}" ;;
  *) die "usage: enroll.sh [enroll|up|renew [--force]]" ;;
esac
