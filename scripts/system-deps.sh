#!/usr/bin/env bash
# Install the real servers the integration tests start (Dovecot, mbsync, PostgreSQL, Chromium).
#
# Only what is missing is installed, and the script says what it found and what it did. It never
# stops, disables or restarts a service: the tests run their own private instances on free
# loopback ports, so a host's own PostgreSQL or Dovecot is left exactly as it was. Debian's
# packages may start a system-wide service when they are first installed; the script says so and
# leaves the decision to you (`systemctl disable --now dovecot postgresql` if you do not want it).
# Needs root (or sudo) only when something is missing.
set -euo pipefail
need=()
have=()
# SYSTEM_DEPS_ROOT: look for the programs under another root (the script's own test uses it).
root="${SYSTEM_DEPS_ROOT:-}"
check() { # check NAME PACKAGE COMMAND PATH...: present when COMMAND is on PATH or a PATH exists
  local name=$1 package=$2 cmd=$3
  shift 3
  if [ -z "$root" ] && [ -n "$cmd" ] && command -v "$cmd" >/dev/null 2>&1; then
    have+=("$name")
    return
  fi
  for path in "$@"; do
    if [ -x "$root$path" ]; then
      have+=("$name")
      return
    fi
  done
  need+=("$package")
}
check dovecot dovecot-imapd dovecot /usr/sbin/dovecot
check mbsync isync mbsync /usr/bin/mbsync
check postgresql-15 postgresql "" /usr/lib/postgresql/15/bin/initdb
check runuser util-linux runuser /usr/sbin/runuser /sbin/runuser /usr/bin/runuser
check chromium chromium "" /usr/bin/chromium
if [ ${#need[@]} -eq 0 ]; then
  echo "system-deps: all present (${have[*]}); nothing installed"
  exit 0
fi
echo "system-deps: present: ${have[*]:-none}; missing Debian packages: ${need[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
    echo "system-deps: need root to install ${need[*]}; those server tests will skip (and fail under CI=true)" >&2
    exit 0
  fi
fi
# Which services were running before: only to report afterwards what the packages started.
services=(dovecot postgresql)
before=()
if command -v systemctl >/dev/null 2>&1; then
  for s in "${services[@]}"; do
    systemctl is-active --quiet "$s" 2>/dev/null && before+=("$s")
  done
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
echo "system-deps: installed ${need[*]}"
if command -v systemctl >/dev/null 2>&1; then
  for s in "${services[@]}"; do
    if systemctl is-active --quiet "$s" 2>/dev/null && [[ " ${before[*]:-} " != *" $s "* ]]; then
      echo "system-deps: note: installing started the system service '$s'; the tests do not use" \
        "it (they start private servers). It was left running; stop it with" \
        "'systemctl disable --now $s' if you do not want it."
    fi
  done
fi
