# shellcheck shell=sh
# tile38-ha: planned hand-over of leadership without losing an acknowledged write. Included by the
# stop script (Kubernetes preStop, Docker SIGTERM) and run on its own by `npm run failover`.
#   1. only the leader acts, and only when some follower has caught up once; it subscribes to the
#      followers and waits for the moment its failover is seen soonest (tile38-failover-phase.sh);
#   2. READONLY yes: from here on the leader acknowledges no write;
#   3. wait until every reachable follower has applied every write (a PUBLISHed nonce reached it);
#   4. SENTINEL FAILOVER, and wait until most sentinels name the new leader;
#   5. follow the new leader at once (Sentinel itself would wait failover-timeout), then READONLY no.
# Any step that fails ends the hand-over read-only: node_life (tile38-node-life.sh) makes it
# writable again once a majority of the sentinels names it and none is failing it over. A marker
# file with a deadline (handover_live) tells node_life that the read-only state is deliberate.
# One hand-over at a time per node (a lock in the data directory).
# Included after lib.sh, tile38-node.sh, tile38-sentinel-view.sh (sentinel_answers, replacing_me)
# and tile38-failover-phase.sh (failover_phase).
# Reads HANDOVER_SYNC_SECONDS, FAILOVER_TIMEOUT_MS.

HANDOVER_MARK="$DATA_DIR/.tile38-ha-handover"

# handover_live: a hand-over of this node is under way (its marker names a future deadline).
handover_live() {
  [ -s "$HANDOVER_MARK" ] && [ "$(date +%s)" -lt "$(cat "$HANDOVER_MARK" 2>/dev/null || echo 0)" ]
}

not_rewriting() { ! aof_rewriting; }

# caught_up_followers: the nodes that follow this one and have caught up once.
caught_up_followers() {
  local node stats
  for node in $TILE38_NODES; do
    [ "$node" = "$SELF" ] && continue
    stats=$(node_server "$node") || continue
    is_self "$(printf '%s' "$stats" | json_field following)" || continue
    [ "$(printf '%s' "$stats" | json_field caught_up_once)" = true ] || continue
    echo "$node"
  done
}

# subscribe NODE CHANNEL FILE: subscribes to CHANNEL on NODE, the replies in FILE, for at most
# 2 x HANDOVER_SYNC_SECONDS + 1 s (the wait for every subscription, then the wait for the nonce).
# The PIDs of the feeding sleep and of nc go to FILE.pids: `kill $!` of a background pipeline ends
# only its last command, and the others kept the preStop hook's output open: on a real kubelet
# every leader stop took 11 s longer.
subscribe() {
  # shellcheck disable=SC2016 # $$ and $1.. expand in the inner shell
  { resp AUTH "$(tile38_password)"; resp SUBSCRIBE "$2"; sh -c 'echo $$ >> "$1"; exec sleep "$2"' _ "$3.pids" "$((2 * HANDOVER_SYNC_SECONDS + 1))"; } |
    sh -c 'echo $$ >> "$1"; exec timeout "$2" nc -w 2 "$3" "$4"' _ "$3.pids" "$((2 * HANDOVER_SYNC_SECONDS + 2))" "$(endpoint_host "$1")" "$(endpoint_port "$1")" | tr -d '\r' > "$3"
}

# The hand-over's subscriptions and answers (a directory: one file per follower, its PIDs).
HANDOVER_DIR="$DATA_DIR/.tile38-ha-handover.d"
HANDOVER_CHANNEL="tile38-ha:handover"

# subscribe_followers NODE...: subscribes to the hand-over's channel on each follower and returns
# once each has confirmed (one that does not answer within HANDOVER_SYNC_SECONDS counts as down).
# Done before the leader turns read-only: dialling and AUTH cost 100-300 ms (a DNS lookup per node
# on Kubernetes) that writes no longer wait for.
# Sets SYNC_END, which followers_synced keeps to: both share HANDOVER_SYNC_SECONDS.
subscribe_followers() {
  local node
  rm -rf "$HANDOVER_DIR"; mkdir -p "$HANDOVER_DIR"
  for node in "$@"; do
    subscribe "$node" "$HANDOVER_CHANNEL" "$HANDOVER_DIR/$node" </dev/null 2>/dev/null &
    echo "$!" >> "$HANDOVER_DIR/all.pids"
  done
  SYNC_END=$(( $(date +%s) + HANDOVER_SYNC_SECONDS ))
  for node in "$@"; do
    until grep -q '^subscribe$' "$HANDOVER_DIR/$node" 2>/dev/null || [ "$(date +%s)" -ge "$SYNC_END" ]; do sleep 0.02; done
  done
}

