# shellcheck shell=sh
# tile38-ha: the failover-timeout a sentinel holds between failovers (its watchdog, in
# sentinel-start.sh, sets it). Included after lib.sh; reads FAILOVER_TIMEOUT_MS.
#
# Sentinel starts no failover of a master within 2 x failover-timeout of the last one it started
# or voted for ("Next failover delay"): with the rendered 18 s, a leader lost in the 36 s after a
# failover stayed lost (issue 24: 60 s without a leader, twice). Between failovers this watchdog
# keeps failover-timeout at what lets a failover start NOW: half the time since this sentinel saw
# the last failover complete (its config-epoch changed), less REARM_MARGIN_MS (a voter's own start
# time is its vote plus up to 1 s), never below REARM_MIN_MS (the timeout a failover itself then
# runs with: electing a leader and seeing the promoted node's INFO, sent every second, take well
# under it), never above the rendered value. Only after a failover completed: a sentinel whose
# master has not changed since it voted (the failover it voted for stalled) keeps the full delay,
# so two failovers never run at once.
REARM_MARGIN_MS=1000
REARM_MIN_MS=2000
FAILOVER_SEEN_EPOCH=""
FAILOVER_SEEN_MS=""
# saw_config_epoch EPOCH NOW_MS: FAILOVER_SEEN_MS becomes NOW_MS when EPOCH is not the last one seen.
saw_config_epoch() {
  # shellcheck disable=SC2034 # read by the watchdog (sentinel-start.sh)
  if [ -n "$FAILOVER_SEEN_EPOCH" ] && [ "$1" != "$FAILOVER_SEEN_EPOCH" ]; then FAILOVER_SEEN_MS=$2; fi
  FAILOVER_SEEN_EPOCH=$1
}

# An attempt that never completed blocks the next one just as long (Sentinel counts from its vote):
# a fresh cluster's sentinels that found the first leader down before it ever answered tried a
# failover with no replica to promote, and the leader lost 20 s later stayed lost until 36 s after
# that try (the scale bench at 10 k points: 28-32 s to fail over). Once no sentinel runs a failover
# any more (the caller checks every one), such an attempt counts as a failover seen ended.
FAILOVER_ATTEMPT_EPOCH=""
# saw_attempt_end LEADER_EPOCH CONFIG_EPOCH NOW_MS: FAILOVER_SEEN_MS becomes NOW_MS once per
# LEADER_EPOCH above CONFIG_EPOCH (this sentinel voted in an epoch whose failover never completed).
saw_attempt_end() {
  attempt_unseen "$1" "$2" || return 0
  FAILOVER_ATTEMPT_EPOCH=$1
  # shellcheck disable=SC2034 # read by the watchdog (sentinel-start.sh)
  FAILOVER_SEEN_MS=$3
}

# attempt_unseen LEADER_EPOCH CONFIG_EPOCH: whether saw_attempt_end would count an attempt now.
attempt_unseen() {
  [ -n "$1" ] && [ -n "$2" ] && [ "$1" -gt "$2" ] && [ "$1" != "$FAILOVER_ATTEMPT_EPOCH" ]
}

# rearmed_failover_timeout SEEN_MS NOW_MS: the failover-timeout to hold now, the last failover
# having been seen complete at SEEN_MS (empty: none since this sentinel started).
rearmed_failover_timeout() {
  [ -n "$1" ] || { echo "$FAILOVER_TIMEOUT_MS"; return 0; }
  _rf=$(( ($2 - $1 - REARM_MARGIN_MS) / 2 ))
  [ "$_rf" -ge "$REARM_MIN_MS" ] || _rf=$REARM_MIN_MS
  [ "$_rf" -le "$FAILOVER_TIMEOUT_MS" ] || _rf=$FAILOVER_TIMEOUT_MS
  echo "$_rf"
}

# failover_timeout_change CURRENT WANT: the value to SET now, or nothing. Lowered at once (a
# failover may be due), raised in doublings and back to the rendered value (each SET is logged and
# rewrites sentinel.conf).
failover_timeout_change() {
  [ -n "$1" ] && [ "$1" != "$2" ] || return 0
  if [ "$2" -lt "$1" ] || [ "$2" -ge $(($1 * 2)) ] || [ "$2" = "$FAILOVER_TIMEOUT_MS" ]; then echo "$2"; fi
}
