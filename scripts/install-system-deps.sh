#!/usr/bin/env bash
# Install the Debian packages Watchpost's demo and tests run for real: Mosquitto, InfluxDB 1.x,
# Chromium (web pages), PostgreSQL (multi-hub store), espeak-ng and sox (spoken prompts). Idempotent; fails loudly, never skips.
set -euo pipefail

need=()
command -v mosquitto >/dev/null 2>&1 || [ -x /usr/sbin/mosquitto ] || need+=(mosquitto)
command -v influxd >/dev/null 2>&1 || need+=(influxdb)
command -v chromium >/dev/null 2>&1 || need+=(chromium)
fc-list 2>/dev/null | grep -qi "wenquanyi\|wqy" || need+=(fonts-wqy-microhei)  # CJK glyphs for screenshots
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql)
command -v espeak-ng >/dev/null 2>&1 || need+=(espeak-ng)  # spoken prompts (edge/voice.py)
command -v sox >/dev/null 2>&1 || need+=(sox)  # measures the rendered prompts in tests

if [ ${#need[@]} -eq 0 ]; then
  exit 0
fi
echo "watchpost: installing Debian packages: ${need[*]}"
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO=sudo; else
    echo "watchpost: need root to install ${need[*]}; run: apt-get install -y ${need[*]}" >&2
    exit 1
  fi
else
  SUDO=
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends "${need[@]}"
# Debian may start the packaged services; Watchpost starts its own on free loopback ports.
for svc in mosquitto influxdb postgresql; do
  if command -v systemctl >/dev/null 2>&1; then $SUDO systemctl stop "$svc" >/dev/null 2>&1 || true; fi
done
