# shellcheck shell=sh
# tile38-ha: what the sentinels think of this Tile38 node, one round a second, for the priority
# loop's fence, step-down and lead-by-name, and for the stall guard. Included by the start script
# after lib.sh (sentinel_view, majority_vote), tile38-node.sh (is_self, SELF) and before
# tile38-fence.sh; also what an empty node asks before it serves (stale_info_wait).
# Reads SENTINELS, DATA_DIR, FENCE_AFTER_MS, MASTER_NAME.

# Sentinels that must name a leader for it to stay writable: a majority of all of them.
# shellcheck disable=SC2086 # one sentinel per word
SENTINEL_MAJORITY=$(( $(set -- $SENTINELS; echo $#) / 2 + 1 ))

# each_sentinel_at_once FN [ARG...]: one line per sentinel of $SENTINELS, in that order: the first
# line of `FN SENTINEL ARG...` (empty when it fails or does not answer), all asked at once, each
# bounded by 1 s: a cut-off sentinel costs 1 s, not 3 per question.
each_sentinel_at_once() {
  local dir fn i pids sentinel
  dir=$(mktemp -d "$DATA_DIR/.tile38-ha-answers.XXXXXX") || return 0
  fn=$1; shift
  i=0; pids=""
  for sentinel in $SENTINELS; do
    i=$((i + 1))
    # shellcheck disable=SC2034 # CALL_TIMEOUT and NC_TIMEOUT bound rsend (lib.sh)
    (CALL_TIMEOUT=1; NC_TIMEOUT=1; "$fn" "$sentinel" "$@" > "$dir/$i" 2>/dev/null) &
    pids="$pids $!"
  done
  # shellcheck disable=SC2086 # one PID per word (the caller may have other children: wait only for these)
  wait $pids
  i=0
  for sentinel in $SENTINELS; do
    i=$((i + 1))
    # An empty file (the call failed or printed nothing) is an empty line too.
    if [ -s "$dir/$i" ]; then head -n 1 "$dir/$i"; else echo; fi
  done
  rm -rf "$dir"
}

# sentinel_answers: one line per sentinel, its sentinel_view (empty when it does not answer): one
# round a second serves the fence, the step-down and lead-by-name.
sentinel_answers() { each_sentinel_at_once sentinel_view; }

# confirmations ANSWERS: "COUNT AGE_MS": how many sentinels confirm this node as a healthy leader
# (name it, and monitor it without flagging it down or in failover, or are promoting it), and for
# the most recent majority of them, the longest time since their last valid PING reply from it
# (empty without a majority).
# The fence's clock is the sentinels' own contact with this node: a leader whose clients still
# reach it, but whose sentinels have not heard from it, is fenced before they can promote.
confirmations() {
  local count=0 ages="" named monitored flags age
  while read -r named monitored flags age; do
    if [ -z "$named" ] || ! is_self "$named"; then continue; fi
    if is_self "$monitored"; then
      # Not `disconnected`: a sentinel that just switched to this node shows it for ~1 s (it
      # reconnects once per PING period); the age of its last valid PING reply says enough.
      case ",$flags," in *,s_down,* | *,o_down,* | *,failover_in_progress,*) continue ;; esac
    else
      # It names this node while it still monitors the one it fails over: it is promoting this
      # node right now (until its failover ends, SENTINEL MASTER shows the old leader).
      age=0
    fi
    count=$((count + 1)); ages="$ages ${age:-0}"
  done <<EOF_ANSWERS
$1
EOF_ANSWERS
  # shellcheck disable=SC2086 # one age per word
  echo "$count $(printf '%s\n' $ages | sort -n | sed -n "${SENTINEL_MAJORITY}p")"
}

# majority_confirms ANSWERS: a majority confirms this node and has heard from it within
# FENCE_AFTER_MS; prints that majority's AGE_MS (see confirmations).
majority_confirms() {
  # shellcheck disable=SC2046 # "COUNT AGE_MS"
  set -- $(confirmations "$1")
  [ "$1" -ge "$SENTINEL_MAJORITY" ] && [ "${2:-0}" -lt "$FENCE_AFTER_MS" ] && echo "${2:-0}"
}

# confirms_this_incarnation ANSWERS: majority_confirms, and the contact it counts came after this
# incarnation's server started (SERVER_STARTED_MS): the sentinels' links reach THIS process, not
# an address an earlier incarnation had. Prints the age.
confirms_this_incarnation() {
  local age
  age=$(majority_confirms "$1") || return 1
  [ $(($(now_ms) - age)) -ge "${SERVER_STARTED_MS:-0}" ] && echo "$age"
}

# replacing_me ANSWERS: true when a sentinel that monitors this node reports it objectively down or
# a failover of it in progress: a follower is being promoted right now. Not a failover in its
# reconfiguration phase (the sentinel names the node it promoted) that a later one overtook
# (overtaken_failover): Tile38 never reports master_link_status, so the sentinel that led a
# failover stays in that phase, SENTINEL MASTER listing this node with failover_in_progress, until
# its watchdog ends it; a hand-over that promoted this node meanwhile was fenced by it for 2-5 s.
replacing_me() {
  local named monitored flags age
  while read -r named monitored flags age; do
    if [ -z "$monitored" ] || ! is_self "$monitored"; then continue; fi
    case ",$flags," in
      *,o_down,*) return 0 ;;
      *,failover_in_progress,*)
        if is_self "$named" || ! overtaken_failover "$1" "$named"; then return 0; fi ;;
    esac
  done <<EOF_ANSWERS
$1
EOF_ANSWERS
  return 1
}

