# shellcheck shell=sh
# tile38-ha: the life of a running Tile38 node as one explicit state machine, one step a second
# (node_life, started beside the server by the start script). Included by the start script after
# lib.sh, tile38-node.sh, tile38-handover.sh (handover, handover_live), tile38-clients.sh
# (mind_clients), tile38-sentinel-view.sh (sentinel_answers…) and tile38-fence.sh (stall_guard,
# step_down_if_deposed).
#
# The facts each step reads: the node's role (INFO: master, slave, or no answer while a follower
# has never caught up), its SERVER stats, for a follower its AOF against its leader's, and for a
# leader what every sentinel says of it (sentinel_answers). The states (NODE_STATE), and what moves
# the node between them:
#
#   catching-up  follows and has never caught up (the server refuses INFO); a server started as a
#                follower starts here (node_life's STARTED_AS). Not ready. Follows
#                the leader the sentinels name if its own is not that one (follow_the_sentinels).
#   following    follows a leader its AOF has not been checked against yet. Not ready;
#                promotable only while trusted (TRUSTED_LEADER: caught up and found a prefix of
#                its leader's, this one's or the one it followed before, and nothing has cut,
#                emptied or doubled its file since).
#                  caught up, its AOF a prefix of the leader's ................... verified
#                  it counts its AOF twice (see reloading), its file a prefix .... reloading
#                  its AOF not a prefix, or longer for AOF_FLUSH_GRACE_MS ........ diverged
#                  not caught up with a leader that answers, its AOF neither growing nor a
#                  prefix of the leader's for STUCK_FOLLOW_MS (follow_stuck) .......... diverged
#                  (not while its leader's rewrite is the reason: rewritten_since_mine, or its
#                  file emptied for the fetch that follows; checked again once caught up)
#                  caught up, its AOF not starting like its leader's rewritten one for
#                  STUCK_FOLLOW_MS (rewrite_pending: it resumed in the wrong file) .. diverged
#   verified     caught up with VERIFIED_LEADER, its AOF a prefix of that one's. Ready once a
#                majority of the sentinels list it as a replica they could promote.
#                  following another leader ..................................... following
#                  its file shrank, or it counts its AOF twice (untrusted) ....... following
#                  its AOF no longer starts like its leader's (starts_like_leader:
#                  the leader rewrote it, or a follow resumed in another file; untrusted) following
#   reloading    Tile38 found its AOF no prefix of its leader's (the leader rewrote its AOF:
#                AOFSHRINK closes every follower's link), emptied the file, fetched the
#                leader's whole and applied it over its memory: it counts its AOF twice
#                (aof_size above its file; promoted so, its followers would wait for bytes it
#                never sends) and its memory may keep objects deleted while its link was down.
#                Its file is a prefix of the leader's, so a restart loads the right data: it
#                restarts in place (no download) once no node before it in TILE38_NODES is
#                reloading (at most RELOAD_TURN_MS: it never waits for a dead node), one node
#                at a time. Replica-priority 0 until then; not ready. The restarted run trusts
#                the file (found a prefix just before: RELOAD_TRUST_MARK) once its server has
#                caught up with a leader (trust_after_reload), in any follower state.
#                  following another leader ..................................... following
#   diverged     may hold writes its leader never had: replica-priority 0 (never promoted), and
#                it resyncs from scratch after RESYNC_SETTLE_MS, once its leader answers (it never
#                waits for a dead node: it is not promotable while it waits).
#                  a later check that matches ................................... verified
#   orphaned     its leader does not answer and its link is down (the leader died); promotable
#                only if still trusted (never once its data is in doubt). It ranks
#                itself among the followers of that leader by AOF size, replica-priority
#                REPLICA_PRIORITY + the number of them holding more (Sentinel prefers the lowest
#                priority, and with Tile38 it cannot tell the most advanced follower: a follower
#                reports slave_repl_offset 0 from its first retry to reach a dead leader on, so it
#                would pick one by run id and the other's extra writes, acknowledged, were lost).
#                  its leader answers, or it follows another ................. following
#                  the sentinels name another node, which leads (3 checks): it follows that one
#   unconfirmed  leads, read-only. A server started as the leader starts here: a pod back at a new address, or a
#                leader restarted after a hand-over that could not happen, is still named while
#                the sentinels' links point at the old address, and they fail it over moments
#                later (measured on a real kubelet: 32 writes lost in a rolling update). Not ready.
#                  a majority of the sentinels confirms THIS incarnation (named, monitored, not
#                  down, heard from since its server started) and none fails it over .. leading
#   leading      leads and takes writes. Ready.
#                  a sentinel reports it down or fails it over (fenced at once) ...... unconfirmed
#                  no majority has confirmed it for FENCE_AFTER_MS (fenced) .......... unconfirmed
#                  its AOF would pass AOF_COMPACT_RATIO x its compacted size before a rewrite
#                  started one step later ended (compaction_due: AOF_GROWTH a step, the last
#                  rewrite's COMPACT_STEPS; AOF_PREV_SIZE, its size at its previous step in
#                  `leading`, forgotten when it becomes a leader again; the compacted size
#                  scaled to the objects it holds now: compacted_size), at least
#                  AOF_COMPACT_MIN_BYTES, every other node following it caught up, no
#                  hand-over, no backup upload (AOFSHRINK) ........................... compacting
#                  its aof_size beyond its file (promoted so, which priority 0 prevents) compacting
#   compacting   leads and takes writes while Tile38 rewrites its AOF from memory (writes
#                meanwhile go to both files). Ready. Fenced like `leading`; a hand-over waits
#                for the rewrite to end (handover_now, tile38-handover.sh). Counts its steps
#                (COMPACT_RUN_STEPS).
#                  the rewrite ended (its AOF starts with this compaction's own object): its new
#                  size is the compacted size (COMPACTED_MARK, published as !tile38-ha aof-size), its
#                  steps the next trigger's COMPACT_STEPS ............................ leading
#   role master in any follower state (promoted by the sentinels) .................. leading
#   In `leading`, a leader whose AOF is below AOF_FLOOR_BYTES writes the floor object
#   (write_aof_floor, tile38-node.sh): Tile38 resumes a follow from a shorter AOF by appending the
#   leader's whole AOF to it.
#   role slave in a leader state (stepped down, handed over, converted) ............ following
#
# Every TUNE_EVERY_STEPS steps, whatever its state, it sets Sentinel's timing on any sentinel that
# lost it (tune_sentinels, tile38-sentinel-view.sh: a restarted sentinel has its defaults).
# Besides, in both leader states: deposed at 3 checks in a row, it steps down: it starts again
# as a follower of the leader the sentinels name (step_down_if_deposed, restart_as_follower); named by an IP address while hosts are names,
# it hands over (lead_by_name). While a hand-over runs (its marker, handover_live) its read-only
# state is the hand-over's: no step changes it. A follower has replica-priority 0 until it has
# caught up once (Tile38 #750; not `caught_up`, which turns false on every follower the moment the
# leader dies and would leave Sentinel no follower to promote), while it is not trusted (see
# TRUSTED_LEADER), and in `diverged` and `reloading`; it is never read-only. The stall guard (tile38-fence.sh) runs beside this loop: it acts the moment the
# process runs again after a stall, before the next step could.

