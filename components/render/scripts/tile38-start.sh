#!/bin/sh
# tile38-ha: start one Tile38 node. One script for every node; its identity comes from the
# environment (see tile38-node.sh). It asks the sentinels who leads and follows that node; it leads
# only when the sentinels name it, and an empty node leads only when no node holds data. It never
# elects itself without the sentinels. It stays the container's main process: on SIGTERM
# (`docker stop`, pod deletion) it hands leadership over before it stops the server.
set -eu
# @settings
: "${MASTER_NAME:?}" "${SENTINELS:?}" "${TILE38_NODES:?}" "${REPLICA_PRIORITY:?}" "${STARTUP_TIMEOUT:?}"
: "${FAILOVER_TIMEOUT_MS:?}" "${HANDOVER_SYNC_SECONDS:?}" "${MANAGED_KEYS:?}" "${MAXMEMORY?}" "${FENCE_AFTER_MS:?}" "${SENTINEL_TIMING:?}"
: "${AOF_COMPACT_RATIO:?}" "${AOF_COMPACT_MIN_BYTES:?}"
. ./lib.sh
. ./config-password.sh
. ./tile38-node.sh
. ./tile38-config.sh
. ./tile38-failover-phase.sh
. ./tile38-handover.sh
. ./tile38-clients.sh
. ./tile38-sentinel-view.sh
. ./tile38-fence.sh
. ./tile38-compaction.sh
. ./tile38-node-life.sh

SERVER_PID=""
LOOP_PID=""
# Set once an empty node has waited out the sentinels' trust in an earlier INFO of its address
# (main); cleared for a resync, which empties it again.
STALE_INFO_WAITED=""

# SIGTERM/SIGINT: hand over if leading (bounded by the failover timeout), then stop the server.
on_stop() {
  trap - TERM INT
  log "stop requested"
  # The loop first: it must not change priority, read-only state or leader (or start a hand-over
  # of its own) while this one runs.
  [ -z "$LOOP_PID" ] || kill "$LOOP_PID" 2>/dev/null || true
  handover || true
  stop_server
  log "stopped"
  exit 0
}

# stop_server: ends tile38-server. Its own SIGTERM shutdown takes 2-3 s (1.37.0 waits out one-second
# sleep loops; measured at 2.3-3.2 s for a leader, a follower and a lone node alike), and all it adds
# is writing out its AOF buffer (on a follower up to 1 s or 10 KB of replicated commands) and an
# fsync. A follower whose leader answers as leader needs neither: that leader holds the tail,
# Tile38 truncates a partial last command when it loads the file, and the follower fetches the rest
# from its own AOF size when it follows again. Such a follower exits at once (SIGINT: os.Exit), and
# a pod it ran in is gone seconds sooner after a hand-over. A leader, or a follower whose leader is
# gone, shuts down in full.
stop_server() {
  local signal info leader
  [ -n "$SERVER_PID" ] || return 0
  signal=TERM
  info=$(node_call_self INFO replication 2>/dev/null) || info=""
  if [ "$(printf '%s\n' "$info" | info_field role)" = slave ]; then
    leader=$(info_leader "$info")
    if [ "$(node_role "$leader" 2>/dev/null)" = master ]; then
      log "a follower of $leader, which leads: stopping tile38-server at once"
      signal=INT
    fi
  fi
  kill "-$signal" "$SERVER_PID" 2>/dev/null || true
  wait "$SERVER_PID" || true
}

# Seconds a started tile38-server may take to listen on its port (it listens before it loads
# the AOF, so this does not grow with the data).
LISTEN_TIMEOUT=15

# A port that is already taken fails tile38-server's bind silently: it runs, follows, logs
# `caught up`, and never serves (and Docker never restarts an unhealthy container). So the port
# must be free before the start, and the server must be seen listening on it after.

