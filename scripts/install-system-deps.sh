#!/usr/bin/env bash
# Debian packages the tests need: Chromium (browser tests), Redis (multi-node
# LiveKit), and Asterisk sound packs (French/Spanish speech, music without speech).
set -euo pipefail
pkgs=(chromium redis-server asterisk-moh-opsound-g722 asterisk-core-sounds-en asterisk-core-sounds-en-g722 asterisk-core-sounds-fr asterisk-core-sounds-fr-g722 asterisk-core-sounds-es asterisk-core-sounds-es-g722)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get install -y --no-install-recommends "${missing[@]}" || {
  $SUDO apt-get update && $SUDO apt-get install -y --no-install-recommends "${missing[@]}"
}
