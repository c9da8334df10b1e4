#!/bin/sh
# tile38-ha: start one sentinel. It builds the sentinel's own writable sentinel.conf from its
# rendered template, monitoring the leader its running peers name, and keeps a watchdog beside it
# that re-monitors the leader its peers agree on when this sentinel is left naming a dead one, and
# (hosts by name) forgets replicas it learned by IP address.
# Environment: SELF (this sentinel's advertised host:port), SENTINEL_TEMPLATE (its rendered
# sentinel.conf), DATA_DIR (its own volume, default /data), REDIS_BIN (default redis-server),
# TILE38_PASSWORD and SENTINEL_PASSWORD (appended as auth lines, never rendered into files that
# Pulumi stores).
set -eu
# @settings
: "${MASTER_NAME:?}" "${SENTINELS:?}" "${QUORUM:?}" "${DOWN_AFTER_MS:?}" "${FAILOVER_TIMEOUT_MS:?}"
: "${PARALLEL_SYNCS:?}" "${WATCHDOG_STRIKES:?}" "${TILE38_NODES:?}"
. ./lib.sh
. ./sentinel-failover-delay.sh
. ./config-password.sh

export LC_ALL=C
: "${SELF:?SELF must be set}" "${SENTINEL_TEMPLATE:?SENTINEL_TEMPLATE must be set}"
: "${TILE38_PASSWORD:?TILE38_PASSWORD must be set}"
DATA_DIR=${DATA_DIR:-/data}
SENTINEL_PASSWORD=${SENTINEL_PASSWORD:-}
REDIS_BIN=${REDIS_BIN:-redis-server}
LOG_TAG="sentinel[$SELF]"

# spaced_endpoint HOST:PORT: "host port", the form Sentinel itself writes a leader in, which this
# script's log lines keep.
spaced_endpoint() { echo "$(endpoint_host "$1") $(endpoint_port "$1")"; }

main() {
  check_password TILE38_PASSWORD "$TILE38_PASSWORD"
  check_password SENTINEL_PASSWORD "$SENTINEL_PASSWORD"
  # sentinel.conf holds passwords, and Sentinel rewrites it with mode 0644 & ~umask: keep it 0600.
  umask 077
  mkdir -p "$DATA_DIR"
  _conf="$DATA_DIR/sentinel.conf"
  _peers=""
  for _s in $SENTINELS; do [ "$_s" = "$SELF" ] || _peers="$_peers $_s"; done

  # The current leader (host:port): what the running peers agree on, else what this sentinel last
  # knew, else the rendered initial leader (a new cluster).
  _leader=""
  # shellcheck disable=SC2086 # one peer per word
  if [ -n "$_peers" ] && _leader=$(leader_among $_peers); then
    log "peers name the leader: $(spaced_endpoint "$_leader")"
  elif [ -s "$_conf" ]; then
    _leader=$(awk -v m="$MASTER_NAME" '$1 == "sentinel" && $2 == "monitor" && $3 == m { print $4 ":" $5; exit }' "$_conf")
    _known=none
    [ -z "$_leader" ] || _known=$(spaced_endpoint "$_leader")
    log "no peer answered; keeping the last known leader: $_known"
  fi

  {
    awk -v m="$MASTER_NAME" -v h="$(endpoint_host "$_leader")" -v p="$(endpoint_port "$_leader")" '
      $1 == "sentinel" && $2 == "monitor" && $3 == m && p != "" { $4 = h; $5 = p }
      { print }' "$SENTINEL_TEMPLATE"
    # Keep this sentinel's identity and epochs: a new id at every start would leave its peers
    # counting a ghost sentinel, and a lost epoch would make it accept stale configurations.
    if [ -s "$_conf" ]; then
      awk -v m="$MASTER_NAME" '
        $1 == "sentinel" && ($2 == "myid" || $2 == "current-epoch") { print }
        $1 == "sentinel" && ($2 == "config-epoch" || $2 == "leader-epoch") && $3 == m { print }' "$_conf"
    fi
    # Every other node as a known replica: a sentinel that starts while the leader is down learns
    # nothing from it, yet must reach the replicas (and, through their hello channel, its peers)
    # to agree on a failover.
    _monitored=$(awk -v m="$MASTER_NAME" '$1 == "sentinel" && $2 == "monitor" && $3 == m { print $4 ":" $5; exit }' "$SENTINEL_TEMPLATE")
    [ -z "$_leader" ] || _monitored=$_leader
    for _n in $TILE38_NODES; do
      [ "$_n" = "$_monitored" ] || printf 'sentinel known-replica %s %s %s\n' "$MASTER_NAME" "$(endpoint_host "$_n")" "$(endpoint_port "$_n")"
    done
    if [ -n "$SENTINEL_PASSWORD" ]; then
      printf 'requirepass %s\nsentinel sentinel-pass %s\n' "$SENTINEL_PASSWORD" "$SENTINEL_PASSWORD"
    fi
    printf 'sentinel auth-pass %s %s\n' "$MASTER_NAME" "$TILE38_PASSWORD"
  } > "$_conf.new"
  chmod 600 "$_conf.new"
  mv "$_conf.new" "$_conf"
  log "starting; monitoring $(awk '$2 == "monitor" { print $4 ":" $5 }' "$_conf")"
  "$REDIS_BIN" "$_conf" --sentinel &
  _server=$!
  watchdog &
  _watchdog=$!
  # shellcheck disable=SC2064 # the PIDs are known now and must be expanded now
  trap "kill -TERM $_server 2>/dev/null; kill $_watchdog 2>/dev/null" TERM INT
  _status=0
  wait "$_server" || _status=$?
  # A TERM interrupts the first wait: wait again for the sentinel to finish its shutdown.
  wait "$_server" 2>/dev/null || true
  kill "$_watchdog" 2>/dev/null || true
  log "redis-server exited with status $_status"
  exit "$_status"
}

