#!/bin/sh
# tile38-ha: start one Tile38 node. One script for every node; its identity comes from the
# environment (see tile38-node.sh). It asks the sentinels who leads and follows that node; it leads
# only when the sentinels name it, and an empty node leads only when no node holds data. It never
# elects itself without the sentinels. It stays the container's main process: on SIGTERM
# (`docker stop`, pod deletion) it hands leadership over before it stops the server.
set -eu
# @settings
: "${MASTER_NAME:?}" "${SENTINELS:?}" "${TILE38_NODES:?}" "${REPLICA_PRIORITY:?}" "${STARTUP_TIMEOUT:?}"
: "${FAILOVER_TIMEOUT_MS:?}" "${HANDOVER_SYNC_SECONDS:?}" "${MANAGED_KEYS:?}" "${MAXMEMORY?}" "${FENCE_AFTER_MS:?}"
. ./lib.sh
. ./tile38-node.sh
. ./tile38-config.sh
. ./tile38-handover.sh
. ./tile38-clients.sh
. ./tile38-sentinel-view.sh
. ./tile38-fence.sh

# The node's life once its server runs, one check a second. The facts it reads: the node's role
# (INFO), its SERVER stats, and for a leader how many of ALL the sentinels name it. What follows:
# - leading, named by a majority of the sentinels: writable (read-only only during a live
#   hand-over, its marker file), eligible;
# - leading, not named by a majority for FENCE_AFTER_MS: fenced, `READONLY yes`, until a majority
#   names it again (leader_fence). A leader cut off from the sentinels, or frozen, then stops
#   acknowledging writes before the other side can promote a follower;
# - following, caught up with a leader it has not checked yet: its AOF must be a prefix of that
#   leader's, else it may hold writes its leader never had: not eligible, and it resyncs once every
#   other node answers (follower_matches_leader, diverged);
# - following: replica-priority 0 until it has caught up with a leader once (`caught_up_once`;
#   Tile38 #750). Not `caught_up`: that turns false on every follower the moment the leader dies,
#   which would leave Sentinel no follower to promote; never read-only.
priority_loop() {
  stall_guard "$SERVER_PID" &
  _current=""
  # A leader is born fenced (started read-only): writable once the sentinels have heard from THIS
  # incarnation. A pod back with a new address within down-after, or a leader restarted after a
  # hand-over that could not happen, is still named by the sentinels while their links point at
  # the old address; they fail it over moments later, and every write it took meanwhile was lost
  # (measured on a real kubelet: 32 writes in a rolling update).
  LAST_CONFIRMED_MS=0
  FENCED=1
  VERIFIED_LEADER=""
  DIVERGED_SINCE=""
  while :; do
    sleep 1
    _info=$(node_call_self INFO replication)
    _role=$(printf '%s\n' "$_info" | info_field role)
    if [ -z "$_role" ]; then
      # A follower that never caught up answers only "catching up to leader": its leader may be gone.
      rm -f "$READY_MARK"
      _cur=$(config_follow_target) && follow_the_sentinels "$_cur"
      continue
    fi
    _stats=$(node_server "$LOCAL_HOST:$NODE_PORT") || continue
    mind_clients "$_role"
    _want=$REPLICA_PRIORITY
    if [ "$_role" = master ]; then
      _have=$_current
      VERIFIED_LEADER=""
      DIVERGED_SINCE=""
      _answers=$(sentinel_answers)
      _named=$(named_leader "$_answers") || _named=""
      _id=$(printf '%s' "$_stats" | json_field id)
      leader_fence "$(printf '%s' "$_stats" | json_field read_only)" "$_answers"
      lead_by_name "$_id" "$_named"
      step_down_if_deposed "$_id" "$_named" || true
    else
      FENCED=""
      LAST_CONFIRMED_MS=$(now_ms)
      _have=$(printf '%s\n' "$_info" | info_field slave_priority)
      [ "$(printf '%s' "$_stats" | json_field caught_up_once)" = true ] || _want=0
      # A follower that holds writes its leader never had must never be promoted.
      [ -z "$DIVERGED_SINCE" ] || _want=0
      if [ "$(printf '%s' "$_stats" | json_field read_only)" = true ]; then
        node_call_self READONLY no >/dev/null && log "a follower is never read-only: cleared"
      fi
      _leader_ep="$(printf '%s\n' "$_info" | info_field master_host):$(printf '%s\n' "$_info" | info_field master_port)"
      follow_the_sentinels "$_leader_ep"
      if [ "$(printf '%s' "$_stats" | json_field caught_up)" = true ] && [ "$_leader_ep" != "$VERIFIED_LEADER" ]; then
        follower_matches_leader "$_leader_ep" "$(printf '%s' "$_stats" | json_field aof_size)"
      fi
    fi
    # Ready (the container health check, the pod's readiness): leading and writable, or caught up
    # with a leader whose AOF this node's is a prefix of AND listed by a majority of the sentinels
    # as a replica they could promote. A rollout moves to the next node only then: never while this
    # one may resync, nor while the sentinels could not hand leadership over to it.
    if [ "$_role" = master ]; then
      if [ -z "$FENCED" ]; then [ -f "$READY_MARK" ] || : > "$READY_MARK"; else rm -f "$READY_MARK"; fi
    elif [ "$_leader_ep" = "$VERIFIED_LEADER" ] && [ "$(printf '%s' "$_stats" | json_field caught_up)" = true ]; then
      [ -f "$READY_MARK" ] || { sentinels_see_me_eligible && : > "$READY_MARK"; } || true
    else
      rm -f "$READY_MARK"
    fi
    [ "$_want" = "$_have" ] && continue
    if node_call_self CONFIG SET replica-priority "$_want" | grep -q '^+OK'; then
      node_call_self CONFIG REWRITE >/dev/null
      log "replica-priority is now $_want (role $_role)"
      _current=$_want
    fi
  done
}

