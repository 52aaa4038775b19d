#!/usr/bin/env bash
# Installs everything k8ts and its tests need on Debian 12, as root, and builds k8ts.
# Idempotent: run it as often as you like; it only does what is missing.
#
#   Debian packages: nodejs + npm (only to bootstrap: the project pins Node 24 as an npm
#   package), etcd-server (the HA store backend, and its tests), wrk (the benchmarks' load).
#   npm packages: exactly those in package-lock.json (npm ci), then the build (dist/).
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf 'setup: %s\n' "$*" >&2; }

if [ "$(id -u)" != 0 ]; then
  log "run this as root (it installs Debian packages)"
  exit 1
fi

missing=()
command -v npm >/dev/null 2>&1 || missing+=(nodejs npm)
[ -x /usr/bin/etcd ] || missing+=(etcd-server)
command -v wrk >/dev/null 2>&1 || missing+=(wrk)

if [ ${#missing[@]} -gt 0 ]; then
  log "installing Debian packages: ${missing[*]}"
  # Debian's packages try to start their daemons on install; k8ts runs its own instances, so
  # keep them from starting (policy-rc.d exit 101 = "not allowed now").
  created_policy=0
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod 755 /usr/sbin/policy-rc.d
    created_policy=1
  fi
  cleanup() { if [ "$created_policy" = 1 ]; then rm -f /usr/sbin/policy-rc.d; fi; }
  trap cleanup EXIT
  export DEBIAN_FRONTEND=noninteractive
  # Wait for another apt run to let go of the lock rather than fail.
  apt_get() { apt-get -o DPkg::Lock::Timeout=300 "$@"; }
  if ! apt_get install -y --no-install-recommends "${missing[@]}" >/tmp/k8ts-setup-apt.log 2>&1; then
    apt_get update -qq
    apt_get install -y --no-install-recommends "${missing[@]}"
  fi
fi

# npm dependencies, including Node 24 itself (the npm package "node" puts it in node_modules/.bin).
if [ ! -x node_modules/.bin/node ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  log "installing npm packages (npm ci)"
  npm ci --no-audit --no-fund
fi

log "building"
npm run --silent build
log "ready: $(node_modules/.bin/node --version), etcd $(/usr/bin/etcd --version | head -1 | awk '{print $3}')"
