#!/usr/bin/env bash
# Install the real servers the integration tests start (Dovecot, mbsync, PostgreSQL, Chromium).
# Idempotent: does nothing when they are present. Needs root (or sudo) for apt-get.
set -euo pipefail
need=()
command -v dovecot >/dev/null 2>&1 || [ -x /usr/sbin/dovecot ] || need+=(dovecot-imapd)
command -v mbsync >/dev/null 2>&1 || need+=(isync)
[ -x /usr/lib/postgresql/15/bin/initdb ] || need+=(postgresql)
command -v runuser >/dev/null 2>&1 || need+=(util-linux)
[ -x /usr/bin/chromium ] || need+=(chromium)
if [ ${#need[@]} -eq 0 ]; then
  exit 0
fi
echo "installing Debian packages: ${need[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
    echo "need root to install ${need[*]}; server tests will skip (and fail under CI=true)" >&2
    exit 0
  fi
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
# The packages may start system-wide services; the tests start their own private ones.
$SUDO systemctl disable --now dovecot postgresql >/dev/null 2>&1 || true