# leader_fence READ_ONLY ANSWERS: the leader's fence (see priority_loop). READ_ONLY is its
# read_only stat, ANSWERS this round's sentinel_answers. Read-only at once when the sentinels are
# replacing this node; after FENCE_AFTER_MS when no majority has heard from it for that long.
leader_fence() {
  _now=$(now_ms)
  if _age=$(confirms_this_incarnation "$2"); then
    [ $((_now - _age)) -le "$LAST_CONFIRMED_MS" ] || LAST_CONFIRMED_MS=$((_now - _age))
  fi
  _replacing=""
  if replacing_me "$2"; then _replacing=1; fi
  if [ -z "$FENCED" ] && ! handover_live && [ -n "$_replacing" ]; then
    _why="the sentinels report it down or are failing it over"
  elif [ -z "$FENCED" ] && [ $((_now - LAST_CONFIRMED_MS)) -ge "$FENCE_AFTER_MS" ] && ! handover_live; then
    _why="no majority of the sentinels has heard from this node as leader for $((_now - LAST_CONFIRMED_MS)) ms (they answer: $(printf "%s" "$2" | tr "\n" "|"))"
  elif [ "$LAST_CONFIRMED_MS" -gt $((_now - FENCE_AFTER_MS)) ] && [ -z "$_replacing" ]; then
    if [ "$1" = true ] && ! handover_live; then
      node_call_self READONLY no >/dev/null && log "a majority of the sentinels names this node: writes re-enabled${FENCED:+ (fence lifted)}"
    fi
    FENCED=""
    return 0
  else
    # Fenced and not confirmed: stay read-only, whatever re-enabled writes meanwhile (a hand-over
    # abandoned by the preStop hook re-enables them).
    if [ -n "$FENCED" ] && [ "$1" = false ] && ! handover_live; then node_call_self READONLY yes >/dev/null; fi
    return 0
  fi
  if node_call_self READONLY yes | grep -q '^+OK'; then
    FENCED=1
    log "fenced: $_why: read-only until a majority names it again"
  fi
}