# start_server ROLE: starts tile38-server (its config written for ROLE, leader or follower) and
# node_life beside it.
start_server() {
  local role="$1" listen_end status
  # Left by an earlier incarnation (this one holds the data directory's lock: that one is gone).
  rm -rf "$HANDOVER_MARK" "$READY_MARK" "$HANDOVER_LOCK"
  if port_listeners "$NODE_PORT" | grep -q .; then
    log "port $NODE_PORT is already in use by another process: exiting so that the restart policy retries"
    exit 1
  fi
  set -- -d "$DATA_DIR" -h "$NODE_BIND" -p "$NODE_PORT" --appendonly yes
  if [ -n "${METRICS_PORT:-}" ]; then set -- "$@" --metrics-addr "$NODE_BIND:$METRICS_PORT"; fi
  trap on_stop TERM INT
  SERVER_STARTED_MS=$(now_ms)
  # Its config file is written: from now on it holds the password in force (tile38_password).
  PASSWORD_IN_CONFIG=1
  "$TILE38_BIN" "$@" &
  SERVER_PID=$!
  listen_end=$(( $(date +%s) + LISTEN_TIMEOUT ))
  until process_listens "$SERVER_PID" "$NODE_PORT"; do
    if ! kill -0 "$SERVER_PID" 2>/dev/null; then
      status=0
      wait "$SERVER_PID" || status=$?
      log "tile38-server exited with status $status before it listened on port $NODE_PORT"
      exit "$status"
    fi
    if [ "$(date +%s)" -ge "$listen_end" ]; then
      log "tile38-server is not listening on port $NODE_PORT after ${LISTEN_TIMEOUT}s: stopping it and exiting so that the restart policy retries"
      kill -KILL "$SERVER_PID" 2>/dev/null || true
      exit 1
    fi
    sleep 0.2
  done
  node_life "$role" &
  LOOP_PID=$!
  status=0
  wait "$SERVER_PID" || status=$?
  # Only reached when the server exited by itself or for a resync (a stop runs on_stop, which exits).
  kill "$LOOP_PID" 2>/dev/null || true
  if [ -f "$REFOLLOW_MARK" ]; then
    rm -f "$REFOLLOW_MARK"
    log "tile38-server stopped to start again as a follower: starting again"
    trap - TERM INT
    SERVER_PID=""; LOOP_PID=""
    main
  fi
  if [ -f "$RESYNC_MARK" ]; then
    rm -f "$DATA_DIR/appendonly.aof" "$RESYNC_MARK"
    log "tile38-server stopped for a resync; its AOF is removed: starting again"
    trap - TERM INT
    # Empty now: wait, like any empty node, until no sentinel trusts this address's last INFO.
    SERVER_PID=""; LOOP_PID=""; STALE_INFO_WAITED=""
    main
  fi
  log "tile38-server exited with status $status"
  exit "$status"
}

# follower_start_priority LEADER: the replica-priority a follower starts with. Tile38 refuses INFO
# until a follower has caught up once, so no sentinel reads it before; from its first answered INFO
# on, each sentinel reads it again only every 10 s. Started at 0 and raised by node_life a step
# after the catch-up, a follower stayed unpromotable in the sentinels' eyes for up to 10 s more, and
# every rollout waited for that (its ready mark): 9-12 s per node measured on a Docker engine. So
# a follower whose data cannot differ from its leader's starts at REPLICA_PRIORITY: an empty one
# (it will hold the leader's AOF, nothing else), or one whose whole AOF is a prefix of the
# leader's now (aof_matches, the check node_life makes once it has caught up, made before the
# start). Any other starts at 0 until node_life has checked it (Tile38 #750); node_life still
# checks every follower once caught up, and a diverged one goes to 0.
follower_start_priority() {
  has_local_data || { echo "$REPLICA_PRIORITY"; return 0; }
  if [ "$(aof_matches "$1" "$(aof_size_on_disk)")" = + ]; then echo "$REPLICA_PRIORITY"; else echo 0; fi
}

# start_follower LEADER: starts the server as a follower of LEADER (host:port).
start_follower() {
  local priority
  if aof_below_floor; then
    # Tile38 would append the leader's whole AOF to it (see AOF_FLOOR_BYTES): fetch it afresh.
    log "its AOF ($(aof_size_on_disk) bytes) is below the floor of $AOF_FLOOR_BYTES: removed, the leader's is fetched whole"
    rm -f "$DATA_DIR/appendonly.aof"
  fi
  trim_unreplicated_tail "$1"
  priority=$(follower_start_priority "$1")
  log "starting as a follower of $1 (replica-priority $priority; no sentinel reads it before it has caught up)"
  write_tile38_config follower "$1" "$priority"
  start_server follower
}

