# shellcheck shell=sh
# tile38-ha: what every Tile38 node script (start, stop, hand-over) knows about its node.
# Included by the renderer in place of the `. ./tile38-node.sh` line, after lib.sh.
# Environment: NODE_HOST, NODE_PORT, TILE38_PASSWORD (required); NODE_BIND (default 0.0.0.0),
# DATA_DIR (default /data), SENTINEL_PASSWORD (empty = sentinels without auth), TILE38_BIN.

export LC_ALL=C
: "${NODE_HOST:?NODE_HOST must be set}" "${NODE_PORT:?NODE_PORT must be set}"
: "${TILE38_PASSWORD:?TILE38_PASSWORD must be set}"
NODE_BIND=${NODE_BIND:-0.0.0.0}
DATA_DIR=${DATA_DIR:-/data}
SENTINEL_PASSWORD=${SENTINEL_PASSWORD:-}
TILE38_BIN=${TILE38_BIN:-tile38-server}
SELF="$NODE_HOST:$NODE_PORT"
# How recent (ms) a sentinel's INFO of a replica must be to count as "that replica holds data":
# three of Sentinel's 10 s INFO periods.
REPLICA_INFO_FRESH_MS=30000
# shellcheck disable=SC2034 # read by log() in lib.sh, which every script includes first
LOG_TAG="tile38-ha[$SELF]"
# Address (host:port) to reach this node from inside its own container.
case "$NODE_BIND" in 0.0.0.0|::|'') LOCAL_ENDPOINT=127.0.0.1:$NODE_PORT ;; *) LOCAL_ENDPOINT=$NODE_BIND:$NODE_PORT ;; esac

# rcall HOST:PORT PASSWORD CMD ARG... : lib.sh's, except that a call to a Tile38 node with
# TILE38_PASSWORD uses tile38_password (so also lib.sh's node_role); a sentinel keeps its own.
rcall() {
  local ep="$1" password="$2"
  shift 2
  case " $SENTINELS " in *" $ep "*) ;; *) [ "$password" != "$TILE38_PASSWORD" ] || password=$(tile38_password) ;; esac
  resp "$@" | rsend "$ep" "$password"
}

# node_call HOST:PORT CMD... against a Tile38 node with the cluster password.
node_call() {
  local ep="$1"
  shift
  rcall "$ep" "$TILE38_PASSWORD" "$@"
}
node_call_self() { rcall "$LOCAL_ENDPOINT" "$TILE38_PASSWORD" "$@"; }

# node_server HOST:PORT : the node's SERVER stats as one JSON line. `OUTPUT json` is a command
# of its own (`OUTPUT json SERVER` is refused with "wrong number of arguments").
node_server() {
  { resp OUTPUT json; resp SERVER; } | rsend "$1" "$(tile38_password)" | grep '^{"ok":true,"stats"'
}

# The address the sentinels name this node by when it is not SELF (an IP literal: see
# lead_by_name in tile38-start.sh); empty otherwise.
SELF_ALIAS=""

# is_self HOST:PORT : true when that address is this node's (SELF or SELF_ALIAS).
is_self() { [ "$1" = "$SELF" ] || { [ -n "$SELF_ALIAS" ] && [ "$1" = "$SELF_ALIAS" ]; }; }

# sentinels_name_self: true when the sentinels' majority answer is this node.
sentinels_name_self() {
  local leader
  leader=$(leader_from_sentinels) || return 1
  is_self "$leader"
}

has_local_data() { [ -s "$DATA_DIR/appendonly.aof" ]; }

# Tile38 1.37 resumes a follow (checksum.go) by comparing 512 KiB chunks of the follower's AOF with
# the leader's, the last chunk first: a follower whose AOF is a prefix of the leader's resumes at
# its end; one holding bytes the leader lacks is truncated to a common command and reloaded, so
# only the suffix is fetched again and writes only it held are dropped. That works from 1 MiB up.
# Below 512 KiB it appends the leader's WHOLE AOF to its own at every (re)connection (measured:
# 20,976 -> 41,952 bytes after one FOLLOW no one + FOLLOW): the file stops being a prefix of the
# leader's (the false `diverged` of issue 24) and writes only it held stay in memory. From 512 KiB
# to 1 MiB it truncates to the first 512 KiB and fetches the rest again at every reconnection
# (measured: a follower so truncated was promoted when its new leader died a moment later, and
# every write after the first 512 KiB was lost). So every AOF holds at least AOF_FLOOR_BYTES of
# the cluster's common history: a leader whose AOF is shorter writes one object of the project's
# own (collection `tile38-ha`, id `aof-floor`, AOF_FLOOR_OBJECT_BYTES of text), and a follower
# never resumes from a shorter AOF (aof_below_floor: it starts empty instead).
AOF_FLOOR_BYTES=1048576
AOF_FLOOR_OBJECT_BYTES=1100000

