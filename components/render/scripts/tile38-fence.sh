# shellcheck shell=sh
# tile38-ha: a leader the sentinels replaced while it was stalled (SIGSTOP, `docker pause`, a
# starved host) or cut off stops acknowledging writes as soon as it runs again. Included by the
# start script after tile38-node.sh, tile38-handover.sh (handover_live) and
# tile38-clients.sh (drop_clients).
# Measured without this: a leader frozen until a follower was promoted, then resumed, acknowledged
# every write of the clients still connected to it for ~10 s, until Sentinel converted it to a
# replica, and all of them were lost (about 950 per client writing every 10 ms).
# - stall_guard (beside the server) notices the stall the moment the node runs again: a SIGCONT
#   (trapped), or its 0.2 s tick taking longer than STALL_MS; it makes the node read-only at once,
#   then steps down if the sentinels name another leader, and else makes it writable again;
# - step_down_if_deposed (node_life, every second) steps down a leader that was cut off
#   without a stall, once it is deposed at 3 checks in a row.
# A follower made read-only here is made writable again at once (a follower refuses writes anyway).
STALL_MS=1500

# deposed_by OWN_ID [NAMED]: "host:port" of the leader the sentinels name (NAMED, this round's
# answer, else asked now), when that is another Tile38 (another server id) that reports role
# master; fails otherwise.
deposed_by() {
  local named their_id
  named=${2:-}
  [ -n "$named" ] || named=$(leader_from_sentinels) || return 1
  is_self "$named" && return 1
  their_id=$(node_server "$named" | json_field id)
  [ -n "$their_id" ] && [ "$their_id" != "$1" ] || return 1
  [ "$(node_role "$named")" = master ] || return 1
  echo "$named"
}

# step_down BY: READONLY yes, then follow BY ("host:port"), the leader the sentinels name (what
# Sentinel would do only after its next INFO of this node and a convert-to-slave, ~10 s later).
# When its whole AOF is a prefix of BY's (a leader frozen or cut off after every write it took had
# reached the others), FOLLOW at once: Tile38 finds the file intact and streams the rest, without
# a reload (a restart costs the AOF's load: at 1 M points 12-16 s in which, after a kill of the
# other follower, no node was promotable and the next leader loss was not failed over).
# Otherwise through restart_as_follower (tile38-node-life.sh), which first trims the writes BY lacks.
step_down() {
  local size on_disk why
  node_call_self READONLY yes >/dev/null
  # Clients still connected here would only be refused from now on: send them to the sentinels,
  # whose GET-MASTER-ADDR-BY-NAME already names the new leader.
  drop_clients
  size=$(node_server "$LOCAL_ENDPOINT" | json_field aof_size)
  on_disk=$(aof_size_on_disk)
  # Below 1 MiB Tile38 does not resume a follow from the file (see AOF_FLOOR_BYTES).
  if ! [ "${size:-0}" -ge $((2 * TILE38_CHECKSUM_BYTES)) ] 2>/dev/null; then
    why="its AOF (${size:-unknown} bytes) is below 1 MiB"
  elif [ "$on_disk" != "$size" ]; then
    why="its AOF file ($on_disk bytes) is not what its server counts ($size)"
  elif [ "$(aof_matches "$1" "$size")" != + ]; then
    why="its AOF is not a prefix of $1's"
  elif ! node_call_self FOLLOW "$(endpoint_host "$1")" "$(endpoint_port "$1")" | grep -q '^+OK'; then
    why="FOLLOW was refused"
  else
    log "the sentinels name $1, which leads: this node stopped leading; its AOF is a prefix of $1's: following it without a restart"
    return 0
  fi
  restart_as_follower "the sentinels name $1, which leads: this node stopped leading ($why)"
}

# step_down_if_deposed OWN_ID NAMED: on a leader, from node_life: deposed 3 checks in a row
# (a follower promoted a moment ago is named by one sentinel before the others, which still name
# the old leader: one check could make the NEW leader step down). Counted in DEPOSED_STRIKES.
step_down_if_deposed() {
  local by
  [ -n "$2" ] || { clear_strikes DEPOSED_STRIKES; return 1; }
  by=$(deposed_by "$1" "$2") || { clear_strikes DEPOSED_STRIKES; return 1; }
  strike DEPOSED_STRIKES 3 || return 1
  clear_strikes DEPOSED_STRIKES
  step_down "$by"
}

# on_stall MS: the node did not run for about MS ms. Read-only first (nothing written from here
# on can be lost), then: a follower is writable again at once; a leader deposed at two checks
# 0.5 s apart steps down; a leader the sentinels still name is writable again.
on_stall() {
  local stats id by answers
  handover_live && return 0
  node_call_self READONLY yes >/dev/null
  stats=$(node_server "$LOCAL_ENDPOINT") || return 0
  if printf '%s' "$stats" | grep -q '"following"'; then node_call_self READONLY no >/dev/null; return 0; fi
  id=$(printf '%s' "$stats" | json_field id)
  if by=$(deposed_by "$id") && sleep 0.5 && [ "$(deposed_by "$id")" = "$by" ]; then
    log "stalled for ${1} ms and replaced meanwhile"
    step_down "$by"
  elif ! handover_live && answers=$(sentinel_answers) && confirms_this_incarnation "$answers" >/dev/null && ! replacing_me "$answers"; then
    node_call_self READONLY no >/dev/null
    log "stalled for ${1} ms; the sentinels still name this node: writable again"
  else
    # No sentinel answers, or they name a node that does not lead yet: node_life makes
    # the node writable again once the sentinels name it (or it steps down).
    log "stalled for ${1} ms; the sentinels do not name this node now: read-only until they do"
  fi
}

# stall_guard SERVER_PID: runs until that server exits.
STALLED=""
stall_guard() {
  local prev now
  trap 'STALLED=1' CONT
  prev=$(now_ms)
  while kill -0 "$1" 2>/dev/null; do
    sleep 0.2 &
    wait $! || true
    now=$(now_ms)
    if [ -n "$STALLED" ] || [ $((now - prev)) -ge "$STALL_MS" ]; then
      STALLED=""
      on_stall "$((now - prev))"
      now=$(now_ms)
    fi
    prev=$now
  done
}