# Present while the node is ready (leading, or verified and promotable); the Docker health check
# and the pod's readiness probe read it. A rollout moves to the next node only then: never while
# this one may resync, nor while the sentinels could not hand leadership over to it.
READY_MARK="$DATA_DIR/.tile38-ha-ready"

NODE_STATE=unconfirmed
# When a majority of the sentinels last confirmed this node as leader (now_ms; a follower keeps it
# current, so that a promoted node's fence clock starts at its promotion).
LAST_CONFIRMED_MS=0
VERIFIED_LEADER=""
# In `reloading`: the leader that compacted (a follower that follows another leaves the state).
RELOAD_LEADER=""
DIVERGED_SINCE=""

# enter STATE: the node is in STATE from now on (logged when it changes). VERIFIED_LEADER is
# only ever set in `verified`: a node that left it (its leader changed, or it diverged) checks
# its AOF again against whichever leader it follows next, also the one it had verified before
# (CI: a follower left `verified` for another leader, diverged from that one, and when leadership
# moved back stayed diverged, priority 0, for ever: the old VERIFIED_LEADER skipped the check).
enter() {
  [ "$1" = verified ] || VERIFIED_LEADER=""
  [ "$NODE_STATE" != "$1" ] || return 0
  log "state $NODE_STATE -> $1"
  NODE_STATE=$1
}

