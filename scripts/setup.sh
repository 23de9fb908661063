#!/usr/bin/env bash
# Sets up Treffpunkt on a fresh Debian 12 machine, and does nothing that is already done:
#   1. Debian packages: for --test also Chromium and Firefox ESR with Xvfb (end-to-end tests), ffmpeg (RTP
#      test source), coturn, nats-server (edge cluster), tinyproxy, nftables/iptables/iproute2 (network
#      namespaces), systemd (systemd-analyze verify);
#   2. node_modules from package-lock.json (brings Node 24 as node_modules/.bin/node);
#   3. the mediasoup worker, built offline from Debian packages and cached outside node_modules
#      (tools/build-mediasoup-worker.sh), unless MEDIASOUP_WORKER_BIN already names a worker;
#   4. the browser app bundle (dist/web) and the Worker bundle for workerd (dist/worker).
# Usage: scripts/setup.sh [--test]
# Environment: TREFFPUNKT_CACHE_DIR (default ~/.cache/treffpunkt), MEDIASOUP_WORKER_BIN (use this worker).
set -Eeuo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
WITH_TEST=0
[[ "${1:-}" == "--test" ]] && WITH_TEST=1

log() { printf '[setup] %s\n' "$*"; }
die() { printf '[setup] ERROR: %s\n' "$*" >&2; exit 1; }

MS_VERSION=$(sed -n 's/^ *"mediasoup": *"\([0-9.]*\)".*/\1/p' package.json | head -1)
[[ -n "$MS_VERSION" ]] || die "package.json must pin mediasoup to an exact version"
CACHE=${TREFFPUNKT_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/treffpunkt}
export MEDIASOUP_WORKER_BIN=${MEDIASOUP_WORKER_BIN:-$CACHE/mediasoup-worker-$MS_VERSION}
mkdir -p "$CACHE"

# --- 1. Debian packages -------------------------------------------------------------------------
apt_pkgs=()
if [[ $WITH_TEST == 1 ]]; then
  command -v chromium >/dev/null || apt_pkgs+=(chromium)
  command -v ffmpeg >/dev/null || apt_pkgs+=(ffmpeg)
  command -v turnutils_uclient >/dev/null || apt_pkgs+=(coturn)
  command -v openssl >/dev/null || apt_pkgs+=(openssl)
  command -v nats-server >/dev/null || apt_pkgs+=(nats-server)
  command -v firefox-esr >/dev/null || apt_pkgs+=(firefox-esr)
  command -v Xvfb >/dev/null || apt_pkgs+=(xvfb)
  command -v tinyproxy >/dev/null || apt_pkgs+=(tinyproxy)
  command -v systemd-analyze >/dev/null || apt_pkgs+=(systemd)
  command -v nft >/dev/null || apt_pkgs+=(nftables)
  command -v iptables >/dev/null || apt_pkgs+=(iptables)
  command -v tc >/dev/null || apt_pkgs+=(iproute2)
fi
if ((${#apt_pkgs[@]})); then
  [[ $(id -u) == 0 ]] || SUDO=sudo
  log "apt-get install ${apt_pkgs[*]}"
  ${SUDO:-} apt-get update -q >/dev/null
  DEBIAN_FRONTEND=noninteractive ${SUDO:-} apt-get install -y -q --no-install-recommends "${apt_pkgs[@]}" >/dev/null
fi
# coturn for npm start too (TURN over UDP, TCP and TLS; docs/turn.md): best effort outside --test, since
# without it npm start falls back to the embedded TURN server. Debian starts a system coturn service of
# its own on 3478 where systemd runs; the media node runs its own turnserver, so that one is disabled.
if ! command -v turnserver >/dev/null; then
  [[ $(id -u) == 0 ]] || SUDO=sudo
  log "apt-get install coturn openssl (TURN over TCP and TLS; npm start falls back to the embedded server without it)"
  if { ${SUDO:-} apt-get update -q && DEBIAN_FRONTEND=noninteractive ${SUDO:-} apt-get install -y -q \
    --no-install-recommends coturn openssl; } >/dev/null 2>&1; then
    if [[ -d /run/systemd/system ]]; then ${SUDO:-} systemctl disable --now coturn >/dev/null 2>&1 || true; fi
  else
    log "could not install coturn; TURN will be the embedded server (UDP only)"
  fi
fi

# --- 2. node_modules ----------------------------------------------------------------------------
LOCK_HASH=$(sha256sum package-lock.json | cut -c1-16)
if [[ "$(cat node_modules/.treffpunkt-lock 2>/dev/null)" != "$LOCK_HASH" ]]; then
  log "npm ci (MEDIASOUP_WORKER_BIN set: mediasoup's postinstall does not download)"
  npm ci --no-audit --no-fund --loglevel=error
  echo "$LOCK_HASH" > node_modules/.treffpunkt-lock
fi
NODE=$ROOT/node_modules/.bin/node
[[ "$("$NODE" -p 'process.versions.node.split(".")[0]')" -ge 22 ]] || die "node_modules/.bin/node is not Node >= 22"

# --- 3. mediasoup worker ------------------------------------------------------------------------
if [[ ! -x "$MEDIASOUP_WORKER_BIN" ]]; then
  TOOL=$ROOT/tools/build-mediasoup-worker.sh
  log "building mediasoup-worker $MS_VERSION offline (about 6 minutes the first time) -> $MEDIASOUP_WORKER_BIN"
  MS_BUILD_DIR=$CACHE/mediasoup-worker-build MS_NODE=$NODE MS_VERSION=$MS_VERSION \
    bash "$TOOL" "$ROOT" "$MEDIASOUP_WORKER_BIN" > "$CACHE/mediasoup-worker-build.log" 2>&1 ||
    die "building the mediasoup worker failed; see $CACHE/mediasoup-worker-build.log"
fi

# --- 4. browser app and Worker bundle ------------------------------------------------------------
"$NODE" scripts/build-web.ts
"$NODE" scripts/build-worker.ts >/dev/null
log "ready (node $("$NODE" --version), mediasoup worker $MEDIASOUP_WORKER_BIN)"
