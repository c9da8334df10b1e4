#!/bin/sh
# tile38-ha: planned stop of a Tile38 node (Kubernetes preStop; `npm run failover` runs it too):
# if this node leads, hand leadership over without losing a write (see tile38-handover.sh).
# Exits 0 either way, so that a stop is never blocked by a failed hand-over.
set -eu
# @settings
: "${MASTER_NAME:?}" "${SENTINELS:?}" "${TILE38_NODES:?}" "${FAILOVER_TIMEOUT_MS:?}" "${HANDOVER_SYNC_SECONDS:?}"
. ./lib.sh
. ./tile38-node.sh
. ./tile38-handover.sh

handover || log "leadership did not move; stopping anyway"
