#!/bin/sh
# Brings wg0 up with a persistent key (volume /etc/wireguard), then waits. Needs NET_ADMIN.
set -eu
umask 077
[ -s /etc/wireguard/hub.key ] || wg genkey > /etc/wireguard/hub.key
ip link add wg0 type wireguard 2>/dev/null || { wireguard-go wg0; sleep 1; }
wg set wg0 listen-port "${WG_LISTEN_PORT:-51820}" private-key /etc/wireguard/hub.key
ip addr replace "${WG_HUB_ADDRESS:-10.77.0.1/16}" dev wg0
ip link set wg0 up
echo "cdm wireguard hub: wg0 $(wg show wg0 public-key) on udp/${WG_LISTEN_PORT:-51820}"
exec sleep infinity
