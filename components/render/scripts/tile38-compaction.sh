# shellcheck shell=sh
# tile38-ha: AOF compaction, the `compacting` and `reloading` states of node_life
# (tile38-node-life.sh). Tile38 appends every write to its AOF for ever: under fleet tracking (the
# same ids updated every few seconds) the file, each restart's load, each resync and each backup
# grow with the number of updates, not with the data (measured: 10 k ids x 100 updates = 84 MB for
# data whose compacted AOF is 2.6 MB). The leader rewrites it from memory (AOFSHRINK) early enough that it
# never grows beyond AOF_COMPACT_RATIO times its compacted size (compaction_due). AOFSHRINK closes every follower's link; each follower
# then finds its AOF no prefix of the leader's new one, empties its file, fetches the new one whole
# and applies it over its memory (checksum.go): it counts its AOF twice, and its memory may keep an
# object deleted while its link was down, until it restarts, which loads the file (a prefix of the
# leader's) in place (`reloading`).
# Included by the start script after lib.sh, tile38-node.sh and tile38-handover.sh.
# Reads AOF_COMPACT_RATIO, AOF_COMPACT_MIN_BYTES.

# The AOF size after the last compaction this node knows of (its own as leader, or its leader's as
# the follower that reloaded it), or its size when it first led knowing none, and the number of
# objects then ("BYTES OBJECTS"; a mark of an earlier release holds BYTES only): the ratio's base,
# scaled to the objects held now (compacted_size).
COMPACTED_MARK="$DATA_DIR/.tile38-ha-compacted"
# Present while the backup agent uploads the AOF (backup-agent.sh): no compaction replaces the file
# under it. Older than this many seconds, it is a dead agent's (a stale mark never blocks for ever).
UPLOAD_MARK="$DATA_DIR/.tile38-ha-uploading"
UPLOAD_MARK_STALE_SECONDS=900
# The longest a reloading follower waits for the nodes before it in TILE38_NODES to reload first.
RELOAD_TURN_MS=20000
RELOAD_SINCE=0
# The AOF size and the time (now_ms) when the running compaction started (for its log line).
COMPACT_FROM=0
COMPACT_STARTED_MS=0
# The trigger's facts, kept by a leader's steps (see `leading` in tile38-node-life.sh): its AOF size
# at its previous step ("" when that step was not a leader's), the AOF's growth per step
# (aof_growth), and the steps the last rewrite took (counted in COMPACT_RUN_STEPS while it runs, the
# step that started it included; at least 1, and 1 until one has run).
AOF_PREV_SIZE=""
AOF_GROWTH=0
COMPACT_STEPS=1
COMPACT_RUN_STEPS=0

# compaction_due SIZE COMPACTED GROWTH STEPS: true when an AOF of SIZE bytes must be compacted now
# to stay within AOF_COMPACT_RATIO x COMPACTED (its size after the last compaction, 0: unknown): it
# grows GROWTH bytes a step, and a rewrite takes STEPS steps, during which the old file still grows.
# Started at the next step instead, the rewrite would end with SIZE + GROWTH x (STEPS + 1) bytes
# (measured before this headroom: 2.2 x, the trigger overshooting by a check and a rewrite). It
# aims at COMPACT_AIM_PERCENT of the bound: the growth is an estimate, and COMPACTED, scaled to the
# objects held now, grows with objects inserted since the last compaction, while the bound is
# over what that compaction wrote (aimed at the bound itself: 2.06-2.07 x under the scale bench's
# churn, whose writer inserts 100 new ids a second).
COMPACT_AIM_PERCENT=90
compaction_due() {
  [ "$AOF_COMPACT_RATIO" -gt 0 ] && [ "$1" -ge "$AOF_COMPACT_MIN_BYTES" ] &&
    [ $((($1 + $3 * ($4 + 1)) * 100)) -gt $((AOF_COMPACT_RATIO * $2 * COMPACT_AIM_PERCENT)) ]
}

# aof_growth DELTA PREVIOUS: the AOF's growth per step from this step's DELTA bytes and the
# PREVIOUS estimate: the larger of DELTA and half of PREVIOUS, so that one quiet step between
# bursts does not drop the headroom at once (a shrink, i.e. a compaction, counts as 0).
aof_growth() {
  local delta="$1" half=$(($2 / 2))
  [ "$delta" -gt 0 ] || delta=0
  [ "$delta" -ge "$half" ] || delta=$half
  echo "$delta"
}