start_leader() {
  log "starting as the leader: $1"
  write_tile38_config leader
  start_server leader
}

# One server per data directory. A force-deleted pod keeps running beside its replacement on the
# same volume for a while (ReadWriteOnce allows any pod on the node), as can a container whose
# successor starts early: two tile38-server processes appending to one AOF corrupt it, and the old
# incarnation's files (hand-over marker) are not the new one's to remove (seen on a real kubelet).
# The lock is taken on fd 9, which the server inherits: free only once both have exited.
DATA_LOCKED=""
take_data_lock() {
  [ -z "$DATA_LOCKED" ] || return 0 # main runs again after a resync: the lock is still held
  exec 9>>"$DATA_DIR/.tile38-ha.lock"
  flock -n 9 && { DATA_LOCKED=1; return 0; }
  log "another process (an earlier incarnation of this node) still uses $DATA_DIR: waiting until it exits"
  retry_for "$STARTUP_TIMEOUT" 0.5 flock -n 9 || { log "$DATA_DIR is still in use after ${STARTUP_TIMEOUT}s; exiting so that the restart policy retries"; exit 1; }
  DATA_LOCKED=1
  log "$DATA_DIR is free: starting"
}

main() {
  local deadline leader stale NO_ANSWER_LOGGED=""
  check_password TILE38_PASSWORD "$TILE38_PASSWORD"
  check_password SENTINEL_PASSWORD "$SENTINEL_PASSWORD"
  mkdir -p "$DATA_DIR"
  take_data_lock
  deadline=$(( $(date +%s) + STARTUP_TIMEOUT ))
  while :; do
    if leader=$(leader_from_sentinels); then
      if [ "$leader" != "$SELF" ]; then
        if { ! has_local_data || aof_below_floor; } && [ -z "$STALE_INFO_WAITED" ]; then
          # A replica that has not caught up refuses INFO, so the sentinels would judge this empty
          # node by the last INFO of the process that ran at this address before (priority 100,
          # an offset) and could promote it (Tile38 #750). Serve only once that INFO is too old
          # to count, then ask the sentinels again.
          stale=$(stale_info_wait)
          STALE_INFO_WAITED=1
          if [ "$stale" -gt 0 ]; then
            log "empty data dir (or an AOF below the floor, fetched afresh): waiting ${stale}s so that no sentinel still trusts an earlier INFO of this address"
            sleep "$stale"
          fi
          continue
        fi
        # Follow whoever the sentinels name, whatever the old config says (Tile38 #689).
        start_follower "$leader"
      elif has_local_data; then
        start_leader "the sentinels name this node and it holds data"
      elif ! others_have_data; then
        if [ -n "${TILE38_RESTORE_CMD:-}" ]; then
          log "no node holds data: running the restore command"
          sh -c "$TILE38_RESTORE_CMD" || { log "restore failed; exiting to be retried"; exit 1; }
        fi
        start_leader "the sentinels name this node and no node holds data (new cluster or total loss)"
      else
        # An empty node must never lead while others hold data (Tile38 #750): stay down so
        # that the sentinels promote a node that has data, then follow it.
        log "the sentinels name this empty node while other nodes hold data: waiting for a failover"
      fi
    else
      [ -n "$NO_ANSWER_LOGGED" ] || log "no sentinel answered yet: asking again every 0.2 s"
      NO_ANSWER_LOGGED=1
    fi
    if [ "$(date +%s)" -ge "$deadline" ]; then
      log "no safe role after ${STARTUP_TIMEOUT}s; exiting so that the restart policy retries"
      exit 1
    fi
    # Sentinels that do not answer yet (a first deploy starts them with the nodes): they answer
    # within a second or two, and every second of this wait is the deploy's.
    if [ -n "$leader" ]; then sleep 1; else sleep 0.2; fi
  done
}
main