# follower_matches_leader LEADER AOF_SIZE: once caught up with LEADER, this node's AOF must be a
# prefix of the leader's. Tile38 reloads its memory only when it truncates an AOF of more than
# 512 KiB to a common prefix; a smaller AOF, or one with no common start, stays in memory and the
# leader's is appended after it: the node keeps writes its leader never had (a frozen or cut-off old
# leader's, or a follower's that was ahead of the promoted one). Such a node resyncs from scratch.
# AOF_SIZE is the size the server reports: when an AOF of 512 KiB or more has no common start with
# its leader's, Tile38 empties the file but keeps its memory and its old size (checksum.go), so the
# reported size exceeds the file's by at least 512 KiB for ever (at most ~1 s of writes are
# buffered). Promoted, such a node makes every follower wait for bytes it never sends (seen: two
# followers never caught up).
TILE38_CHECKSUM_BYTES=524288
AOF_FLUSH_GRACE_MS=3000
AOF_LONGER_SINCE=""
follower_matches_leader() {
  _size=$(wc -c < "$DATA_DIR/appendonly.aof" 2>/dev/null | tr -d ' ')
  [ -n "$_size" ] || return 0
  if [ -n "$2" ] && [ $(($2 - _size)) -ge "$TILE38_CHECKSUM_BYTES" ]; then
    diverged "$1" "it reports an AOF of $2 bytes but its file holds $_size: it kept in memory what it held before following $1"
    return 0
  fi
  if [ "$_size" -gt 0 ]; then
    _mine=$(head -c "$_size" "$DATA_DIR/appendonly.aof" | md5sum | cut -d' ' -f1)
    _theirs=$(node_call "$1" AOFMD5 0 "$_size" | head -n 1)
    case "$_theirs" in
      "+$_mine") ;;
      -EOF* | -ERR*EOF*)
        # This node's file is longer than the leader's file right now. A leader just promoted may
        # not have flushed its buffered writes yet (seen right after a hand-over on a real
        # kubelet: two followers resynced for nothing): diverged only if it lasts.
        _now=$(now_ms)
        [ -n "$AOF_LONGER_SINCE" ] || AOF_LONGER_SINCE=$_now
        if [ $((_now - AOF_LONGER_SINCE)) -ge "$AOF_FLUSH_GRACE_MS" ]; then
          diverged "$1" "its AOF ($_size bytes) has been longer than its leader $1's for $((_now - AOF_LONGER_SINCE)) ms: it holds writes the leader never had"
        fi
        return 0 ;;
      +* | -*) diverged "$1" "its AOF ($_size bytes) is not a prefix of its leader $1's (${_theirs#[+-]}): it may hold writes the leader never had"; return 0 ;;
      *) return 0 ;; # no answer: ask again next time
    esac
  fi
  AOF_LONGER_SINCE=""
  DIVERGED_SINCE=""
  VERIFIED_LEADER=$1
}

# diverged LEADER WHY: a follower that must resync does it (never eligible meanwhile, see the
# priority loop) once every other node answers, or after RESYNC_WAIT_MS: a resync takes the node
# down for seconds, and a planned change may be taking another node down right now (a leader's
# hand-over makes the other follower switch leaders: Tile38 then appends a small AOF to itself).
RESYNC_WAIT_MS=60000
diverged() {
  _now=$(now_ms)
  if [ -z "$DIVERGED_SINCE" ]; then DIVERGED_SINCE=$_now; log "diverged: $2; resyncing once every other node answers"; fi
  for _n in $TILE38_NODES; do
    [ "$_n" = "$SELF" ] && continue
    if ! node_call "$_n" PING | grep -q PONG && [ $((_now - DIVERGED_SINCE)) -lt "$RESYNC_WAIT_MS" ]; then return 0; fi
  done
  resync "$2"
}

# resync WHY: stops the server so that start_server starts the node again from an empty data
# directory (main decides its role afresh; an empty node copies the leader's whole AOF).
RESYNC_MARK="$DATA_DIR/.tile38-ha-resync"
resync() {
  rm -f "$READY_MARK"
  log "resync: $1"
  echo "$1" > "$RESYNC_MARK"
  kill -TERM "$SERVER_PID" 2>/dev/null || true
}

# follow_the_sentinels CURRENT: a follower whose leader is not the one the sentinels name, while
# that one really leads (INFO role:master), for 3 checks in a row, follows it. Sentinel
# reconfigures only the replicas it knew when it failed over: a node that restarted just before
# (not yet in the old leader's INFO, refreshed every 10 s) was left following the dead leader until
# failover-timeout passed (measured: 24 s to converge instead of 4).
FOLLOW_STRIKES=0

# config_follow_target: host:port the node's config file says it follows (Tile38 rewrites it).
config_follow_target() {
  _fh=$(sed -n 's/.*"follow_host": *"\([^"]*\)".*/\1/p' "$DATA_DIR/config" | head -n 1)
  _fp=$(sed -n 's/.*"follow_port": *\([0-9][0-9]*\).*/\1/p' "$DATA_DIR/config" | head -n 1)
  [ -n "$_fh" ] && [ -n "$_fp" ] && echo "$_fh:$_fp"
}