# end_subscriptions: stops every subscription of subscribe_followers and removes its files.
end_subscriptions() {
  # shellcheck disable=SC2046 # one PID per word
  kill $(cat "$HANDOVER_DIR"/*.pids 2>/dev/null) 2>/dev/null || true
  rm -rf "$HANDOVER_DIR"
}

# followers_synced NODE... : true once every subscribed node holds every write this (read-only)
# leader acknowledged. AOF sizes are no measure: they differ between nodes after a failover. A
# PUBLISH travels the replication stream in order with the writes, so the leader publishes a
# nonce and each follower delivering it to our subscription has applied every write before it.
# Needs subscribe_followers first (its SYNC_END bounds this too); a node whose subscription was not
# confirmed counts as down.
followers_synced() {
  local nonce node ok confirmed
  nonce="handover-$$-$(date +%s)"
  node_call_self PUBLISH "$HANDOVER_CHANNEL" "$nonce" >/dev/null
  ok=""
  while [ "$(date +%s)" -lt "$SYNC_END" ]; do
    ok=1; confirmed=0
    for node in "$@"; do
      if grep -qx "$nonce" "$HANDOVER_DIR/$node" 2>/dev/null; then confirmed=$((confirmed + 1))
      elif grep -q '^subscribe$' "$HANDOVER_DIR/$node" 2>/dev/null; then ok=""; fi
    done
    [ "$confirmed" -gt 0 ] || ok=""
    [ -z "$ok" ] || break
    sleep 0.02
  done
  [ -n "$ok" ]
}

# abandon_handover WHY: ends a hand-over that could not move leadership. Not `READONLY no` here:
# a failover this hand-over asked for may still be promoting a follower, and writes taken meanwhile
# would be lost; node_life re-enables writes once the sentinels confirm this node (within ~1 s).
abandon_handover() {
  rm -f "$HANDOVER_MARK"
  log "hand-over abandoned ($1): writable again once a majority of the sentinels names this node and none fails it over"
  return 1
}

# One hand-over at a time per node. A force-deleted pod's preStop hook runs on after the kubelet
# stops waiting for it (1 s) and sends SIGTERM, whose handler hands over too: that second one found
# the node still leading while the first one's failover was under way, asked another sentinel for
# a failover of its own, and two followers were promoted: two writable leaders (seen on a real
# kubelet). The lock is a directory (mkdir is atomic) naming its owner's PID; a dead owner's lock
# is stale (the start script removes any left by an earlier incarnation). Not flock: busybox
# `timeout` (every call) leaves a watcher process, which inherits every descriptor, for up to 1 s:
# a lock on a descriptor outlived its hand-over, and every leader pod took 1 s longer to stop.
HANDOVER_LOCK="$DATA_DIR/.tile38-ha-handover.lock"
# The longest a hand-over lasts (its marker's deadline; how long another one waits for it): the
# subscriptions and the sync share HANDOVER_SYNC_SECONDS, the moment takes at most PHASE_SECONDS
# (tried on further sentinels for 2 s, each call bounded by 1 s, the wait at most 1.05 s), the
# failover failover-timeout.
PHASE_SECONDS=3
HANDOVER_BOUND_SECONDS=$((HANDOVER_SYNC_SECONDS + PHASE_SECONDS + FAILOVER_TIMEOUT_MS / 1000))

# take_handover_lock: takes the lock if it is free or its owner is gone; fails otherwise.
take_handover_lock() {
  local me rest owner
  # This shell's own PID ($$ is the script's, also in a subshell such as the start script's loop).
  read -r me rest < /proc/self/stat
  owner=$(cat "$HANDOVER_LOCK/pid" 2>/dev/null) || owner=""
  # No pid file: free, or its owner between mkdir and writing it (not stale).
  if [ -n "$owner" ] && ! kill -0 "$owner" 2>/dev/null; then
    rm -rf "$HANDOVER_LOCK"
    log "took over the hand-over lock of process $owner, which is gone"
  fi
  mkdir "$HANDOVER_LOCK" 2>/dev/null && echo "$me" > "$HANDOVER_LOCK/pid"
}

handover() {
  local status
  if ! take_handover_lock; then
    log "another hand-over of this node is under way: waiting for it to end"
    retry_for "$HANDOVER_BOUND_SECONDS" 0.1 take_handover_lock || { log "the other hand-over did not end within ${HANDOVER_BOUND_SECONDS}s"; return 1; }
  fi
  status=0
  handover_now || status=$?
  rm -rf "$HANDOVER_LOCK"
  return "$status"
}

# handover_now: the hand-over itself (steps 1-5 above), under the lock.
handover_now() {
  local role followers t0 deadline asked inprog sentinel answer leader answers answers_pid synced="" order phase_end
  role=$(node_role "$LOCAL_ENDPOINT") || { log "the node does not answer: nothing to hand over"; return 0; }
  if [ "$role" != master ]; then log "not the leader: nothing to hand over"; return 0; fi
  followers=$(caught_up_followers)
  if [ -z "$followers" ]; then log "no follower has caught up: leadership cannot move"; return 1; fi
  # AOFSHRINK closes every follower's link when it ends: not in the middle of the sync below.
  if aof_rewriting; then
    log "its AOF is being compacted: waiting for that to end first (at most ${HANDOVER_SYNC_SECONDS}s)"
    retry_for "$HANDOVER_SYNC_SECONDS" 0.2 not_rewriting || log "the compaction still runs: handing over anyway"
  fi
  deadline=$(( $(date +%s) + HANDOVER_BOUND_SECONDS ))
  # shellcheck disable=SC2086 # one node per word
  subscribe_followers $followers
  # The sentinel asked first is the one whose INFO the moment is timed to.
  order=""
  phase_end=$(( $(now_ms) + 2000 ))
  for sentinel in $SENTINELS; do
    if [ -z "$order" ] && [ "$(now_ms)" -lt "$phase_end" ] && failover_phase "$sentinel"; then order=$sentinel; fi
  done
  for sentinel in $SENTINELS; do [ "$sentinel" = "$order" ] || order="$order $sentinel"; done
  t0=$(now_ms)
  echo "$deadline" > "$HANDOVER_MARK"
  node_call_self READONLY yes | grep -q '^+OK' || { end_subscriptions; abandon_handover "READONLY yes was refused"; return 1; }
  log "read-only; waiting for $(echo "$followers" | tr '\n' ' ')to hold every write"
  # A sentinel failing this node over already (down, or asked by a hand-over that ended early):
  # a second failover, from a sentinel that has not heard of the first, would promote a second
  # follower; this node then waits for that one, read-only. Asked while the followers confirm.
  sentinel_answers > "$HANDOVER_DIR/answers" &
  answers_pid=$!
  # shellcheck disable=SC2086 # one node per word
  followers_synced $followers || synced=no
  wait "$answers_pid"
  answers=$(cat "$HANDOVER_DIR/answers")
  end_subscriptions
  [ -z "$synced" ] || { abandon_handover "followers did not confirm every write within ${HANDOVER_SYNC_SECONDS}s"; return 1; }
  asked=""; inprog=""
  if replacing_me "$answers"; then
    log "the sentinels are failing this node over already: waiting for that failover"
    inprog=1
  fi
  for sentinel in $order; do
    [ -z "$inprog" ] || break
    answer=$(sentinel_call "$sentinel" SENTINEL FAILOVER "$MASTER_NAME" | head -n 1)
    # Only +OK starts this hand-over's failover. -INPROG is a sentinel still finishing an earlier
    # failover of another node (Tile38 replicas never report master_link_status, so it waits for
    # failover-timeout): another sentinel can start ours, unless that failover is of this node.
    case "$answer" in
      +OK) log "sentinel $sentinel started the failover, $(( $(now_ms) - t0 )) ms after read-only"; asked=1; break ;;
      -INPROG*)
        log "sentinel $sentinel has a failover in progress"
        if replacing_me "$(sentinel_answers)"; then log "it is failing this node over: waiting for it"; inprog=1; fi ;;
      *) log "sentinel $sentinel refused the failover: ${answer:-no answer}" ;;
    esac
  done
  [ -n "$asked$inprog" ] || { abandon_handover "no sentinel started a failover"; return 1; }
  while :; do
    if leader=$(leader_from_sentinels); then
      if ! is_self "$leader"; then
        # Follow at once (Sentinel would convert this node only after failover-timeout); stay
        # read-only until that succeeds, so a stale client can never write here.
        if node_call_self FOLLOW "$(endpoint_host "$leader")" "$(endpoint_port "$leader")" | grep -q '^+OK'; then
          node_call_self READONLY no >/dev/null
          rm -f "$HANDOVER_MARK"
          log "leadership moved to $leader in $(( $(now_ms) - t0 )) ms; this node follows it"
          return 0
        fi
      fi
    fi
    [ "$(date +%s)" -lt "$deadline" ] || break
    sleep 0.1
  done
  if [ "$(node_role "$LOCAL_ENDPOINT")" != master ]; then rm -f "$HANDOVER_MARK"; return 0; fi
  if sentinels_name_self; then abandon_handover "the sentinels did not name a new leader in time"; return 1; fi
  # The sentinels name another leader but this node could not follow it: it stays read-only
  # (the marker expires; node_life never re-enables writes on a leader the sentinels
  # do not name) until Sentinel converts it or it restarts as a follower.
  log "the sentinels name another leader but FOLLOW failed: staying read-only"
  return 1
}