# counts_aof_twice SIZE: this node's server reports an AOF of SIZE bytes while its file holds at
# least TILE38_CHECKSUM_BYTES fewer (a follower that applied its leader's compacted AOF over its
# memory; at most ~1 s of writes are ever buffered).
counts_aof_twice() {
  [ -n "$1" ] && [ $(($1 - $(aof_size_on_disk))) -ge "$TILE38_CHECKSUM_BYTES" ]
}

# compacted_size SIZE OBJECTS: the ratio's base, what a compaction of this node's OBJECTS would
# write: the mark's bytes beyond the floor object (AOF_FLOOR_BYTES, written once whatever the data)
# scaled by OBJECTS over its objects (a compacted AOF writes each object once, so it grows with the
# objects, and only with them). A leader that knows none takes its
# current SIZE as the base (it cannot tell how much of it is history: at worst it waits for one
# more doubling). Without the scaling, inserts made a mark stale: one of 2.9 MB written before a
# 1 M-point load made a new leader rewrite its 95 MB AOF into 120 MB 4 s after a failover; and
# data that is only inserted is never compacted now (its AOF grows with its objects). A mark of
# fewer than COMPACT_SCALE_MIN_OBJECTS objects is mostly what every AOF holds whatever the data (a
# new cluster's first mark: 1.1 MB for 1 object, the floor object and the sentinels' traffic): not
# scaled, so a new cluster's first compaction comes at aofCompactionMinMegabytes, whatever the data
# (taken as its size at a later step instead, the mark counted the churn already written: the
# compaction test's AOF reached 8.95 x its compacted size).
COMPACT_SCALE_MIN_OBJECTS=1000
compacted_size() {
  local mark bytes objects
  mark=$(cat "$COMPACTED_MARK" 2>/dev/null) || mark=""
  bytes=${mark%% *}
  objects=""
  [ "$bytes" = "$mark" ] || objects=${mark#* }
  case $bytes in
    '' | *[!0-9]*) mark_compacted "$1" "${2:-}"; echo "$1"; return 0 ;;
  esac
  case "$objects:${2:-}" in
    *[!0-9:]* | :* | *:) echo "$bytes" ;; # objects unknown: the mark as it is
    *)
      if [ "$objects" -lt "$COMPACT_SCALE_MIN_OBJECTS" ]; then echo "$bytes"; return 0; fi
      if [ "$bytes" -gt "$AOF_FLOOR_BYTES" ]; then
        echo $((AOF_FLOOR_BYTES + (bytes - AOF_FLOOR_BYTES) * $2 / objects))
      else
        echo $((bytes * $2 / objects))
      fi ;;
  esac
}

# mark_compacted BYTES OBJECTS: a compaction wrote BYTES for OBJECTS objects (COMPACTED_MARK).
mark_compacted() { echo "$1${2:+ $2}" > "$COMPACTED_MARK"; }

# The leader publishes what its compaction wrote as data (`SET !tile38-ha aof-size STRING "BYTES
# OBJECTS"`): every follower holds it in memory and takes it as its own mark when it reloads or
# becomes leader. A follower's own file is no measure: it keeps growing with the leader's writes
# until its turn to reload (the churn bench: a follower reloaded a 29.5 MB file after a compaction
# to 2.1 MB, and as leader it let its AOF reach 2 x 29.5 MB before the next one).
publish_compacted() { node_call_self SET "$COMPACTION_MARKER_KEY" aof-size STRING "$1${2:+ $2}" >/dev/null || true; }

# published_compacted: "BYTES OBJECTS" of the last compaction this node's data holds, if any.
published_compacted() {
  node_call_self GET "$COMPACTION_MARKER_KEY" aof-size | sed -n 2p | grep -E '^[0-9]+( [0-9]+)?$'
}

# mark_from_published: COMPACTED_MARK from the data's last compaction, when it holds one.
mark_from_published() {
  local published
  published=$(published_compacted) || return 1
  # shellcheck disable=SC2086 # bytes and objects
  mark_compacted $published
}