follow_the_sentinels() {
  _named=$(leader_from_sentinels) || { FOLLOW_STRIKES=0; return 0; }
  _named_ep="${_named% *}:${_named##* }"
  if [ "$_named_ep" = "$1" ] || is_self "$_named_ep" || [ "$(node_role "$_named_ep")" != master ]; then
    FOLLOW_STRIKES=0; return 0
  fi
  FOLLOW_STRIKES=$((FOLLOW_STRIKES + 1))
  [ "$FOLLOW_STRIKES" -ge 3 ] || return 0
  FOLLOW_STRIKES=0
  # shellcheck disable=SC2086 # "host port"
  if node_call_self FOLLOW $_named | grep -q '^+OK'; then log "following $_named_ep, the leader the sentinels name (was $1)"; fi
}

# lead_by_name ID NAMED: when hosts are names (Kubernetes) and the sentinels name this leader (its
# Tile38 id is ID) by an IP address, for 3 checks in a row, hands leadership over to a follower.
# That address changes with the pod, which is what the names are for. A sentinel cannot simply
# re-monitor the name: SENTINEL MONITOR starts at config epoch 0, and its peers' hellos carry the
# IP with a higher epoch, which it adopts again. A failover gives the name a new epoch. A failed
# hand-over is retried after LEAD_BY_NAME_PAUSE seconds.
LEAD_BY_NAME_STRIKES=0
LEAD_BY_NAME_PAUSE=30
LEAD_BY_NAME_NEXT=0
lead_by_name() {
  is_ip_literal "$NODE_HOST" && return 0
  _named=$2
  [ -n "$_named" ] || { LEAD_BY_NAME_STRIKES=0; return 0; }
  _named_ep="${_named% *}:${_named##* }"
  if ! is_ip_literal "${_named% *}" || [ -z "$1" ] || [ "$(node_server "$_named_ep" | json_field id)" != "$1" ]; then
    LEAD_BY_NAME_STRIKES=0; return 0
  fi
  LEAD_BY_NAME_STRIKES=$((LEAD_BY_NAME_STRIKES + 1))
  [ "$LEAD_BY_NAME_STRIKES" -ge 3 ] && [ "$(date +%s)" -ge "$LEAD_BY_NAME_NEXT" ] || return 0
  LEAD_BY_NAME_STRIKES=0
  LEAD_BY_NAME_NEXT=$(( $(date +%s) + LEAD_BY_NAME_PAUSE ))
  log "the sentinels name this leader by its IP address $_named_ep: handing over to a follower known by name"
  SELF_ALIAS=$_named_ep
  handover || true
  SELF_ALIAS=""
}

# handover_live: a hand-over of this node is under way (its marker names a future deadline).
handover_live() {
  [ -s "$HANDOVER_MARK" ] && [ "$(date +%s)" -lt "$(cat "$HANDOVER_MARK" 2>/dev/null || echo 0)" ]
}

SERVER_PID=""
LOOP_PID=""

# SIGTERM/SIGINT: hand over if leading (bounded by the failover timeout), then stop the server.
on_stop() {
  trap - TERM INT
  log "stop requested"
  # The loop first: it must not change priority, read-only state or leader (or start a hand-over
  # of its own) while this one runs.
  [ -z "$LOOP_PID" ] || kill "$LOOP_PID" 2>/dev/null || true
  handover || true
  [ -z "$SERVER_PID" ] || kill -TERM "$SERVER_PID" 2>/dev/null || true
  [ -z "$SERVER_PID" ] || wait "$SERVER_PID" || true
  log "stopped"
  exit 0
}

# Seconds a started tile38-server may take to listen on its port (it listens before it loads
# the AOF, so this does not grow with the data).
LISTEN_TIMEOUT=15

# A port that is already taken fails tile38-server's bind silently: it runs, follows, logs
# `caught up`, and never serves (and Docker never restarts an unhealthy container). So the port
# must be free before the start, and the server must be seen listening on it after.
# Present while the priority loop finds the node ready (see there); the Docker health check reads it.
READY_MARK="$DATA_DIR/.tile38-ha-ready"

