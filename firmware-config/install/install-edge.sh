#!/usr/bin/env bash
# Install the Watchpost edge agent on a Raspberry Pi (Raspberry Pi OS / Debian), as root:
#
#   sudo ./install-edge.sh DEVICE.yaml DEVICE.pw [WHEEL_OR_SPEC]
#
# DEVICE.yaml comes from `watchpost config device` (firmware-config/sites/SITE/devices/),
# DEVICE.pw is its credential from the secrets folder. WHEEL_OR_SPEC defaults to
# 'watchpost[edge]'; pass a wheel file to install offline. Safe to run again (upgrades).
set -euo pipefail

usage() { sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }
[[ $# -ge 2 && $# -le 3 ]] || usage
[[ $(id -u) -eq 0 ]] || { echo "run as root (sudo)" >&2; exit 1; }

yaml=$1
secret=$2
spec=${3:-'watchpost[edge]'}
here=$(cd "$(dirname "$0")" && pwd)
prefix=/opt/watchpost
etc=/etc/watchpost

[[ -r $yaml ]] || { echo "cannot read $yaml" >&2; exit 1; }
[[ -r $secret ]] || { echo "cannot read $secret" >&2; exit 1; }
device=$(sed -n 's/^device:[[:space:]]*\([a-z0-9-]*\).*/\1/p' "$yaml" | head -n1)
[[ -n $device ]] || { echo "$yaml has no 'device:' line" >&2; exit 1; }

echo "== packages"
apt-get update -qq
apt-get install -y -qq python3 python3-venv python3-dev >/dev/null

echo "== user watchpost"
if ! id watchpost >/dev/null 2>&1; then
    useradd --system --home-dir /var/lib/watchpost --no-create-home \
        --shell /usr/sbin/nologin watchpost
fi
for group in gpio i2c spi; do
    if getent group "$group" >/dev/null; then usermod -a -G "$group" watchpost; fi
done

echo "== virtual environment in $prefix/venv"
install -d -m 0755 "$prefix"
[[ -x $prefix/venv/bin/python ]] || python3 -m venv "$prefix/venv"
"$prefix/venv/bin/pip" install --quiet --upgrade pip
"$prefix/venv/bin/pip" install --quiet --upgrade "$spec"

echo "== configuration in $etc"
install -d -m 0750 -o root -g watchpost "$etc" "$etc/secrets"
install -m 0640 -o root -g watchpost "$yaml" "$etc/device.yaml"
install -m 0640 -o root -g watchpost "$secret" "$etc/secrets/$device.pw"
"$prefix/venv/bin/watchpost" config validate "$etc/device.yaml"

echo "== systemd unit"
install -m 0644 "$here/watchpost-edge.service" /etc/systemd/system/watchpost-edge.service
systemctl daemon-reload
systemctl enable watchpost-edge.service
systemctl restart watchpost-edge.service
systemctl --no-pager --lines=5 status watchpost-edge.service || true
echo "installed $device; logs: journalctl -u watchpost-edge -f"