# aof_size_on_disk: bytes of this node's AOF file (0 when there is none). stat, not `wc -c`:
# busybox wc reads the whole file, about 1 s of CPU at 1 M points, several times a tick.
aof_size_on_disk() {
  stat -c %s "$DATA_DIR/appendonly.aof" 2>/dev/null || echo 0
}

# aof_rewriting: this node's server is rewriting its AOF (AOFSHRINK, see tile38-compaction.sh).
aof_rewriting() { [ "$(node_call_self INFO persistence | info_field aof_rewrite_in_progress)" = 1 ]; }

# aof_below_floor: the AOF holds something, but less than AOF_FLOOR_BYTES.
aof_below_floor() {
  local size
  size=$(aof_size_on_disk)
  [ "$size" -gt 0 ] && [ "$size" -lt "$AOF_FLOOR_BYTES" ]
}

# write_aof_floor: SET tile38-ha aof-floor STRING <AOF_FLOOR_OBJECT_BYTES x> on this node (a
# leader), streamed (a shell argument of that size is not portable); true when acknowledged.
write_aof_floor() {
  {
    resp_head 5 SET tile38-ha aof-floor STRING
    printf '%s%d\r\n' '$' "$AOF_FLOOR_OBJECT_BYTES"
    head -c "$AOF_FLOOR_OBJECT_BYTES" /dev/zero | tr '\0' x
    printf '\r\n'
  } | rsend "$LOCAL_ENDPOINT" "$(tile38_password)" | grep -q '^+OK'
}

# trim_unreplicated_tail LEADER: before this node follows LEADER (host:port), cuts off the end of
# its AOF that LEADER does not hold: a killed leader's last writes that never left it (lost with it
# anyway). Tile38 finds that point itself, but only to 512 KiB and then reloads the whole AOF under
# its lock (measured at 1 M points: 8.3-9.1 s unresponsive, never promotable, after the start's
# 4.3 s load). Only the last TAIL_WINDOW_BYTES are searched (a 4 KiB-aligned start, so dd seeks);
# an older difference is left to Tile38 (and to `diverged`). Tile38 drops a partial last command
# when it loads the AOF.
TAIL_WINDOW_BYTES=1048576
trim_unreplicated_tail() {
  local aof size lo ok bad mid
  aof="$DATA_DIR/appendonly.aof"
  size=$(aof_size_on_disk)
  [ "$size" -ge "$AOF_FLOOR_BYTES" ] || return 0
  node_call "$1" PING | grep -q PONG || return 0
  lo=$(( (size - TAIL_WINDOW_BYTES) / 4096 * 4096 ))
  [ "$lo" -ge 0 ] || lo=0
  tail_matches "$1" "$lo" "$size" && return 0
  ok=$lo; bad=$size
  while [ $((bad - ok)) -gt 1 ]; do
    mid=$(( (ok + bad) / 2 ))
    if tail_matches "$1" "$lo" "$mid"; then ok=$mid; else bad=$mid; fi
  done
  if [ "$ok" -le "$lo" ]; then
    log "its AOF differs from $1's before its last $TAIL_WINDOW_BYTES bytes: left to Tile38"
    return 0
  fi
  truncate -s "$ok" "$aof"
  log "cut the last $((size - ok)) bytes of its AOF, which $1 does not hold (writes that never left this node)"
}

# tail_matches LEADER FROM TO: bytes FROM..TO of this node's AOF are the same as LEADER's (AOFMD5).
tail_matches() {
  local want
  want=$(dd if="$DATA_DIR/appendonly.aof" bs=4096 skip=$(($2 / 4096)) 2>/dev/null | head -c $(($3 - $2)) | md5sum | cut -d' ' -f1)
  [ "$(node_call "$1" AOFMD5 "$2" $(($3 - $2)) | head -n 1)" = "+$want" ]
}

# True when another node reports a non-empty AOF, or a sentinel knows a replica with a
# replication offset above 0: then this cluster is not new, and an empty node must not lead.
others_have_data() {
  local node size sentinel offset
  for node in $TILE38_NODES; do
    [ "$node" = "$SELF" ] && continue
    size=$(node_server "$node" | json_field aof_size)
    if [ -n "$size" ] && [ "$size" -gt 0 ]; then log "node $node holds $size bytes of AOF"; return 0; fi
  done
  # Only what a sentinel saw recently: a replica's offset is last refreshed by an INFO that
  # succeeded (every 10 s), and a Tile38 follower that has not caught up refuses INFO. After a
  # total loss with the sentinels alive, they keep the dead replicas' old offsets forever.
  for sentinel in $SENTINELS; do
    offset=$(sentinel_replicas "$sentinel" info-refresh slave-repl-offset |
      awk -v max="$REPLICA_INFO_FRESH_MS" '$1 != "-" && $1 + 0 <= max && $2 != "-" { print $2 }' | sort -n | tail -n 1)
    if [ "${offset:-0}" -gt 0 ]; then log "sentinel $sentinel saw a replica at offset $offset within ${REPLICA_INFO_FRESH_MS} ms"; return 0; fi
  done
  return 1
}