start_server() {
  # Left by an earlier incarnation (this one holds the data directory's lock: that one is gone).
  rm -rf "$HANDOVER_MARK" "$READY_MARK" "$HANDOVER_LOCK"
  if port_listeners "$NODE_PORT" | grep -q .; then
    log "port $NODE_PORT is already in use by another process: exiting so that the restart policy retries"
    exit 1
  fi
  set -- -d "$DATA_DIR" -h "$NODE_BIND" -p "$NODE_PORT" --appendonly yes
  if [ -n "${METRICS_PORT:-}" ]; then set -- "$@" --metrics-addr ":$METRICS_PORT"; fi
  trap on_stop TERM INT
  SERVER_STARTED_MS=$(now_ms)
  "$TILE38_BIN" "$@" &
  SERVER_PID=$!
  _listen_end=$(( $(date +%s) + LISTEN_TIMEOUT ))
  until process_listens "$SERVER_PID" "$NODE_PORT"; do
    if ! kill -0 "$SERVER_PID" 2>/dev/null; then
      _status=0
      wait "$SERVER_PID" || _status=$?
      log "tile38-server exited with status $_status before it listened on port $NODE_PORT"
      exit "$_status"
    fi
    if [ "$(date +%s)" -ge "$_listen_end" ]; then
      log "tile38-server is not listening on port $NODE_PORT after ${LISTEN_TIMEOUT}s: stopping it and exiting so that the restart policy retries"
      kill -KILL "$SERVER_PID" 2>/dev/null || true
      exit 1
    fi
    sleep 0.2
  done
  priority_loop &
  LOOP_PID=$!
  _status=0
  wait "$SERVER_PID" || _status=$?
  # Only reached when the server exited by itself or for a resync (a stop runs on_stop, which exits).
  kill "$LOOP_PID" 2>/dev/null || true
  if [ -f "$RESYNC_MARK" ]; then
    rm -f "$DATA_DIR/appendonly.aof" "$RESYNC_MARK"
    log "tile38-server stopped for a resync; its AOF is removed: starting again"
    trap - TERM INT
    # Empty now: wait, like any empty node, until no sentinel trusts this address's last INFO.
    SERVER_PID=""; LOOP_PID=""; _waited=""
    main
  fi
  log "tile38-server exited with status $_status"
  exit "$_status"
}

# Seconds Sentinel trusts a replica's last INFO while the leader is down (5 pings of 1 s), plus one.
STALE_INFO_SECONDS=6

start_follower() {
  log "starting as a follower of $1:$2 (replica-priority 0 until caught up)"
  write_tile38_config follower "$1" "$2"
  start_server
}

start_leader() {
  log "starting as the leader: $1"
  write_tile38_config leader
  start_server
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
  _lock_end=$(( $(date +%s) + STARTUP_TIMEOUT ))
  until flock -n 9; do
    if [ "$(date +%s)" -ge "$_lock_end" ]; then
      log "$DATA_DIR is still in use after ${STARTUP_TIMEOUT}s; exiting so that the restart policy retries"
      exit 1
    fi
    sleep 0.5
  done
  DATA_LOCKED=1
  log "$DATA_DIR is free: starting"
}

main() {
  check_password TILE38_PASSWORD "$TILE38_PASSWORD"
  check_password SENTINEL_PASSWORD "$SENTINEL_PASSWORD"
  mkdir -p "$DATA_DIR"
  take_data_lock
  _deadline=$(( $(date +%s) + STARTUP_TIMEOUT ))
  while :; do
    if _leader=$(leader_from_sentinels); then
      # shellcheck disable=SC2086 # "host port"
      set -- $_leader
      if [ "$1:$2" != "$SELF" ]; then
        if ! has_local_data && [ -z "${_waited:-}" ]; then
          # A replica that has not caught up refuses INFO, so the sentinels would judge this empty
          # node by the last INFO of the process that ran at this address before (priority 100,
          # an offset) and could promote it (Tile38 #750). Serve only once that INFO is too old
          # to count, then ask the sentinels again.
          log "empty data dir: waiting ${STALE_INFO_SECONDS}s so that no sentinel still trusts an earlier INFO of this address"
          sleep "$STALE_INFO_SECONDS"
          _waited=1
          continue
        fi
        # Follow whoever the sentinels name, whatever the old config says (Tile38 #689).
        start_follower "$1" "$2"
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
      log "no sentinel answered yet"
    fi
    if [ "$(date +%s)" -ge "$_deadline" ]; then
      log "no safe role after ${STARTUP_TIMEOUT}s; exiting so that the restart policy retries"
      exit 1
    fi
    sleep 1
  done
}
main