# node_life: one step a second until the server exits (the start script then kills it).
# node_life STARTED_AS: the loop, for a server the start script started as `leader` or `follower`.
# A leader starts in `unconfirmed`; a follower in `catching-up`, its fence clock at its start (as
# every follower step keeps it), so that a promotion before its first step is one like any other
# (it started in `unconfirmed`: promoted by a hand-over a moment after its restart, it turned
# read-only until the sentinels confirmed it, the scale bench's 2.2 s hand-over pause).
node_life() {
  # current: the replica-priority this loop last set (a leader's INFO does not report its own).
  local step=0 current="" info role followed stats want have
  if [ "$1" = follower ]; then NODE_STATE=catching-up; LAST_CONFIRMED_MS=$(now_ms); fi
  # This run's only chance to read a reload's trust (see RELOAD_TRUST_MARK).
  CARRIED_TRUST=$(cat "$RELOAD_TRUST_MARK" 2>/dev/null || true)
  rm -f "$RELOAD_TRUST_MARK"
  stall_guard "$SERVER_PID" &
  while :; do
    sleep 1
    step=$((step + 1))
    [ $((step % TUNE_EVERY_STEPS)) != 1 ] || tune_sentinels &
    info=$(node_call_self INFO replication)
    role=$(printf '%s\n' "$info" | info_field role)
    if [ -z "$role" ]; then
      enter catching-up
      # A follower's fence clock, as follower_step keeps it: promoted while still loading (a
      # restarted node, 4 s at 1 M points), it was fenced at once for the time it had loaded.
      LAST_CONFIRMED_MS=$(now_ms)
      rm -f "$READY_MARK"
      followed=$(config_follow_target) && follow_the_sentinels "$followed"
      continue
    fi
    stats=$(node_server "$LOCAL_ENDPOINT") || continue
    mind_clients "$role"
    want=$REPLICA_PRIORITY
    if [ "$role" = master ]; then
      leader_step "$stats"
      have=$current
    else
      follower_step "$info" "$stats"
      have=$(printf '%s\n' "$info" | info_field slave_priority)
      [ "$(printf '%s' "$stats" | json_field caught_up_once)" = true ] || want=0
      [ -n "$TRUSTED_LEADER" ] || want=0
      case $NODE_STATE in diverged | reloading) want=0 ;; esac
      [ "$NODE_STATE" != orphaned ] || [ "$want" = 0 ] || want=$((want + ORPHAN_RANK))
    fi
    mark_ready "$stats"
    [ "$want" = "$have" ] && continue
    if node_call_self CONFIG SET replica-priority "$want" | grep -q '^+OK'; then
      node_call_self CONFIG REWRITE >/dev/null
      log "replica-priority is now $want (role $role)"
      current=$want
    fi
  done
}

# mark_ready STATS: the ready mark for this step's state (see READY_MARK); STATS: the node's SERVER
# stats (JSON).
mark_ready() {
  local stats="$1"
  case $NODE_STATE in
    leading | compacting) [ -f "$READY_MARK" ] || : > "$READY_MARK" ;;
    verified)
      if [ "$(printf '%s' "$stats" | json_field caught_up)" = true ]; then
        [ -f "$READY_MARK" ] || { sentinels_see_me_eligible && : > "$READY_MARK"; } || true
      else
        rm -f "$READY_MARK"
      fi ;;
    *) rm -f "$READY_MARK" ;;
  esac
}

# leader_step STATS: a step with role master; STATS: the node's SERVER stats (JSON).
leader_step() {
  local stats="$1" answers named id read_only now age replacing confirmed
  # shellcheck disable=SC2034 # read by compaction_step (tile38-compaction.sh): a follower's AOF grew by the leader's writes
  # A leader is trusted again as a follower only once it has caught up and checked (see
  # TRUSTED_LEADER): its own writes are in no leader's AOF yet.
  case $NODE_STATE in unconfirmed | leading | compacting) ;; *) AOF_PREV_SIZE=""; TRUSTED_LEADER=""; mark_from_published || true; enter leading ;; esac
  answers=$(sentinel_answers)
  named=$(named_leader "$answers") || named=""
  id=$(printf '%s' "$stats" | json_field id)
  read_only=$(printf '%s' "$stats" | json_field read_only)
  now=$(now_ms)
  if age=$(confirms_this_incarnation "$answers"); then
    [ $((now - age)) -le "$LAST_CONFIRMED_MS" ] || LAST_CONFIRMED_MS=$((now - age))
  fi
  replacing=""
  if replacing_me "$answers"; then replacing=1; fi
  confirmed=""
  if [ "$LAST_CONFIRMED_MS" -gt $((now - FENCE_AFTER_MS)) ] && [ -z "$replacing" ]; then confirmed=1; fi
  case $NODE_STATE in
    leading | compacting)
      if handover_live; then
        :
      elif [ -n "$replacing" ]; then
        fence "the sentinels report it down or are failing it over"
      elif [ $((now - LAST_CONFIRMED_MS)) -ge "$FENCE_AFTER_MS" ]; then
        fence "no majority of the sentinels has heard from this node as leader for $((now - LAST_CONFIRMED_MS)) ms (they answer: $(printf "%s" "$answers" | tr "\n" "|"))"
      elif [ "$read_only" = true ] && [ -n "$confirmed" ]; then
        # A hand-over that was abandoned leaves the node read-only until this.
        node_call_self READONLY no >/dev/null && log "a majority of the sentinels names this node: writes re-enabled"
      elif [ "$(printf '%s' "$stats" | json_field aof_size)" -lt "$AOF_FLOOR_BYTES" ] 2>/dev/null; then
        write_aof_floor && log "its AOF was below the floor of $AOF_FLOOR_BYTES bytes: the floor object is written"
      else
        compaction_step "$(printf '%s' "$stats" | json_field aof_size)" "$(printf '%s' "$stats" | json_field num_objects)"
      fi ;;
    unconfirmed)
      if [ -n "$confirmed" ]; then
        if [ "$read_only" = true ] && ! handover_live; then
          node_call_self READONLY no >/dev/null && log "a majority of the sentinels names this node: writes re-enabled (fence lifted)"
        fi
        enter leading
      elif [ "$read_only" = false ] && ! handover_live; then
        # Whatever made it writable meanwhile (the stall guard), it stays read-only.
        node_call_self READONLY yes >/dev/null
      fi ;;
  esac
  lead_by_name "$id" "$named"
  step_down_if_deposed "$id" "$named" || true
}

