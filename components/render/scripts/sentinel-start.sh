#!/bin/sh
# tile38-ha: start one sentinel. It builds the sentinel's own writable sentinel.conf from its
# rendered template, monitoring the leader its running peers name.
# Environment: SELF (this sentinel's advertised host:port), SENTINEL_TEMPLATE (its rendered
# sentinel.conf), DATA_DIR (its own volume, default /data), REDIS_BIN (default redis-server),
# TILE38_PASSWORD and SENTINEL_PASSWORD (appended as auth lines, never rendered into files that
# Pulumi stores).
set -eu
# @settings
: "${MASTER_NAME:?}" "${SENTINELS:?}"
. ./lib.sh

export LC_ALL=C
: "${SELF:?SELF must be set}" "${SENTINEL_TEMPLATE:?SENTINEL_TEMPLATE must be set}"
: "${TILE38_PASSWORD:?TILE38_PASSWORD must be set}"
DATA_DIR=${DATA_DIR:-/data}
SENTINEL_PASSWORD=${SENTINEL_PASSWORD:-}
REDIS_BIN=${REDIS_BIN:-redis-server}
LOG_TAG="sentinel[$SELF]"

main() {
  check_password TILE38_PASSWORD "$TILE38_PASSWORD"
  check_password SENTINEL_PASSWORD "$SENTINEL_PASSWORD"
  # sentinel.conf holds passwords, and Sentinel rewrites it with mode 0644 & ~umask: keep it 0600.
  umask 077
  mkdir -p "$DATA_DIR"
  _conf="$DATA_DIR/sentinel.conf"
  _peers=""
  for _s in $SENTINELS; do [ "$_s" = "$SELF" ] || _peers="$_peers $_s"; done

  # The current leader: what the running peers agree on, else what this sentinel last knew,
  # else the rendered initial leader (a new cluster).
  _leader=""
  # shellcheck disable=SC2086 # one peer per word
  if [ -n "$_peers" ] && _leader=$(leader_among $_peers); then
    log "peers name the leader: $_leader"
  elif [ -s "$_conf" ]; then
    _leader=$(awk -v m="$MASTER_NAME" '$1 == "sentinel" && $2 == "monitor" && $3 == m { print $4 " " $5; exit }' "$_conf")
    log "no peer answered; keeping the last known leader: ${_leader:-none}"
  fi

  {
    awk -v m="$MASTER_NAME" -v l="$_leader" '
      $1 == "sentinel" && $2 == "monitor" && $3 == m && l != "" { split(l, a, " "); $4 = a[1]; $5 = a[2] }
      { print }' "$SENTINEL_TEMPLATE"
    # Keep this sentinel's identity and epochs: a new id at every start would leave its peers
    # counting a ghost sentinel, and a lost epoch would make it accept stale configurations.
    if [ -s "$_conf" ]; then
      awk -v m="$MASTER_NAME" '
        $1 == "sentinel" && ($2 == "myid" || $2 == "current-epoch") { print }
        $1 == "sentinel" && ($2 == "config-epoch" || $2 == "leader-epoch") && $3 == m { print }' "$_conf"
    fi
    if [ -n "$SENTINEL_PASSWORD" ]; then
      printf 'requirepass %s\nsentinel sentinel-pass %s\n' "$SENTINEL_PASSWORD" "$SENTINEL_PASSWORD"
    fi
    printf 'sentinel auth-pass %s %s\n' "$MASTER_NAME" "$TILE38_PASSWORD"
  } > "$_conf.new"
  chmod 600 "$_conf.new"
  mv "$_conf.new" "$_conf"
  log "starting; monitoring $(awk '$2 == "monitor" { print $4 ":" $5 }' "$_conf")"
  exec "$REDIS_BIN" "$_conf" --sentinel
}
main