# backup_uploading: the backup agent's upload mark is present and fresh.
backup_uploading() {
  [ -f "$UPLOAD_MARK" ] || return 1
  [ $(($(date +%s) - $(stat -c %Y "$UPLOAD_MARK" 2>/dev/null || echo 0))) -lt "$UPLOAD_MARK_STALE_SECONDS" ]
}

# followers_in_sync SIZE: every other node answers, follows this one, has caught up, is promotable and counts no
# more AOF than this one's SIZE (not still reloading after the last compaction, which counts at
# least 1 MiB more; the slack: writes that reached it after SIZE was read): compacting now
# costs each follower only a reload, and no node is left to re-download the whole new file.
# Otherwise it prints which node is not and why.
followers_in_sync() {
  local node stats
  for node in $TILE38_NODES; do
    [ "$node" = "$SELF" ] && continue
    stats=$(node_server "$node") || { echo "$node does not answer"; return 1; }
    is_self "$(printf '%s' "$stats" | json_field following)" || { echo "$node does not follow this node"; return 1; }
    [ "$(printf '%s' "$stats" | json_field caught_up)" = true ] || { echo "$node has not caught up"; return 1; }
    [ "$(printf '%s' "$stats" | json_field aof_size)" -lt $(($1 + TILE38_CHECKSUM_BYTES)) ] 2>/dev/null || { echo "$node still reloads after the last compaction"; return 1; }
    # Promotable: its node_life has checked it since it (re)started; one that restarts at priority
    # 0 and is caught up in a compaction before that check resyncs whole (seen: diverged). A
    # reload's restart starts promotable, so a compaction may still meet its first check: that
    # check tells the rewrite from a divergence (rewritten_since_mine).
    [ "$(node_call "$node" INFO replication | info_field slave_priority)" -gt 0 ] 2>/dev/null || { echo "$node is not promotable yet"; return 1; }
  done
  followers_streaming
}

# followers_streaming: this node's server streams its AOF to at least as many followers as other
# nodes answer that they follow it (INFO connected_slaves: Tile38's open AOF streams). A follower
# that (re)connects finds its resume offset with checksums against the current file, then asks
# `AOF <pos>` in a second request; a rewrite that ends in between makes Tile38 serve the new file
# from that offset (tests/integration/tile38Resume.test.ts). A compaction starts only with every
# follower past that point, so only a link lost during the rewrite can still meet it (the
# followers check for that: starts_like_leader). Otherwise it prints how many are not.
followers_streaming() {
  local node following=0 streams
  for node in $TILE38_NODES; do
    [ "$node" = "$SELF" ] && continue
    is_self "$(node_server "$node" | json_field following)" && following=$((following + 1))
  done
  streams=$(node_call_self INFO replication | info_field connected_slaves)
  [ "${streams:-0}" -ge "$following" ] 2>/dev/null || { echo "$((following - ${streams:-0})) of the $following nodes following it are still connecting (no AOF stream open)"; return 1; }
}

