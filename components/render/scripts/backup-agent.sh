#!/bin/bash
# tile38-ha: AOF backup agent next to one Tile38 node, for the pinned AWS CLI image (bash >= 4.2,
# coreutils, the aws CLI; no netcat: RESP goes over bash's /dev/tcp). See backupScripts.ts for the design.
set -uo pipefail
# @settings
: "${DEFAULT_INTERVAL:?}" "${DEFAULT_REFRESH_SECONDS:?}" "${RESTORE_DIR_NAME:?}" "${POINTER_NAME:?}" "${METRICS_SERVER_SOURCE:?}" "${NODE_LOOK_SECONDS:?}"
export LC_ALL=C
NODE_NAME=${NODE_NAME:?NODE_NAME must be set}
TILE38_HOST=${TILE38_HOST:-127.0.0.1}
TILE38_PORT=${TILE38_PORT:-}
TILE38_PASSWORD=${TILE38_PASSWORD:-}
DATA_DIR=${DATA_DIR:-/data}
BACKUP_ENDPOINT=${BACKUP_ENDPOINT:-}
BACKUP_CREATE_BUCKET=${BACKUP_CREATE_BUCKET:-0}
BACKUP_INTERVAL=${BACKUP_INTERVAL:-$DEFAULT_INTERVAL}
BACKUP_REFRESH_SECONDS=${BACKUP_REFRESH_SECONDS:-$DEFAULT_REFRESH_SECONDS}
AWS_BIN=${AWS_BIN:-aws}
BACKUP_METRICS_BIND=${BACKUP_METRICS_BIND:-}
BACKUP_METRICS_PORT=${BACKUP_METRICS_PORT:-}
AOF="$DATA_DIR/appendonly.aof"
RESTORE_DIR="$DATA_DIR/$RESTORE_DIR_NAME"

log() { echo "$(date -u +%Y-%m-%dT%H:%M:%SZ) tile38-ha-backup[$NODE_NAME] $*" >&2; }
die() { log "$*"; exit 2; }

[[ $NODE_NAME =~ ^[A-Za-z0-9._-]+$ ]] || die "NODE_NAME may only hold letters, digits and ._-"