# peers_leader: the leader every answering peer names (at least one must answer); fails otherwise.
peers_leader() {
  _pl=""
  for _p in $SENTINELS; do
    [ "$_p" = "$SELF" ] && continue
    _a=$(sentinel_leader "$_p") || continue
    if [ -z "$_pl" ]; then _pl=$_a; elif [ "$_pl" != "$_a" ]; then return 1; fi
  done
  [ -n "$_pl" ] && echo "$_pl"
}

# Tile38 replicas never report master_link_status, so the sentinel that led a failover stays in
# its reconf phase until failover-timeout; if the new leader dies inside that window and the
# others promote a node it already knew (even the old leader), it is left naming a dead node for
# good (measured: > 10 minutes). Every second: when all answering peers agree on a leader that
# really leads (INFO role:master) while this sentinel names another node that does not,
# WATCHDOG_STRIKES times in a row, it forgets its view and monitors the peers' leader. At once
# when this sentinel is still in a failover of its own (failover_in_progress): the node it promoted
# no longer leads and every peer names one that does, so a later failover overtook it (a hand-over
# right after a failover, while a restarted node still loaded its AOF and kept the phase going:
# clients that asked this sentinel were sent to the old, read-only leader for 3 s more).
watchdog() {
  clear_strikes REMONITOR_STRIKES
  while sleep 1; do
    # A live rotation (password-switch.sh) changes the passwords under a running container, whose
    # environment keeps the old ones: use those in force, from this sentinel's own sentinel.conf.
    _t=$(sentinel_conf_value "$DATA_DIR/sentinel.conf" auth-pass "$MASTER_NAME")
    _s=$(sentinel_conf_value "$DATA_DIR/sentinel.conf" sentinel-pass)
    TILE38_PASSWORD=${_t:-$TILE38_PASSWORD}
    SENTINEL_PASSWORD=${_s:-$SENTINEL_PASSWORD}
    forget_replicas_known_by_ip
    end_reconf_phase || true
    _mine=$(sentinel_leader "$SELF") || { clear_strikes REMONITOR_STRIKES; continue; }
    _theirs=$(peers_leader) || { clear_strikes REMONITOR_STRIKES; continue; }
    if [ "$_mine" = "$_theirs" ] || [ "$(node_role "$_theirs")" != master ] ||
      [ "$(node_role "$_mine")" = master ]; then
      clear_strikes REMONITOR_STRIKES; continue
    fi
    case "$(sentinel_master "$SELF" flags)" in
      *failover_in_progress*) log "watchdog: its failover was overtaken by a later one" ;;
      *) strike REMONITOR_STRIKES "$WATCHDOG_STRIKES" || continue ;;
    esac
    log "watchdog: peers agree on $(spaced_endpoint "$_theirs"), this sentinel names $(spaced_endpoint "$_mine"), which does not lead: re-monitoring"
    remonitor "$_theirs"
    clear_strikes REMONITOR_STRIKES
  done
}