# compaction_step SIZE OBJECTS: a leader's step in `leading` or `compacting` (its AOF is SIZE
# bytes, it holds OBJECTS objects).
compaction_step() {
  local status after base behind
  if [ "$NODE_STATE" = compacting ]; then
    status=$(rewrite_status)
    if [ "$status" = rewriting ] || ! rewrite_landed; then
      COMPACT_RUN_STEPS=$((COMPACT_RUN_STEPS + 1))
      if [ "$status" != rewriting ] && [ "$COMPACT_RUN_STEPS" -ge "$REWRITE_START_STEPS" ]; then
        log "AOFSHRINK left no new AOF after $COMPACT_RUN_STEPS steps (see the server's log): not compacted"
        enter leading
      fi
      return 0
    fi
    after=${status%% *}
    # shellcheck disable=SC2086 # bytes and objects
    [ -z "$after" ] || { mark_compacted $status; publish_compacted $status; }
    AOF_PREV_SIZE=$after
    # One that ended within the wait in `compact` still took part of a step.
    COMPACT_STEPS=$((COMPACT_RUN_STEPS > 0 ? COMPACT_RUN_STEPS : 1))
    log "AOF compacted: $COMPACT_FROM -> ${after:-?} bytes in $(( $(now_ms) - COMPACT_STARTED_MS )) ms ($COMPACT_STEPS steps)"
    enter leading
    return 0
  fi
  [ -z "$AOF_PREV_SIZE" ] || AOF_GROWTH=$(aof_growth $(($1 - AOF_PREV_SIZE)) "$AOF_GROWTH")
  AOF_PREV_SIZE=$1
  if counts_aof_twice "$1"; then
    # Its followers never catch up with it (they wait for those bytes): only their streams count.
    if behind=$(followers_streaming); then
      compact "its server counts $1 bytes of AOF but its file holds $(aof_size_on_disk) (promoted before it reloaded): its followers would wait for bytes it never sends"
    else
      compaction_waits "$behind"
    fi
    return 0
  fi
  base=$(compacted_size "$1" "${2:-}")
  compaction_due "$1" "$base" "$AOF_GROWTH" "$COMPACT_STEPS" || { COMPACT_WAIT=""; return 0; }
  if backup_uploading; then compaction_waits "a backup upload is under way"; return 0; fi
  if behind=$(followers_in_sync "$1"); then :; else compaction_waits "$behind"; return 0; fi
  COMPACT_WAIT=""
  compact "its AOF ($1 bytes, growing $AOF_GROWTH a step, a rewrite taking $COMPACT_STEPS) would pass $AOF_COMPACT_RATIO x its compacted size ($base bytes)"
}

# rewrite_landed: the AOF file starts with this compaction's own object (COMPACT_EPOCH): the
# rewrite has ended. AOFSHRINK answers before its rewrite starts (Tile38 runs it in a goroutine), so
# "no rewrite in progress" alone may still be the moment before it; a rewrite that never starts
# (an error in the server's log) is given up after REWRITE_START_STEPS steps.
COMPACT_EPOCH=""
REWRITE_START_STEPS=10
rewrite_landed() { head -c 4096 "$DATA_DIR/appendonly.aof" 2>/dev/null | grep -qF "$COMPACT_EPOCH"; }

# rewrite_status: "rewriting" while this node's AOFSHRINK runs, else its AOF size and its number of
# objects (nothing without an answer). Both from one connection: the size read once the rewrite has ended is the ratio's base,
# and every write it counts after the swap makes the next trigger late (measured: 130 KB, 0.6 s of
# churn, read by separate calls under load, the bench's AOF then at 2.05 x its compacted size).
rewrite_status() {
  { resp INFO persistence; resp OUTPUT json; resp SERVER; } | rsend "$LOCAL_ENDPOINT" "$(tile38_password)" |
    awk '/^aof_rewrite_in_progress:1/ { print "rewriting"; exit } /^\{"ok":true,"stats"/ { print; exit }' | {
    read -r line || return 0
    if [ "$line" = rewriting ]; then echo rewriting; else echo "$(printf '%s' "$line" | json_field aof_size) $(printf '%s' "$line" | json_field num_objects)"; fi
  }
}

# compaction_waits WHY: a compaction is due but waits (logged when the reason changes).
COMPACT_WAIT=""
compaction_waits() {
  [ "$COMPACT_WAIT" = "$1" ] && return 0
  COMPACT_WAIT=$1
  log "the AOF is due for compaction, which waits: $1"
}

# The first command of every compacted AOF is that compaction's own object (AOFSHRINK writes the
# collections in key order, and `!` sorts before any name but a few control characters). Tile38's
# follower resumes by comparing 512 KiB chunks of its AOF with its leader's (checksum.go): the
# first, then a binary search that assumes the leader's file only ever grew. Across a rewrite,
# chunks that happened to match at the same offsets made a follower resume from the wrong place
# (the cascade drill at 1 M points: an AOF spliced from two files, "Protocol error", 444 k points
# lost). With a first chunk that no earlier file holds, every follower fetches the new file whole
# (and then reloads it in place, `reloading`).
COMPACTION_MARKER_KEY='!tile38-ha'