# fence WHY: leading -> unconfirmed: read-only until a majority names it again. Before the other
# side can promote a follower, a leader cut off from the sentinels, or frozen, stops acknowledging
# writes.
fence() {
  if node_call_self READONLY yes | grep -q '^+OK'; then
    log "fenced: $1: read-only until a majority names it again"
    enter unconfirmed
  fi
}

# follower_step INFO STATS: a step with role slave; INFO: the node's INFO replication, STATS: its
# SERVER stats (JSON).
follower_step() {
  local info="$1" stats="$2" leader
  case $NODE_STATE in following | verified | diverged | orphaned | reloading) ;; *) DIVERGED_SINCE=""; enter following ;; esac
  LAST_CONFIRMED_MS=$(now_ms)
  if [ "$(printf '%s' "$stats" | json_field read_only)" = true ]; then
    node_call_self READONLY no >/dev/null && log "a follower is never read-only: cleared"
  fi
  leader=$(info_leader "$info")
  keep_trust "$(printf '%s' "$stats" | json_field aof_size)"
  trust_after_reload "$stats"
  if leader_lost "$leader" "$stats"; then
    ORPHAN_RANK=$(followers_ahead "$leader" "$(printf '%s' "$stats" | json_field aof_size)")
    [ "$NODE_STATE" = diverged ] || enter orphaned
    # A leader the sentinels already name is followed without waiting for Sentinel to reconfigure
    # this node (it waits failover-timeout for a replica that reports another leader).
    follow_the_sentinels "$leader"
    return 0
  fi
  [ "$NODE_STATE" != orphaned ] || enter following
  follow_the_sentinels "$leader"
  if [ "$NODE_STATE" = reloading ]; then
    if [ "$leader" = "$RELOAD_LEADER" ]; then reload_step "$leader"; return 0; fi
    enter following
  fi
  if [ "$NODE_STATE" = verified ] && [ "$leader" != "$VERIFIED_LEADER" ]; then enter following; fi
  if [ "$(printf '%s' "$stats" | json_field caught_up)" = true ]; then
    STUCK_SINCE=""
    if [ "$leader" = "$VERIFIED_LEADER" ]; then
      starts_like_leader "$leader"
    else
      follower_matches_leader "$leader" "$(printf '%s' "$stats" | json_field aof_size)"
    fi
  else
    REWRITE_PENDING_SINCE=""
    follow_stuck "$leader"
  fi
}

# Promotable (replica-priority above 0) only while TRUSTED_LEADER is set: this node had caught up
# with that leader and found its AOF file a prefix of that leader's (TRUSTED_SIZE bytes then), and
# nothing since can have made its data anything else: its file never shrank below that size
# (Tile38 truncates it, or empties it, when it follows a leader that does not hold it), its server
# never counted it twice, it never reloaded or diverged. The trust survives a change of leader (a
# failover moves the followers to the promoted node; the cascade's fault 0 s after a failover must
# find one promotable) until it has caught up with the new one and checked. Not before it has
# caught up: a prefix is not enough (a 1 M-point cascade: a follower whose file Tile38 had cut to
# a prefix of its compacted leader's could never resume from there, and was promoted). Every
# server run starts untrusted, but for a reload's restart (RELOAD_TRUST_MARK). It was `caught_up_once` alone
# (sticky in Tile38): a node whose follow failed with `Protocol error` for 26 s after its leader
# compacted kept priority 100 and was promoted, and 437 k of 1 M points were lost (cascade, 1 M).
TRUSTED_LEADER=""
TRUSTED_SIZE=0

# trust LEADER SIZE: the first SIZE bytes of this node's AOF file are LEADER's.
trust() {
  [ -n "$TRUSTED_LEADER" ] || log "promotable: its AOF file ($2 bytes) is a prefix of $1's"
  TRUSTED_LEADER=$1
  TRUSTED_SIZE=$2
}

# distrust WHY: not promotable until its AOF is found a prefix of its leader's again.
distrust() {
  [ -z "$TRUSTED_LEADER" ] || log "not promotable: $1"
  TRUSTED_LEADER=""
  TRUSTED_SIZE=0
  CARRIED_TRUST=""
}