# When hosts are names (Kubernetes), a follower appears in its leader's INFO under its connection
# IP for a moment: Tile38 sends REPLCONF listening-port before REPLCONF ip-address. A sentinel
# whose INFO falls between the two keeps a replica by that IP for good, rewrites it into its
# config and may promote it, naming the leader by an address that changes with the pod (seen in
# the pod simulator). SENTINEL RESET forgets every replica and peer; the leader's next INFO (sent
# at once) and the peers' hellos (every 2 s) bring back the ones known by name. Only while the
# leader is up and no failover runs (flags exactly "master"), at most once per RESET_PAUSE seconds.
RESET_PAUSE=30
NEXT_RESET=0
forget_replicas_known_by_ip() {
  is_ip_literal "$(endpoint_host "$SELF")" && return 0
  _now=$(date +%s)
  [ "$_now" -ge "$NEXT_RESET" ] || return 0
  _ip=$(sentinel_replicas "$SELF" ip |
    while read -r _h; do if is_ip_literal "$_h"; then echo "$_h"; break; fi; done)
  [ -n "$_ip" ] || return 0
  [ "$(sentinel_master "$SELF" flags)" = master ] || return 0
  NEXT_RESET=$((_now + RESET_PAUSE))
  log "watchdog: a replica is known by its IP address $_ip, not by name: SENTINEL RESET"
  sentinel_call "$SELF" SENTINEL RESET "$MASTER_NAME" >/dev/null
}