# overtaken_failover ANSWERS PROMOTED: PROMOTED, the node a failover of this one promoted, takes
# no writes (it follows, is read-only, or does not answer: it handed over, or was replaced, since),
# or a majority of the sentinels names this node. A failover that promoted a node which leads is a
# replacement, whatever the others say yet.
overtaken_failover() {
  local stats named
  stats=$(node_server "$2") || stats=""
  case $stats in
    *'"following":'* | *'"read_only":true'* | '') return 0 ;;
  esac
  named=$(printf '%s\n' "$1" | cut -d' ' -f1 | while read -r n; do if [ -n "$n" ] && is_self "$n"; then echo x; fi; done | wc -l)
  [ "$named" -ge "$SENTINEL_MAJORITY" ]
}

# named_leader ANSWERS: the leader most answering sentinels name ("host:port"); fails when none answers.
named_leader() { printf '%s\n' "$1" | grep . | cut -d' ' -f1 | majority_vote; }

# sentinels_see_me_eligible: a majority of the sentinels list this follower as a replica they
# could promote now (flags exactly `slave`: not down, not disconnected; priority above 0), and have
# had a PING reply from THIS incarnation (since SERVER_STARTED_MS). A pod back with a new address
# is counted down by the sentinels for up to ~16 s while it already serves (measured on a real
# kubelet, Sentinel 7.0.15): a rollout that moved on before they see it again took the leader away
# with no replica to hand over to. And a node back within down-after is still listed as a healthy
# `slave` from its earlier incarnation's link, down moments later: a rolling update whose followers
# stopped at once moved on to the leader while both were so listed, and its hand-over found no
# replica to promote (a real kubelet, CI). All asked at once, 1 s each.
sentinels_see_me_eligible() {
  local since yes
  since=$(( $(now_ms) - ${SERVER_STARTED_MS:-0} ))
  yes=$(each_sentinel_at_once sentinel_replica_view "$NODE_HOST:$NODE_PORT" | awk -v since="$since" '$1 == "slave" && $2 > 0 && $3 != "" && $3 < since' | wc -l)
  [ "$yes" -ge "$SENTINEL_MAJORITY" ]
}