# A restart that reloads the AOF in place (`reloading`) keeps a file found a prefix of its leader's
# just before it (save_trust_for_reload: RELOAD_TRUST_MARK holds that leader and the size then).
# The next server run reads the mark once (CARRIED_TRUST) and trusts that file as soon as its
# server has caught up with a leader (caught_up_once), before node_life's own check: a leader lost
# in between left every follower untrusted and no failover possible (the scale bench: both
# followers restarted to reload after a compaction, the leader was killed a second later, and no
# node led for 120 s). Tile38 resumed the follow from the end of that file; anything that cuts,
# empties or doubles it since ends the trust (keep_trust), as for any follower.
RELOAD_TRUST_MARK="$DATA_DIR/.tile38-ha-reload-trust"
CARRIED_TRUST=""

# save_trust_for_reload LEADER: before a reload's restart, records LEADER and this node's AOF size
# when its file is a prefix of LEADER's now.
save_trust_for_reload() {
  local size
  rm -f "$RELOAD_TRUST_MARK"
  size=$(aof_size_on_disk)
  if [ "$(aof_matches "$1" "$size")" = + ]; then echo "$1 $size" > "$RELOAD_TRUST_MARK"; fi
}

# trust_after_reload STATS: a run started by a reload trusts its file once its server (STATS: its
# SERVER stats) has caught up with a leader and the file still holds what was checked.
trust_after_reload() {
  local leader size
  [ -n "$CARRIED_TRUST" ] && [ -z "$TRUSTED_LEADER" ] || return 0
  [ "$(printf '%s' "$1" | json_field caught_up_once)" = true ] || return 0
  leader=${CARRIED_TRUST% *}
  size=${CARRIED_TRUST#* }
  CARRIED_TRUST=""
  [ "$(aof_size_on_disk)" -ge "$size" ] || return 0
  trust "$leader" "$size"
}

# keep_trust REPORTED: the trust ends when the file shrank since it was checked, or the server
# reports REPORTED bytes of AOF that its file does not hold (counts_aof_twice).
keep_trust() {
  local size why=""
  size=$(aof_size_on_disk)
  if [ -n "$TRUSTED_LEADER" ] && [ "$size" -lt "$TRUSTED_SIZE" ]; then
    why="its AOF file shrank from $TRUSTED_SIZE to $size bytes (Tile38 cut it to follow its leader)"
  elif counts_aof_twice "$1"; then
    why="its server reports an AOF of $1 bytes, its file holds $size"
  fi
  [ -n "$why" ] || return 0
  distrust "$why"
  # Checked again (its leader compacted: see reloading).
  [ "$NODE_STATE" != verified ] || enter following
}

# follow_stuck LEADER: a follower that has not caught up with LEADER, which answers, and whose AOF
# file has neither grown nor been a prefix of LEADER's for STUCK_FOLLOW_MS diverges (and resyncs):
# its follow cannot resume. Seen after a compaction at 1 M points: Tile38 resumed at the end of its
# file and read mid-command from its leader (`strconv.ParseInt`, `Protocol error`) on every retry
# for as long as it was left. A follow that makes progress grows the file, and while Tile38 cuts
# or reloads it the server answers nothing (no step). Counted from STUCK_SINCE at STUCK_SIZE.
STUCK_FOLLOW_MS=15000
STUCK_SINCE=""
STUCK_SIZE=""
follow_stuck() {
  local size theirs now
  size=$(aof_size_on_disk)
  theirs=$(aof_matches "$1" "$size")
  case "$theirs" in
    +* | -*EOF*) ;;
    *) STUCK_SINCE=""; return 0 ;; # LEADER does not answer: not this node's fault
  esac
  now=$(now_ms)
  if [ "$theirs" = + ] && [ "$size" != "$STUCK_SIZE" ]; then
    STUCK_SINCE=$now
    STUCK_SIZE=$size
    return 0
  fi
  [ -n "$STUCK_SINCE" ] || { STUCK_SINCE=$now; STUCK_SIZE=$size; }
  [ $((now - STUCK_SINCE)) -ge "$STUCK_FOLLOW_MS" ] || return 0
  case "$theirs" in
    +) diverged "$1" "it has not caught up with $1, which answers, and its AOF has stayed at $size bytes for over $((STUCK_FOLLOW_MS / 1000)) s: its follow cannot resume" ;;
    *) diverged "$1" "it has not caught up with $1, which answers, and its AOF ($size bytes) has been no prefix of that leader's for over $((STUCK_FOLLOW_MS / 1000)) s (${theirs#[+-]}): its follow cannot resume" ;;
  esac
}