# rewritten_since_mine LEADER: LEADER rewrote its AOF after this node's file was made: its
# compaction object (its epoch) is not this file's first command and their first
# TILE38_CHECKSUM_BYTES differ. The rewrite closed this node's link; Tile38 still counts it caught
# up until it reconnects a second later and fetches the new AOF whole (checksum.go), and this
# node's file is no prefix of the new one meanwhile. A check in that second is no evidence of
# divergence (seen: a follower checked its AOF just after its reload while its leader compacted
# again, and resynced from scratch). Tile38 compares that first chunk at every connection, so a
# follower caught up since holds the leader's: this lasts until the reconnection only.
rewritten_since_mine() {
  local epoch
  [ "$(aof_size_on_disk)" -ge "$TILE38_CHECKSUM_BYTES" ] || return 1
  epoch=$(node_call "$1" GET "$COMPACTION_MARKER_KEY" aof-epoch | sed -n 2p)
  [ -n "$epoch" ] || return 1
  head -c 4096 "$DATA_DIR/appendonly.aof" | grep -qF "$epoch" && return 1
  [ "$(aof_matches "$1" "$TILE38_CHECKSUM_BYTES")" != + ]
}

# first_key: the first collection key of this node (KEYS answers in key order).
first_key() { node_call_self KEYS '*' | sed -n 3p; }

# compact WHY: starts AOFSHRINK (Tile38 rewrites in the background, writes go on) -> compacting.
# A small rewrite ends within a second (measured: 0.03-0.2 s for 10 k points): waited for here, so
# that the size recorded is the compacted one and not that plus a step's writes.
compact() {
  local first
  COMPACT_FROM=$(aof_size_on_disk)
  first=$(first_key)
  if [ -n "$first" ] && [ "$first" != "$COMPACTION_MARKER_KEY" ] && [ "$(printf '%s\n%s\n' "$first" "$COMPACTION_MARKER_KEY" | LC_ALL=C sort | head -n 1)" = "$first" ]; then
    compaction_waits "collection $first sorts before $COMPACTION_MARKER_KEY: a compacted AOF would not start with this compaction's own object (never compacted)"
    return 0
  fi
  COMPACT_EPOCH="$(date +%s)-$$-$SELF"
  node_call_self SET "$COMPACTION_MARKER_KEY" aof-epoch STRING "$COMPACT_EPOCH" | grep -q '^+OK' || return 0
  node_call_self AOFSHRINK | grep -q '^+OK' || return 0
  COMPACT_STARTED_MS=$(now_ms)
  COMPACT_RUN_STEPS=0
  log "compacting the AOF: $1"
  enter compacting
  for _ in 1 2 3 4 5 6 7 8 9 10; do
    [ "$(rewrite_status)" = rewriting ] || ! rewrite_landed || break
    sleep 0.1
  done
  compaction_step "" ""
}

# reload_step LEADER: a step in `reloading` (this node follows LEADER, which compacted).
reload_step() {
  if [ $(($(now_ms) - RELOAD_SINCE)) -lt "$RELOAD_TURN_MS" ] && ! reload_turn "$1"; then return 0; fi
  mark_from_published || mark_compacted "$(aof_size_on_disk)" "$(node_server "$LOCAL_ENDPOINT" | json_field num_objects)"
  save_trust_for_reload "$1"
  restart_as_follower "reloading its AOF (a prefix of $1's) in place"
}

# reload_turn LEADER: no node before this one in TILE38_NODES is reloading after LEADER's
# compaction (it does not answer, has not caught up, is not promotable yet, or counts more AOF than
# LEADER holds): one follower restarts at a time, so one is always left that Sentinel can promote.
reload_turn() {
  local leader_size node stats
  leader_size=$(node_server "$1" | json_field aof_size)
  [ -n "$leader_size" ] || return 1
  for node in $TILE38_NODES; do
    [ "$node" = "$SELF" ] && return 0
    [ "$node" = "$1" ] && continue
    stats=$(CALL_TIMEOUT=1 NC_TIMEOUT=1 node_server "$node") || return 1
    [ "$(printf '%s' "$stats" | json_field following)" = "$1" ] || continue
    [ "$(printf '%s' "$stats" | json_field caught_up)" = true ] || return 1
    [ "$(printf '%s' "$stats" | json_field aof_size)" -lt $((leader_size + TILE38_CHECKSUM_BYTES)) ] || return 1
    [ "$(CALL_TIMEOUT=1 NC_TIMEOUT=1 node_call "$node" INFO replication | info_field slave_priority)" -gt 0 ] 2>/dev/null || return 1
  done
  return 0
}