# Seconds Sentinel trusts a replica's last INFO while the leader is down (5 pings of 1 s), plus one.
STALE_INFO_SECONDS=6

# replica_info_age SENTINEL: ms since SENTINEL's last INFO of this node's address, or "none" when it
# has none: it does not list the address as a replica, or lists it (a `known-replica` line of its
# config, a replica it just learnt of) without any INFO from it (master-host `?`: set by the first
# INFO). Fails when it does not answer. Sentinel reports info-refresh 0 for an INFO it never had:
# with a master-host, 0 counts as fresh.
replica_info_age() {
  local rows
  rows=$(sentinel_replicas "$1" name info-refresh master-host) || return 1
  printf '%s\n' "$rows" | awk -v me="$SELF" '
    $1 == me { age = $2; host = $3 }
    END { print ((age == "" || age == "-" || host == "?") ? "none" : age) }'
}

# stale_info_wait: seconds an empty node waits before it serves, so that no sentinel still trusts
# an INFO of a process that ran at its address before (see main in tile38-start.sh). It asks instead of waiting out
# STALE_INFO_SECONDS every time: none when every sentinel answers and none lists this address (a
# new cluster: 6 s of every first deploy), what is left of STALE_INFO_SECONDS since the freshest
# INFO a sentinel holds otherwise, and all of it when a sentinel does not answer (a stalled one
# keeps what it knew).
stale_info_wait() {
  local ages seconds age left
  ages=$(each_sentinel_at_once replica_info_age)
  seconds=0
  while read -r age; do
    case "$age" in
      none) ;;
      '' | *[!0-9]*) seconds=$STALE_INFO_SECONDS ;;
      *) left=$(( (STALE_INFO_SECONDS * 1000 - age + 999) / 1000 ))
         [ "$age" -gt 0 ] || left=$STALE_INFO_SECONDS
         [ "$left" -le "$seconds" ] || seconds=$left ;;
    esac
  done <<EOF_AGES
$ages
EOF_AGES
  echo "$seconds"
}

# SENTINEL_TIMING (rendered: components/render/sentinelTiming.ts, which says why each value) is
# Sentinel's timing as SENTINEL DEBUG name/value pairs, set on every sentinel that differs.

# tune_sentinel SENTINEL: sets SENTINEL_TIMING on SENTINEL where it differs; prints what it set.
tune_sentinel() {
  local sentinel="$1" debug changes have
  debug=$(sentinel_call "$sentinel" SENTINEL DEBUG) || return 0
  # shellcheck disable=SC2086 # name value pairs
  set -- $SENTINEL_TIMING
  changes=""
  while [ $# -ge 2 ]; do
    have=$(printf '%s\n' "$debug" | reply_fields "$1" | head -n 1)
    if [ -n "$have" ] && [ "$have" != "$2" ]; then changes="$changes $1 $2"; fi
    shift 2
  done
  [ -n "$changes" ] || return 0
  # shellcheck disable=SC2086 # name value pairs
  sentinel_call "$sentinel" SENTINEL DEBUG $changes | grep -q '^+OK' && echo "$changes"
}

# tune_sentinels: tune_sentinel on every sentinel, each bounded by 1 s (node_life runs it every
# TUNE_EVERY_STEPS steps, in the background).
# shellcheck disable=SC2034 # read by node_life (tile38-node-life.sh)
TUNE_EVERY_STEPS=10
tune_sentinels() {
  local sentinel changes
  for sentinel in $SENTINELS; do
    # shellcheck disable=SC2034 # CALL_TIMEOUT and NC_TIMEOUT bound rsend (lib.sh)
    changes=$(CALL_TIMEOUT=1; NC_TIMEOUT=1; tune_sentinel "$sentinel") && [ -n "$changes" ] && log "sentinel $sentinel: its timing set (SENTINEL DEBUG$changes)"
  done
  return 0
}