# Tile38 replicas never report master_link_status, so the sentinel that led a failover stays in its
# reconf phase for failover-timeout, and all that time SENTINEL MASTER(S) lists the OLD leader
# (GET-MASTER-ADDR-BY-NAME already names the new one). redis-py asks SENTINEL MASTERS: it was sent
# to the old address, now a follower or dead. Once the promoted node leads (INFO role:master) and
# every other node that answers follows it, the phase is over in fact: failover-timeout is lowered
# to 1 ms so that Sentinel ends the phase at its next tick (+failover-end-for-timeout: it switches
# to the new leader and sends SLAVEOF only to replicas it has not reconfigured), then set back to
# the rendered value. A node that does not answer is down, and Sentinel does not wait for it
# either; one that refuses INFO while it catches up (a restarted node loading its AOF: 15 s at 5 M
# points, all that time SENTINEL MASTERS listed the old leader and a hand-over then met a stale
# sentinel) does not hold the phase either: it follows the leader the sentinels name once it has
# caught up (node_life), and any SLAVEOF Sentinel sends at the phase's end names that leader. Any
# other time a failover-timeout other than the rendered one (this watchdog died half-way) is reset.
end_reconf_phase() {
  read -r _ft _flags _epoch _listed <<EOF_MASTER
$(sentinel_master "$SELF" failover-timeout flags config-epoch ip port | awk '{ print $1, $2, $3, $4 ":" $5 }')
EOF_MASTER
  case "$_flags" in
    *failover_in_progress*) ;;
    *)
      _now=$(now_ms)
      saw_config_epoch "$_epoch" "$_now"
      _voted=$(awk -v m="$MASTER_NAME" '$1 == "sentinel" && $2 == "leader-epoch" && $3 == m { print $4 }' "$DATA_DIR/sentinel.conf")
      if attempt_unseen "$_voted" "$_epoch" && no_failover_running; then saw_attempt_end "$_voted" "$_epoch" "$_now"; fi
      _want=$(rearmed_failover_timeout "$FAILOVER_SEEN_MS" "$_now")
      _set=$(failover_timeout_change "$_ft" "$_want")
      if [ -n "$_set" ]; then
        [ "$_set" != "$FAILOVER_TIMEOUT_MS" ] || log "watchdog: failover-timeout is $_ft: set back to $_set"
        sentinel_call "$SELF" SENTINEL SET "$MASTER_NAME" failover-timeout "$_set" >/dev/null
      fi
      return 0 ;;
  esac
  _new_ep=$(sentinel_leader "$SELF") || return 0
  # GET-MASTER-ADDR-BY-NAME names the promoted node only in the reconf phase.
  [ "$_new_ep" != "$_listed" ] || return 0
  [ "$(node_role "$_new_ep")" = master ] || return 0
  for _n in $TILE38_NODES; do
    [ "$_n" = "$_new_ep" ] && continue
    _info=$(rcall "$_n" "$TILE38_PASSWORD" INFO replication)
    case "$_info" in '' | *"catching up"*) continue ;; esac
    [ "$(printf '%s\n' "$_info" | info_field role)" = slave ] || return 0
    [ "$(info_leader "$_info")" = "$_new_ep" ] || return 0
  done
  log "watchdog: $_new_ep leads and every node that answers follows it: ending the failover's reconfiguration phase"
  sentinel_call "$SELF" SENTINEL SET "$MASTER_NAME" failover-timeout 1 >/dev/null
  _i=0
  while [ "$_i" -lt 30 ] && [ "$(master_entry)" != "$_new_ep" ]; do sleep 0.1; _i=$((_i + 1)); done
  sentinel_call "$SELF" SENTINEL SET "$MASTER_NAME" failover-timeout "$FAILOVER_TIMEOUT_MS" >/dev/null
  log "watchdog: SENTINEL MASTER now lists $(master_entry) (failover-timeout back to $FAILOVER_TIMEOUT_MS)"
}

# no_failover_running: every sentinel answers, and none is failing the leader over.
no_failover_running() {
  for _s in $SENTINELS; do
    _f=$(sentinel_master "$_s" flags) && [ -n "$_f" ] || return 1
    case "$_f" in *failover_in_progress*) return 1 ;; esac
  done
}

# master_entry: host:port this sentinel's SENTINEL MASTER entry lists (what SENTINEL MASTERS shows).
master_entry() {
  sentinel_master "$SELF" ip port | awk '{ print $1 ":" $2 }'
}

# remonitor LEADER: SENTINEL REMOVE + MONITOR LEADER (host:port) + SET (the rendered timings and the auth-pass).
remonitor() {
  sentinel_call "$SELF" SENTINEL REMOVE "$MASTER_NAME" >/dev/null
  _r=$(sentinel_call "$SELF" SENTINEL MONITOR "$MASTER_NAME" "$(endpoint_host "$1")" "$(endpoint_port "$1")" "$QUORUM" | head -n 1)
  [ "$_r" = +OK ] || { log "watchdog: SENTINEL MONITOR failed: $_r"; return 1; }
  sentinel_call "$SELF" SENTINEL SET "$MASTER_NAME" down-after-milliseconds "$DOWN_AFTER_MS" \
    failover-timeout "$FAILOVER_TIMEOUT_MS" parallel-syncs "$PARALLEL_SYNCS" auth-pass "$TILE38_PASSWORD" >/dev/null
}

main
