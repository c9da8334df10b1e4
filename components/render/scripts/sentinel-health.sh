#!/bin/sh
# tile38-ha: the Docker health check of one sentinel. It also paces a rollout: the next sentinel
# is replaced only once this one is healthy, so a quorum keeps answering throughout.
# Healthy: it answers and monitors the master, knowing every peer sentinel — or the master is
# down (subjectively, by this sentinel's own view) or unreachable (its link `disconnected`): peers
# meet through the leader's hello channel, so in a new cluster, whose Tile38 nodes start after the
# sentinels, they cannot know each other yet. Unreachable counts at once rather than at
# down-after-milliseconds (s_down): a first deploy's sentinels were healthy 4 s after their start,
# and the Tile38 nodes wait for them; a reachable master is linked within milliseconds of the
# start, long before the first check (its interval, 2 s).
# Environment: SELF (this sentinel's host:port as seen from inside its container), SENTINEL_PASSWORD.
set -eu
# @settings
: "${MASTER_NAME:?}" "${SENTINELS:?}"
. ./lib.sh

: "${SELF:?SELF must be set}"
SENTINEL_PASSWORD=${SENTINEL_PASSWORD:-}
LOG_TAG="sentinel-health[$SELF]"

read -r _flags _others <<EOF_MASTER
$(sentinel_master "$SELF" flags num-other-sentinels)
EOF_MASTER
[ -n "$_flags" ] || { log "does not answer SENTINEL MASTER $MASTER_NAME"; exit 1; }
case ",$_flags," in *,s_down,* | *,o_down,* | *,disconnected,*) exit 0 ;; esac
# shellcheck disable=SC2086 # one sentinel per word
set -- $SENTINELS
if [ "${_others:-0}" -lt $(($# - 1)) ]; then log "knows ${_others:-0} of $(($# - 1)) peer sentinels"; exit 1; fi