need_bucket() {
  : "${BACKUP_BUCKET:?BACKUP_BUCKET must be set}" "${BACKUP_PREFIX:?BACKUP_PREFIX must be set}"
  [[ $BACKUP_PREFIX == */ && $BACKUP_PREFIX != /* ]] || die "BACKUP_PREFIX must end with / and not start with / (got $BACKUP_PREFIX)"
}

# aws [--endpoint-url URL] ARGS... (bash 4.2 in the AWS CLI image: no empty-array expansion under set -u).
s3() {
  if [ -n "$BACKUP_ENDPOINT" ]; then "$AWS_BIN" --endpoint-url "$BACKUP_ENDPOINT" "$@"; else "$AWS_BIN" "$@"; fi
}
s3url() { printf 's3://%s/%s' "$BACKUP_BUCKET" "$1"; }

# resp ARG...: one RESP command (byte lengths: LC_ALL=C).
resp() {
  printf '*%d\r\n' "$#"
  local a
  for a in "$@"; do printf '$%d\r\n%s\r\n' "${#a}" "$a"; done
}

# The node's SERVER reply (JSON) over bash's /dev/tcp; fails when Tile38 does not answer.
tile38_server_json() {
  [ -n "$TILE38_PORT" ] || return 1
  (
    exec 3<>"/dev/tcp/$TILE38_HOST/$TILE38_PORT" || exit 1
    {
      if [ -n "$TILE38_PASSWORD" ]; then resp AUTH "$TILE38_PASSWORD"; fi
      resp OUTPUT json
      resp SERVER
      resp QUIT
    } >&3
    timeout 5 cat <&3
  ) 2>/dev/null | tr -d '\r'
}

# json_field NAME JSON: a number or string field of a flat JSON object.
json_field() {
  local re_num="\"$1\":([0-9]+)" re_str="\"$1\":\"([^\"]*)\""
  if [[ $2 =~ $re_num ]]; then printf '%s' "${BASH_REMATCH[1]}"; return 0; fi
  if [[ $2 =~ $re_str ]]; then printf '%s' "${BASH_REMATCH[1]}"; return 0; fi
  return 1
}

file_size() { stat -c %s "$1"; }
file_inode() { stat -c %i "$1"; }
sha256_of_prefix() { head -c "$2" "$1" | sha256sum | cut -d' ' -f1; }

# Sanity check of a whole AOF: RESP arrays start with '*' and every command ends with CRLF.
looks_like_aof() {
  local first last
  first=$(head -c 1 "$1")
  last=$(tail -c 2 "$1"; echo x)
  [ "$first" = "*" ] && [ "${last%x}" = $'\r\n' ]
}

# prefix_on_boundary FILE SIZE: the first SIZE bytes start with '*' and end with CRLF. A sanity
# check, not a RESP parse: aof_size itself ends on a command boundary. (tail -c +N seeks.)
prefix_on_boundary() {
  local first last
  [ "$2" -ge 4 ] || return 1
  first=$(head -c 1 "$1")
  last=$(tail -c +$(($2 - 1)) "$1" | head -c 2; echo x)
  [ "$first" = "*" ] && [ "${last%x}" = $'\r\n' ]
}

ensure_bucket() {
  [ "$BACKUP_CREATE_BUCKET" = 1 ] || return 0
  [ -n "${BUCKET_READY:-}" ] && return 0
  if s3 s3api head-bucket --bucket "$BACKUP_BUCKET" >/dev/null 2>&1; then BUCKET_READY=1; return 0; fi
  local out
  if out=$(s3 s3api create-bucket --bucket "$BACKUP_BUCKET" 2>&1) || [[ $out == *BucketAlreadyOwnedByYou* ]]; then
    log "bucket $BACKUP_BUCKET is ready"; BUCKET_READY=1; return 0
  fi
  log "cannot create bucket $BACKUP_BUCKET: $out"; return 1
}

HASH_CACHE_KEY=""
HASH_CACHE_VALUE=""

# The agent's record of its rounds, on the data volume (read by `health`, the Docker health
# check, and the metrics): {"role","last_ok_epoch","last_ok_size","last_ok_ms","failures_since_ok",
# "last_attempt_epoch","started_epoch","interval"}. Written whole (temp file + rename).
STATUS_FILE="$RESTORE_DIR/status.json"
METRICS_FILE="$RESTORE_DIR/metrics.prom"
STARTED_EPOCH=$(date +%s)
# Failed rounds since this agent started (the metrics' counter).
FAILURES_TOTAL=0
# What the last look at the node saw (the metrics): it answered, it is read-only.
NODE_UP=0
NODE_READ_ONLY=0
# leader or follower, as the node said at the last look (empty: it did not answer).
NODE_ROLE=""
ROUND_STARTED_MS=0

now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

# record_fields: the record as one line "role last_ok size ms failures last_attempt started"
# (a leader that never succeeded, started now, when there is none yet).
record_fields() {
  local st now
  st=$(cat "$STATUS_FILE" 2>/dev/null || true)
  now=$(date +%s)
  printf '%s %s %s %s %s %s %s\n' "$(json_field role "$st" || echo leader)" "$(json_field last_ok_epoch "$st" || echo 0)" \
    "$(json_field last_ok_size "$st" || echo 0)" "$(json_field last_ok_ms "$st" || echo 0)" "$(json_field failures_since_ok "$st" || echo 0)" \
    "$(json_field last_attempt_epoch "$st" || echo 0)" "$(json_field started_epoch "$st" || echo "$now")"
}

# record_round OUTCOME [SIZE]: OUTCOME is ok (the leader's AOF is in the store: uploaded or
# unchanged; the round began at ROUND_STARTED_MS), follower (this node follows: the leader's
# agent uploads) or failed.
record_round() {
  local outcome=$1 size=${2:-} now role last_ok last_size last_ms failures _attempt _started
  now=$(date +%s)
  read -r role last_ok last_size last_ms failures _attempt _started < <(record_fields)
  case "$outcome" in
    ok) role=leader; last_ok=$now; last_size=$size; last_ms=$(( $(now_ms) - ROUND_STARTED_MS )); failures=0 ;;
    follower) role=follower; failures=0 ;;
    # A failed round keeps the node's current role: a new leader whose every round fails uploads
    # (and turns unhealthy), never counts as the follower it was.
    failed) failures=$((failures + 1)); FAILURES_TOTAL=$((FAILURES_TOTAL + 1)); [ -z "$NODE_ROLE" ] || role=$NODE_ROLE ;;
  esac
  mkdir -p "$RESTORE_DIR"
  printf '{"role":"%s","last_ok_epoch":%s,"last_ok_size":%s,"last_ok_ms":%s,"failures_since_ok":%s,"last_attempt_epoch":%s,"started_epoch":%s,"interval":%s}' \
    "$role" "$last_ok" "$last_size" "$last_ms" "$failures" "$now" "$STARTED_EPOCH" "$BACKUP_INTERVAL" >"$STATUS_FILE.tmp" && mv -f "$STATUS_FILE.tmp" "$STATUS_FILE"
  write_metrics
}

# health: exit 0 while backups are current: this node follows (its leader's agent uploads), or
# the last good round is at most two intervals old (or the agent started less than two intervals
# ago); exit 1 with the reason otherwise (a broken store, credentials or bucket never turn silent).
health() {
  local now role last_ok failures started bound _size _ms _attempt
  [ -f "$STATUS_FILE" ] || { echo "no backup round recorded yet"; return 0; }
  now=$(date +%s)
  read -r role last_ok _size _ms failures _attempt started < <(record_fields)
  bound=$((2 * BACKUP_INTERVAL))
  if [ "$role" = follower ]; then echo "follower: the leader's agent uploads"; return 0; fi
  if [ $((now - last_ok)) -le "$bound" ]; then echo "last good backup $((now - last_ok)) s ago"; return 0; fi
  if [ "$last_ok" -eq 0 ] && [ $((now - started)) -le "$bound" ]; then echo "starting: first round within $bound s"; return 0; fi
  if [ "$last_ok" -eq 0 ]; then echo "no good backup in the $((now - started)) s since the agent started ($failures failed rounds)"; return 1; fi
  echo "the last good backup is $((now - last_ok)) s old (more than twice the $BACKUP_INTERVAL s interval); $failures rounds failed since"
  return 1
}

# write_metrics: the record and the last look at the node as Prometheus text (METRICS_FILE,
# whole: temp file + rename), served by backup-metrics-server.py. Names: docs/monitoring.md.
write_metrics() {
  [ -n "$BACKUP_METRICS_PORT" ] || return 0
  local role last_ok last_size last_ms failures attempt _started healthy=1 uploader=1 l
  read -r role last_ok last_size last_ms failures attempt _started < <(record_fields)
  [ "$role" = follower ] && uploader=0
  health >/dev/null || healthy=0
  l="{node=\"$NODE_NAME\"}"
  mkdir -p "$RESTORE_DIR"
  {
    metric tile38_ha_backup_last_success_timestamp_seconds gauge "Unix time of the last good backup round (0: none recorded)" "$l" "$last_ok"
    metric tile38_ha_backup_last_duration_seconds gauge "How long the last good round took" "$l" "$(printf '%d.%03d' $((last_ms / 1000)) $((last_ms % 1000)))"
    metric tile38_ha_backup_last_size_bytes gauge "AOF bytes in the last good backup" "$l" "$last_size"
    metric tile38_ha_backup_last_attempt_timestamp_seconds gauge "Unix time of the last round, good or not (0: none recorded)" "$l" "$attempt"
    metric tile38_ha_backup_failures_since_success gauge "Failed rounds since the last good one" "$l" "$failures"
    metric tile38_ha_backup_failures_total counter "Failed rounds since this agent started" "$l" "$FAILURES_TOTAL"
    metric tile38_ha_backup_interval_seconds gauge "Seconds between two rounds" "$l" "$BACKUP_INTERVAL"
    metric tile38_ha_backup_uploader gauge "1 when this node led at the last round (its agent uploads), 0 when it followed" "$l" "$uploader"
    metric tile38_ha_backup_healthy gauge "0 when this agent uploads and its last good backup is older than twice the interval" "$l" "$healthy"
    metric tile38_ha_backup_agent_start_timestamp_seconds gauge "Unix time this agent started" "$l" "$STARTED_EPOCH"
    metric tile38_ha_node_up gauge "1 when the node answered the agent's last look" "$l" "$NODE_UP"
    metric tile38_ha_node_read_only gauge "1 when the node is read-only (self-fenced, or handing over)" "$l" "$NODE_READ_ONLY"
  } >"$METRICS_FILE.tmp" && mv -f "$METRICS_FILE.tmp" "$METRICS_FILE"
}

# metric NAME TYPE HELP LABELS VALUE: one metric family of one sample.
metric() { printf '# HELP %s %s\n# TYPE %s %s\n%s%s %s\n' "$1" "$3" "$1" "$2" "$1" "$4" "$5"; }

# look_at_node: asks the node for SERVER and notes whether it answered and is read-only.
look_at_node() {
  local json
  if json=$(tile38_server_json) && [[ $json == *'"ok":true'* ]]; then
    NODE_UP=1
    if [[ $json == *'"read_only":true'* ]]; then NODE_READ_ONLY=1; else NODE_READ_ONLY=0; fi
    if [[ $json == *'"following":'* ]]; then NODE_ROLE=follower; else NODE_ROLE=leader; fi
  else
    NODE_UP=0; NODE_ROLE=""
  fi
  write_metrics
}

# serve_metrics: (re)starts the metrics server when it is not running (python3, else python 2.7).
METRICS_SERVER_PID=""
serve_metrics() {
  [ -n "$BACKUP_METRICS_PORT" ] || return 0
  if [ -n "$METRICS_SERVER_PID" ] && kill -0 "$METRICS_SERVER_PID" 2>/dev/null; then return 0; fi
  local py
  py=$(command -v python3 || command -v python || true)
  if [ -z "$py" ]; then
    [ -n "${NO_PYTHON_LOGGED:-}" ] || log "NO PYTHON in this image: the metrics on ${BACKUP_METRICS_BIND:-127.0.0.1}:$BACKUP_METRICS_PORT are NOT served (health still works)"
    NO_PYTHON_LOGGED=1; return 0
  fi
  [ -z "$METRICS_SERVER_PID" ] || log "the metrics server exited: starting it again"
  "$py" -c "$METRICS_SERVER_SOURCE" "${BACKUP_METRICS_BIND:-127.0.0.1}" "$BACKUP_METRICS_PORT" "$METRICS_FILE" &
  METRICS_SERVER_PID=$!
}

# Present while a round reads the AOF (hash, upload): the node's leader does not compact it then
# (tile38-compaction.sh, UPLOAD_MARK); a compaction replaces the file, and the round is discarded.
UPLOAD_MARK="$DATA_DIR/.tile38-ha-uploading"

# One backup round. Exit status 0: uploaded, unchanged, or nothing to do (follower, empty AOF).
backup_round() {
  local rc=0
  backup_round_steps || rc=$?
  rm -f "$UPLOAD_MARK"
  return "$rc"
}

backup_round_steps() {
  ROUND_STARTED_MS=$(now_ms)
  need_bucket
  ensure_bucket || return 1
  if [ ! -s "$AOF" ]; then log "no AOF yet: nothing to back up"; return 0; fi
  local inode size json
  inode=$(file_inode "$AOF") || return 1
  if ! { json=$(tile38_server_json) && size=$(json_field aof_size "$json"); }; then
    log "Tile38 at $TILE38_HOST:${TILE38_PORT:-?} did not answer SERVER: skipping this round"
    return 1
  fi
  if [[ $json == *'"following":'* ]]; then
    log "this node follows $(json_field following "$json"): the leader's agent uploads"
    record_round follower
    return 0
  fi
  if [ "$size" -eq 0 ]; then log "aof_size is 0: nothing to back up"; return 0; fi
  local have
  have=$(file_size "$AOF") || return 1
  if [ "$have" -lt "$size" ]; then
    log "appendonly.aof holds $have bytes, fewer than aof_size $size (not flushed yet): retrying next round"
    return 1
  fi

  if ! prefix_on_boundary "$AOF" "$size"; then
    log "the first $size bytes of appendonly.aof do not start with * and end with CRLF (not an AOF prefix): not uploaded"
    return 1
  fi

  : > "$UPLOAD_MARK" 2>/dev/null || true
  # The pointer is read while the prefix is hashed (both take a while; neither needs the other).
  local pointer_file pointer_pid pointer="" now p_size p_sha p_epoch
  pointer_file="$RESTORE_DIR/pointer.$$"
  mkdir -p "$RESTORE_DIR"
  s3 s3 cp "$(s3url "${BACKUP_PREFIX}$POINTER_NAME")" - >"$pointer_file" 2>/dev/null &
  pointer_pid=$!
  local sha
  if [ "$HASH_CACHE_KEY" = "$inode:$size" ]; then
    sha=$HASH_CACHE_VALUE
  elif sha=$(sha256_of_prefix "$AOF" "$size"); then
    HASH_CACHE_KEY="$inode:$size"; HASH_CACHE_VALUE=$sha
  else
    wait "$pointer_pid" 2>/dev/null; rm -f "$pointer_file"; return 1
  fi
  if wait "$pointer_pid"; then pointer=$(cat "$pointer_file"); fi
  rm -f "$pointer_file"

  now=$(date +%s)
  if [ -n "$pointer" ]; then
    p_size=$(json_field size "$pointer" || true)
    p_sha=$(json_field sha256 "$pointer" || true)
    p_epoch=$(json_field epoch "$pointer" || echo 0)
    if [ "$p_size" = "$size" ] && [ "$p_sha" = "$sha" ]; then
      if [ "$BACKUP_REFRESH_SECONDS" -eq 0 ] || [ $((now - p_epoch)) -lt "$BACKUP_REFRESH_SECONDS" ]; then
        log "unchanged since the last backup ($size bytes, sha256 $sha): nothing uploaded"
        record_round ok "$size"
        return 0
      fi
      log "unchanged, but the last backup is older than $BACKUP_REFRESH_SECONDS s: uploading it again before it expires"
    fi
  fi

  local stamp key mkey
  # Millisecond stamps: fixed width, so keys sort by time; two rounds never share a key.
  stamp=$(date -u +%Y%m%dT%H%M%S.%3NZ)
  key="${BACKUP_PREFIX}aof/$stamp-$NODE_NAME.aof"
  mkey="${BACKUP_PREFIX}manifests/$stamp-$NODE_NAME.json"
  # Stream exactly the prefix (no copy on the data volume, which could fill it).
  if ! head -c "$size" "$AOF" | s3 s3 cp - "$(s3url "$key")" --expected-size "$size" --only-show-errors; then
    log "upload of $key failed"; return 1
  fi
  local uploaded
  uploaded=$(s3 s3api head-object --bucket "$BACKUP_BUCKET" --key "$key" --query ContentLength --output text 2>/dev/null || true)
  if [ "$uploaded" != "$size" ]; then
    log "uploaded object $key holds ${uploaded:-?} bytes, expected $size: no manifest written"; return 1
  fi
  if [ "$(file_inode "$AOF" 2>/dev/null)" != "$inode" ]; then
    log "appendonly.aof was replaced (AOFSHRINK) during the upload: discarding this round"; return 1
  fi
  local manifest
  manifest=$(printf '{"version":1,"node":"%s","key":"%s","manifest":"%s","size":%s,"sha256":"%s","time":"%s","epoch":%s}' \
    "$NODE_NAME" "$key" "$mkey" "$size" "$sha" "$(date -u -d "@$now" +%Y-%m-%dT%H:%M:%SZ)" "$now")
  printf '%s' "$manifest" | s3 s3 cp - "$(s3url "$mkey")" --content-type application/json --only-show-errors || { log "writing manifest $mkey failed"; return 1; }
  printf '%s' "$manifest" | s3 s3 cp - "$(s3url "${BACKUP_PREFIX}$POINTER_NAME")" --content-type application/json --only-show-errors || { log "writing the pointer failed"; return 1; }
  log "backed up $size bytes (sha256 $sha) to $key"
  record_round ok "$size"
}

# Manifest keys, newest first (keys start with a sortable UTC stamp).
list_manifests() {
  local out
  out=$(s3 s3api list-objects-v2 --bucket "$BACKUP_BUCKET" --prefix "${BACKUP_PREFIX}manifests/" --query 'Contents[].Key' --output text) || return 1
  [ "$out" = None ] && return 0
  # shellcheck disable=SC2086 # the CLI's text output: keys separated by whitespace
  printf '%s\n' $out | grep '\.json$' | sort -r
}

# fetch_verified MANIFEST_KEY OUT [MANIFEST_TEXT]: downloads the backup a manifest names into
# OUT.tmp, checks size, SHA-256 and command boundaries, then renames it to OUT. Prints the reason
# and fails otherwise. MANIFEST_TEXT, when given, is that manifest's content (read already).
fetch_verified() {
  local mkey=$1 out=$2 manifest=${3:-} key size sha got got_sha
  if [ -z "$manifest" ]; then
    manifest=$(s3 s3 cp "$(s3url "$mkey")" - 2>/dev/null) || { echo "manifest $mkey cannot be read"; return 1; }
  fi
  if ! { key=$(json_field key "$manifest") && size=$(json_field size "$manifest") && sha=$(json_field sha256 "$manifest"); }; then
    echo "manifest $mkey is not a tile38-ha manifest"; return 1
  fi
  rm -f "$out.tmp"
  if ! s3 s3 cp "$(s3url "$key")" "$out.tmp" --only-show-errors >/dev/null 2>&1; then
    rm -f "$out.tmp"; echo "backup $key cannot be downloaded"; return 1
  fi
  got=$(file_size "$out.tmp")
  if [ "$got" -lt "$size" ]; then
    rm -f "$out.tmp"; echo "backup $key is truncated: $got bytes, its manifest says $size"; return 1
  fi
  if [ "$got" -ne "$size" ]; then
    rm -f "$out.tmp"; echo "backup $key has $got bytes, its manifest says $size"; return 1
  fi
  got_sha=$(sha256sum "$out.tmp" | cut -d' ' -f1)
  if [ "$got_sha" != "$sha" ]; then
    rm -f "$out.tmp"; echo "backup $key is corrupt: sha256 $got_sha, its manifest says $sha"; return 1
  fi
  if ! looks_like_aof "$out.tmp"; then
    rm -f "$out.tmp"; echo "backup $key does not start with * and end with CRLF: not an AOF"; return 1
  fi
  mv -f "$out.tmp" "$out"
  echo "$key $size $sha"
}

# restore_into OUT: the newest backup that passes every check, newest first.
# Prints "ok <key> <size> <sha256>", "none <why>" or "fail <why>".
restore_into() {
  local out=$1 manifests mkey reason refused=0 reasons="" pointer_file pointer_pid pointer="" known
  # The pointer is a copy of the newest manifest: read it while the manifests are listed, so
  # that the usual case (the newest backup is good) costs one AWS CLI call less.
  pointer_file="$RESTORE_DIR/pointer.$$"
  s3 s3 cp "$(s3url "${BACKUP_PREFIX}$POINTER_NAME")" - >"$pointer_file" 2>/dev/null &
  pointer_pid=$!
  # A bucket that does not exist yet (the local store) is created, then empty: no backup.
  if ! manifests=$(list_manifests) && ! { ensure_bucket && manifests=$(list_manifests); }; then
    wait "$pointer_pid" 2>/dev/null; rm -f "$pointer_file"
    echo "fail cannot list s3://$BACKUP_BUCKET/${BACKUP_PREFIX}manifests/"; return 0
  fi
  if wait "$pointer_pid"; then pointer=$(cat "$pointer_file"); fi
  rm -f "$pointer_file"
  if [ -z "$manifests" ]; then echo "none no backup under s3://$BACKUP_BUCKET/$BACKUP_PREFIX"; return 0; fi
  for mkey in $manifests; do
    known=""
    if [ -n "$pointer" ] && [ "$(json_field manifest "$pointer" || true)" = "$mkey" ]; then known=$pointer; fi
    if reason=$(fetch_verified "$mkey" "$out" "$known"); then
      echo "ok $reason"; return 0
    fi
    log "REFUSED: $reason; trying the previous backup"
    refused=$((refused + 1)); reasons="$reasons; $reason"
  done
  echo "fail all $refused backups were refused${reasons}"
}

# The restore handshake: answer a request written by the node's restore command.
handle_restore_request() {
  [ -f "$RESTORE_DIR/request" ] || return 0
  local id rid
  id=$(head -n 1 "$RESTORE_DIR/request")
  [ -n "$id" ] || return 0
  if [ -f "$RESTORE_DIR/result" ]; then
    read -r _ rid _ < "$RESTORE_DIR/result" || true
    [ "$rid" = "$id" ] && return 0
  fi
  log "restore request $id"
  local result
  if [ -s "$AOF" ]; then
    result="fail appendonly.aof is not empty: refusing to overwrite it"
  else
    need_bucket
    result=$(restore_into "$AOF")
  fi
  if [[ $result == ok* ]]; then chown --reference="$DATA_DIR" "$AOF" 2>/dev/null || true; fi
  log "restore request $id: $result"
  # shellcheck disable=SC2086 # split the answer into its words
  set -- $result
  local word=$1; shift
  printf '%s %s %s\n' "$word" "$id" "$*" > "$RESTORE_DIR/result.tmp" && mv -f "$RESTORE_DIR/result.tmp" "$RESTORE_DIR/result"
}

run_loop() {
  need_bucket
  mkdir -p "$RESTORE_DIR"
  # As a container's PID 1, bash ignores SIGTERM unless it traps it: without this the pod (and a
  # rolling update) waits out the whole grace period. A round in progress ends first (bash runs the
  # trap when the foreground aws command returns); every upload is whole or absent.
  trap 'log "stopping (SIGTERM)"; [ -z "$METRICS_SERVER_PID" ] || kill "$METRICS_SERVER_PID" 2>/dev/null; exit 0' TERM INT
  log "backing up to s3://$BACKUP_BUCKET/$BACKUP_PREFIX every $BACKUP_INTERVAL s (the leader's agent uploads)"
  local next now first=$BACKUP_INTERVAL look=0
  [ "$first" -gt 30 ] && first=30
  next=$(( $(date +%s) + first ))
  while :; do
    handle_restore_request
    printf -v now '%(%s)T' -1
    if [ "$now" -ge "$look" ]; then
      serve_metrics
      look_at_node
      look=$((now + NODE_LOOK_SECONDS))
    fi
    if [ "$now" -ge "$next" ]; then
      backup_round || { record_round failed; log "backup round failed; retrying in $BACKUP_INTERVAL s"; }
      next=$(( $(date +%s) + BACKUP_INTERVAL ))
    fi
    # A restore request is a node waiting to start: notice it within a fifth of a second
    # (one test -f per turn; the clock is bash's own printf, no fork).
    sleep 0.2
  done
}

usage() {
  cat >&2 <<'USAGE'
usage: tile38-ha-backup-agent [run]              backup loop + restore handshake (the sidecar)
       tile38-ha-backup-agent backup-once        one backup round now
       tile38-ha-backup-agent health             exit 1 (with the reason) when the last good backup is
                                                 older than twice the interval
       tile38-ha-backup-agent list               manifests, newest first, with size and time
       tile38-ha-backup-agent fetch MANIFEST|latest OUT
                                                 download a chosen backup, verify size and sha256,
                                                 write it to OUT (refuses to replace a non-empty OUT
                                                 unless FORCE=1)
USAGE
  exit 2
}

case "${1:-run}" in
  run) run_loop ;;
  backup-once) backup_round || { _rc=$?; record_round failed; exit "$_rc"; } ;;
  health) health ;;
  list)
    need_bucket
    _m=$(list_manifests) || die "cannot list s3://$BACKUP_BUCKET/${BACKUP_PREFIX}manifests/"
    for _k in $_m; do
      _j=$(s3 s3 cp "$(s3url "$_k")" - 2>/dev/null || true)
      printf '%s\t%s\t%s\t%s\n' "$_k" "$(json_field size "$_j" || echo ?)" "$(json_field time "$_j" || echo ?)" "$(json_field node "$_j" || echo ?)"
    done
    ;;
  fetch)
    need_bucket
    [ $# -eq 3 ] || usage
    _mk=$2; _out=$3
    if [ "$_mk" = latest ]; then
      _j=$(s3 s3 cp "$(s3url "${BACKUP_PREFIX}$POINTER_NAME")" - 2>/dev/null) || die "no pointer ${BACKUP_PREFIX}$POINTER_NAME"
      _mk=$(json_field manifest "$_j") || die "the pointer names no manifest"
    fi
    if [ -s "$_out" ] && [ "${FORCE:-0}" != 1 ]; then die "$_out exists and is not empty (set FORCE=1 to replace it)"; fi
    _r=$(fetch_verified "$_mk" "$_out") || die "REFUSED: $_r"
    log "restored $_r into $_out"
    ;;
  *) usage ;;
esac
