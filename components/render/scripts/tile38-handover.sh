# shellcheck shell=sh
# tile38-ha: planned hand-over of leadership without losing an acknowledged write. Included by the
# stop script (Kubernetes preStop, Docker SIGTERM) and run on its own by `npm run failover`.
#   1. only the leader acts, and only when some follower has caught up once;
#   2. READONLY yes: from here on the leader acknowledges no write;
#   3. wait until every reachable follower holds the leader's whole AOF;
#   4. SENTINEL FAILOVER, and wait until most sentinels name the new leader;
#   5. follow the new leader at once (Sentinel itself would wait failover-timeout), then READONLY no.
# Any step that fails re-enables writes while this node still leads. A marker file with a deadline
# tells the node's priority loop that the read-only state is deliberate (see tile38-start.sh).
# Reads HANDOVER_SYNC_SECONDS, FAILOVER_TIMEOUT_MS.

HANDOVER_MARK="$DATA_DIR/.tile38-ha-handover"

# Milliseconds of uptime, for durations (busybox date has no %N).
now_ms() { awk '{ printf "%d\n", $1 * 1000 }' /proc/uptime; }

# caught_up_followers: the nodes that follow this one and have caught up once.
caught_up_followers() {
  for _n in $TILE38_NODES; do
    [ "$_n" = "$SELF" ] && continue
    _st=$(node_server "$_n") || continue
    [ "$(printf '%s' "$_st" | json_field following)" = "$SELF" ] || continue
    [ "$(printf '%s' "$_st" | json_field caught_up_once)" = true ] || continue
    echo "$_n"
  done
}

# followers_hold SIZE NODE... : true when every node that answers holds SIZE bytes of AOF.
followers_hold() {
  _want=$1; shift
  for _n in "$@"; do
    _sz=$(node_server "$_n" | json_field aof_size)
    [ -z "$_sz" ] && continue
    [ "$_sz" -ge "$_want" ] || return 1
  done
}

writable_again() {
  node_call_self READONLY no >/dev/null
  rm -f "$HANDOVER_MARK"
  log "hand-over abandoned ($1): this node leads and accepts writes again"
  return 1
}

handover() {
  _role=$(node_role "$LOCAL_HOST:$NODE_PORT") || { log "the node does not answer: nothing to hand over"; return 0; }
  if [ "$_role" != master ]; then log "not the leader: nothing to hand over"; return 0; fi
  _followers=$(caught_up_followers)
  if [ -z "$_followers" ]; then log "no follower has caught up: leadership cannot move"; return 1; fi
  _t0=$(now_ms)
  _deadline=$(( $(date +%s) + HANDOVER_SYNC_SECONDS + FAILOVER_TIMEOUT_MS / 1000 ))
  echo "$_deadline" > "$HANDOVER_MARK"
  node_call_self READONLY yes | grep -q '^+OK' || writable_again "READONLY yes was refused" || return 1
  _size=$(node_server "$LOCAL_HOST:$NODE_PORT" | json_field aof_size)
  log "read-only at AOF size $_size; waiting for $(echo "$_followers" | tr '\n' ' ')to hold it"
  _sync_end=$(( $(date +%s) + HANDOVER_SYNC_SECONDS ))
  # shellcheck disable=SC2086 # one node per word
  until followers_hold "$_size" $_followers; do
    [ "$(date +%s)" -lt "$_sync_end" ] || { writable_again "followers did not catch up within ${HANDOVER_SYNC_SECONDS}s"; return 1; }
    sleep 0.05
  done
  _asked=""
  for _s in $SENTINELS; do
    _ans=$(sentinel_call "$_s" SENTINEL FAILOVER "$MASTER_NAME" | head -n 1)
    case "$_ans" in
      +OK|-INPROG*) log "sentinel $_s: ${_ans#[+-]}"; _asked=1; break ;;
      *) log "sentinel $_s refused the failover: ${_ans:-no answer}" ;;
    esac
  done
  [ -n "$_asked" ] || { writable_again "no sentinel started a failover"; return 1; }
  while :; do
    if _leader=$(leader_from_sentinels); then
      # shellcheck disable=SC2086 # "host port"
      set -- $_leader
      if [ "$1:$2" != "$SELF" ]; then
        # Follow at once (Sentinel would convert this node only after failover-timeout); stay
        # read-only until that succeeds, so a stale client can never write here.
        if node_call_self FOLLOW "$1" "$2" | grep -q '^+OK'; then
          node_call_self READONLY no >/dev/null
          rm -f "$HANDOVER_MARK"
          log "leadership moved to $1:$2 in $(( $(now_ms) - _t0 )) ms; this node follows it"
          return 0
        fi
      fi
    fi
    [ "$(date +%s)" -lt "$_deadline" ] || break
    sleep 0.1
  done
  if [ "$(node_role "$LOCAL_HOST:$NODE_PORT")" != master ]; then rm -f "$HANDOVER_MARK"; return 0; fi
  if sentinels_name_self; then writable_again "the sentinels did not name a new leader in time"; return 1; fi
  # The sentinels name another leader but this node could not follow it: it stays read-only
  # (the marker expires; the priority loop never re-enables writes on a leader the sentinels
  # do not name) until Sentinel converts it or it restarts as a follower.
  log "the sentinels name another leader but FOLLOW failed: staying read-only"
  return 1
}