# aof_matches LEADER SIZE: "+" when this node's first SIZE bytes of AOF are LEADER's too, else
# LEADER's AOFMD5 answer for the window that differs (an error past the end of its AOF). Up to
# 2 × TILE38_CHECKSUM_BYTES the whole prefix is compared; beyond, its first and its last
# TILE38_CHECKSUM_BYTES, as Tile38's own follow compares 512 KiB chunks: AOFMD5 holds the leader's
# lock while it reads, and the whole 435 MB AOF of 5 M points held every write for ~1 s per
# check (the scale bench's rolling restart: a 2.2 s pause).
aof_matches() {
  local size="$2" windows window from len mine theirs
  windows="0:$size"
  if [ "$size" -gt $((2 * TILE38_CHECKSUM_BYTES)) ]; then
    windows="0:$TILE38_CHECKSUM_BYTES $(( (size - TILE38_CHECKSUM_BYTES) / 4096 * 4096 )):$size"
  fi
  for window in $windows; do
    from=${window%:*}
    len=$(( ${window#*:} - from ))
    mine=$(dd if="$DATA_DIR/appendonly.aof" bs=4096 skip=$((from / 4096)) 2>/dev/null | head -c "$len" | md5sum | cut -d' ' -f1)
    theirs=$(node_call "$1" AOFMD5 "$from" "$len" | head -n 1)
    [ "$theirs" = "+$mine" ] || { echo "$theirs"; return 0; }
  done
  echo +
}

# starts_like_leader LEADER: a verified follower's AOF must still begin as LEADER's does. Tile38
# resumes a follow at an offset it found by comparing checksums of its AOF with its leader's, then
# asks for the leader's AOF from that offset in another request; a leader whose rewrite
# (AOFSHRINK) ended in between serves its new file from that offset (checked on tile38-server
# 1.37.0 by tests/integration/tile38Resume.test.ts: the middle of a command of the new file). The
# follower appends the middle of another file to its own: a protocol error at every retry, or, on
# a command boundary, a silent splice that catches up and misses writes (most likely the 1 M-point
# cascade's broken streams, where a leader compacted while its followers reconnected to it after a
# failover). Its file then no longer starts like its leader's, while a follower that resumed in the
# right file keeps the start it was verified with. First AOF_HEAD_BYTES (a compaction's own object
# makes every compacted file's start unique). Not promotable from the first difference; checked
# again in `following`.
AOF_HEAD_BYTES=4096
starts_like_leader() {
  local size len mine theirs
  size=$(aof_size_on_disk)
  len=$((size < AOF_HEAD_BYTES ? size : AOF_HEAD_BYTES))
  [ "$len" -gt 0 ] || return 0
  mine=$(head -c "$len" "$DATA_DIR/appendonly.aof" | md5sum | cut -d' ' -f1)
  theirs=$(node_call "$1" AOFMD5 0 "$len" | head -n 1)
  case $theirs in
    +"$mine" | "" | -*) return 0 ;; # the same start; no answer or an error: asked again next step
  esac
  distrust "its AOF no longer starts like its leader $1's (the leader rewrote it, or this node resumed its follow in another file)"
  enter following
}

# rewrite_pending LEADER: LEADER rewrote its AOF after this node's file was made (rewritten_since_mine)
# and Tile38 has not fetched the new one yet: it reconnects a second later and does. Checked again
# next step; a follower still caught up with a file that does not start like its leader's
# STUCK_FOLLOW_MS later resumed its follow in the wrong file (starts_like_leader): diverged.
# Counted from REWRITE_PENDING_SINCE (cleared while not caught up: the fetch is under way).
REWRITE_PENDING_SINCE=""
rewrite_pending() {
  local now
  now=$(now_ms)
  [ -n "$REWRITE_PENDING_SINCE" ] || REWRITE_PENDING_SINCE=$now
  [ $((now - REWRITE_PENDING_SINCE)) -ge "$STUCK_FOLLOW_MS" ] || return 0
  diverged "$1" "caught up with $1 for over $((STUCK_FOLLOW_MS / 1000)) s with an AOF that does not start like that leader's rewritten one: its follow resumed in the wrong file"
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
  local size theirs now
  [ -f "$DATA_DIR/appendonly.aof" ] || return 0
  size=$(aof_size_on_disk)
  if [ -n "$2" ] && [ $(($2 - size)) -ge "$TILE38_CHECKSUM_BYTES" ]; then
    if [ "$size" -gt 0 ] && [ "$(aof_matches "$1" "$size")" = + ]; then
      reloading "$1" "it reports an AOF of $2 bytes but its file holds $size, a prefix of $1's (its leader compacted its AOF)"
    elif [ "$size" = 0 ]; then
      # Emptied to fetch the leader's AOF whole, not written yet (the stats that said caught up
      # were read before): checked again once caught up (at least the floor).
      return 0
    elif rewritten_since_mine "$1"; then
      rewrite_pending "$1"
    else
      diverged "$1" "it reports an AOF of $2 bytes but its file holds $size: it kept in memory what it held before following $1"
    fi
    return 0
  fi
  # Empty: checked again once it holds at least the leader's floor object.
  [ "$size" -gt 0 ] || return 0
  theirs=$(aof_matches "$1" "$size")
  # Its leader compacted a moment ago: Tile38 fetches the new AOF whole; checked again then.
  if [ "$theirs" != + ] && rewritten_since_mine "$1"; then rewrite_pending "$1"; return 0; fi
  case "$theirs" in
    +) ;;
    -EOF* | -ERR*EOF*)
      # This node's file is longer than the leader's file right now. A leader just promoted may
      # not have flushed its buffered writes yet (seen right after a hand-over on a real
      # kubelet: two followers resynced for nothing): diverged only if it lasts.
      now=$(now_ms)
      [ -n "$AOF_LONGER_SINCE" ] || AOF_LONGER_SINCE=$now
      if [ $((now - AOF_LONGER_SINCE)) -ge "$AOF_FLUSH_GRACE_MS" ]; then
        diverged "$1" "its AOF ($size bytes) has been longer than its leader $1's for $((now - AOF_LONGER_SINCE)) ms: it holds writes the leader never had"
      fi
      return 0 ;;
    +* | -*) diverged "$1" "its AOF ($size bytes) is not a prefix of its leader $1's (${theirs#[+-]}): it may hold writes the leader never had"; return 0 ;;
    *) return 0 ;; # no answer: ask again next time
  esac
  AOF_LONGER_SINCE=""
  DIVERGED_SINCE=""
  REWRITE_PENDING_SINCE=""
  trust "$1" "$size"
  VERIFIED_LEADER=$1
  enter verified
}

