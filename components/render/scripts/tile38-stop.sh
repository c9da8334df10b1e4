#!/bin/sh
# tile38-ha: planned stop of a Tile38 node (Kubernetes preStop; `npm run failover` runs it too):
# if this node leads, hand leadership over without losing a write (see tile38-handover.sh).
# Exits 0 either way, so that a stop is never blocked by a failed hand-over, unless
# TILE38_HANDOVER_STRICT=1 (`npm run failover`): then 1 when leadership did not move.
set -eu
# @settings
: "${MASTER_NAME:?}" "${SENTINELS:?}" "${TILE38_NODES:?}" "${FAILOVER_TIMEOUT_MS:?}" "${HANDOVER_SYNC_SECONDS:?}"
. ./lib.sh
. ./config-password.sh
. ./tile38-node.sh
. ./tile38-sentinel-view.sh
. ./tile38-failover-phase.sh
. ./tile38-handover.sh

# The server runs: its config file holds the password in force (tile38_password).
PASSWORD_IN_CONFIG=1

# A kubelet shows a preStop hook's output only when the hook fails: the hand-over's log lines also
# go to the container's main process (the start script, PID 1), whose output `kubectl logs` shows.
if [ "$$" != 1 ] && [ -w /proc/1/fd/2 ] && [ "$(cat /proc/1/comm 2>/dev/null)" != systemd ] && grep -q tile38-start /proc/1/cmdline 2>/dev/null; then
  log() {
    local line
    line="$(date -u +%Y-%m-%dT%H:%M:%SZ) $LOG_TAG $*"
    echo "$line" >&2
    echo "$line" >> /proc/1/fd/2
  }
fi

if ! handover; then
  if [ "${TILE38_HANDOVER_STRICT:-0}" = 1 ]; then log "leadership did not move"; exit 1; fi
  log "leadership did not move; stopping anyway"
fi