# reloading LEADER WHY: following -> reloading (see the state; reload_step, tile38-compaction.sh).
reloading() {
  log "$2: reloading its file in place"
  distrust "it reloads its file"
  RELOAD_LEADER=$1
  # shellcheck disable=SC2034 # read by reload_step (tile38-compaction.sh)
  RELOAD_SINCE=$(now_ms)
  enter reloading
}

# diverged LEADER WHY: a follower that must resync does it (never eligible meanwhile: the
# `diverged` state) once it has been diverged for RESYNC_SETTLE_MS and LEADER answers. A leader's
# hand-over makes the other follower switch leaders while the old leader still answers for a moment
# before its container or pod goes: a resync decided in that moment made two nodes down at once in
# a rolling update (seen once on the Docker engine). RESYNC_SETTLE_MS outlasts that moment. It
# does not wait for the other nodes (it once did: 72 s at priority 0 waiting for a dead leader,
# with no promotable replica when the next leader died, issue 24).
RESYNC_SETTLE_MS=5000
diverged() {
  local now
  now=$(now_ms)
  if [ -z "$DIVERGED_SINCE" ]; then DIVERGED_SINCE=$now; log "diverged: $2; resyncing in $((RESYNC_SETTLE_MS / 1000)) s"; distrust "it diverged"; fi
  enter diverged
  [ $((now - DIVERGED_SINCE)) -ge "$RESYNC_SETTLE_MS" ] || return 0
  node_call "$1" PING | grep -q PONG || return 0
  resync "$2"
}

# leader_lost LEADER STATS: this follower's link is down (SERVER caught_up false) after it had
# caught up once, and LEADER does not answer within a second: it died (a frozen leader keeps the
# link up, and its followers then hold the same bytes).
ORPHAN_RANK=0
leader_lost() {
  [ "$(printf '%s' "$2" | json_field caught_up)" = false ] || return 1
  [ "$(printf '%s' "$2" | json_field caught_up_once)" = true ] || return 1
  ! CALL_TIMEOUT=1 NC_TIMEOUT=1 node_role "$1" >/dev/null
}

# followers_ahead LEADER SIZE: how many other nodes follow LEADER too, are eligible (priority
# above 0) and report an AOF larger than SIZE bytes: all followers of one leader hold prefixes of
# its AOF, so the largest holds the most of its writes.
followers_ahead() {
  local ahead=0 node info theirs
  for node in $TILE38_NODES; do
    [ "$node" = "$SELF" ] && continue
    info=$(CALL_TIMEOUT=1 NC_TIMEOUT=1 node_call "$node" INFO replication)
    [ "$(info_leader "$info")" = "$1" ] || continue
    [ "$(printf '%s\n' "$info" | info_field slave_priority)" -gt 0 ] 2>/dev/null || continue
    theirs=$(CALL_TIMEOUT=1 NC_TIMEOUT=1 node_server "$node" | json_field aof_size)
    [ -n "$theirs" ] && [ "$theirs" -gt "$2" ] && ahead=$((ahead + 1))
  done
  echo "$ahead"
}

# resync WHY: stops the server so that start_server starts the node again from an empty data
# directory (main decides its role afresh; an empty node copies the leader's whole AOF).
RESYNC_MARK="$DATA_DIR/.tile38-ha-resync"
resync() { stop_for_restart "$RESYNC_MARK" TERM "resync: $1"; }

# stop_for_restart MARK SIGNAL WHY: not ready from now on; MARK tells start_server, once the server
# has exited on SIGNAL, how to start it again.
stop_for_restart() {
  rm -f "$READY_MARK"
  log "$3"
  echo "$3" > "$1"
  kill "-$2" "$SERVER_PID" 2>/dev/null || true
}

# restart_as_follower WHY: stops the server (at once: what it has not written out, no one else
# holds either) so that start_server starts it again as a follower of the leader the sentinels
# name, its AOF first cut to what that leader holds (trim_unreplicated_tail). A deposed leader
# usually holds a few writes the new one lacks; FOLLOW would make Tile38 truncate it at 512 KiB
# granularity, dropping up to 1 MiB of history both hold, and reload it all under its lock
# (measured at 1 M points: 3.4-9.1 s); promoted before it fetched that history again, it lost it
# for everyone (cascade drill, a kill 2 s after a freeze).
REFOLLOW_MARK="$DATA_DIR/.tile38-ha-refollow"
restart_as_follower() { stop_for_restart "$REFOLLOW_MARK" INT "restarting as a follower: $1"; }

# config_follow_target: host:port the node's config file says it follows (Tile38 rewrites it).
config_follow_target() {
  local host port
  host=$(sed -n 's/.*"follow_host": *"\([^"]*\)".*/\1/p' "$DATA_DIR/config" | head -n 1)
  port=$(sed -n 's/.*"follow_port": *\([0-9][0-9]*\).*/\1/p' "$DATA_DIR/config" | head -n 1)
  [ -n "$host" ] && [ -n "$port" ] && echo "$host:$port"
}

# follow_the_sentinels CURRENT: a follower whose leader is not the one the sentinels name, while
# that one really leads (INFO role:master), for 3 checks in a row, follows it. Sentinel
# reconfigures only the replicas it knew when it failed over: a node that restarted just before
# (not yet in the old leader's INFO, refreshed every 10 s) was left following the dead leader until
# failover-timeout passed (measured: 24 s to converge instead of 4). Counted in FOLLOW_STRIKES.
follow_the_sentinels() {
  local named
  named=$(leader_from_sentinels) || { clear_strikes FOLLOW_STRIKES; return 0; }
  if [ "$named" = "$1" ] || is_self "$named" || [ "$(node_role "$named")" != master ]; then
    clear_strikes FOLLOW_STRIKES; return 0
  fi
  strike FOLLOW_STRIKES 3 || return 0
  clear_strikes FOLLOW_STRIKES
  if node_call_self FOLLOW "$(endpoint_host "$named")" "$(endpoint_port "$named")" | grep -q '^+OK'; then log "following $named, the leader the sentinels name (was $1)"; fi
}

# lead_by_name ID NAMED: when hosts are names (Kubernetes) and the sentinels name this leader (its
# Tile38 id is ID) by an IP address, for 3 checks in a row, hands leadership over to a follower.
# That address changes with the pod, which is what the names are for. A sentinel cannot simply
# re-monitor the name: SENTINEL MONITOR starts at config epoch 0, and its peers' hellos carry the
# IP with a higher epoch, which it adopts again. A failover gives the name a new epoch. A failed
# hand-over is retried after LEAD_BY_NAME_PAUSE seconds. Counted in LEAD_BY_NAME_STRIKES.
LEAD_BY_NAME_PAUSE=30
LEAD_BY_NAME_NEXT=0
lead_by_name() {
  local named="$2"
  is_ip_literal "$NODE_HOST" && return 0
  [ -n "$named" ] || { clear_strikes LEAD_BY_NAME_STRIKES; return 0; }
  if ! is_ip_literal "$(endpoint_host "$named")" || [ -z "$1" ] || [ "$(node_server "$named" | json_field id)" != "$1" ]; then
    clear_strikes LEAD_BY_NAME_STRIKES; return 0
  fi
  strike LEAD_BY_NAME_STRIKES 3 && [ "$(date +%s)" -ge "$LEAD_BY_NAME_NEXT" ] || return 0
  clear_strikes LEAD_BY_NAME_STRIKES
  LEAD_BY_NAME_NEXT=$(( $(date +%s) + LEAD_BY_NAME_PAUSE ))
  log "the sentinels name this leader by its IP address $named: handing over to a follower known by name"
  # shellcheck disable=SC2034 # read by is_self (tile38-node.sh)
  SELF_ALIAS=$named
  handover || true
  # shellcheck disable=SC2034 # read by is_self (tile38-node.sh)
  SELF_ALIAS=""
}
