# shellcheck shell=sh
# tile38-ha: when a hand-over turns its leader read-only, timed against Sentinel's INFO of the
# followers. Included by the hand-over (tile38-handover.sh) after lib.sh; reads MASTER_NAME.
#
# A failover's sentinel sees its promotion only in the promoted node's next INFO reply, which it
# asks for once a second counted from the previous one (hard-coded during a failover), and it
# sends SLAVEOF NO ONE three of its timer ticks (170-250 ms) after it was asked. Asked at a random
# moment, that wait was 90-1080 ms of each hand-over's write pause (the scale bench at 10 k points:
# pauses 486-1293 ms). Turning read-only PROMOTION_AIM_MS after that sentinel's last INFO of the
# follower to be promoted lands SLAVEOF shortly before its next one. Which follower Sentinel picks
# is not known beforehand: the one with the largest offset, which Tile38 reports as its AOF size,
# so under writes mostly the one it read last, whose next INFO is then the furthest away (a wait of
# up to half a cycle more: bench pauses 488-1173 ms). So the hand-over first has that sentinel read
# every follower in one timer tick (align_info_phase): whichever it promotes, the next INFO comes
# at the same moment (bench pauses 483-683 ms). Where that fails (no SENTINEL DEBUG), the aim is
# the follower that keeps the longest wait for any of them shortest. The cost is a wait before the
# pause (at most one INFO cycle), never a longer pause: a missed aim is the random moment of before.

# ms after the aimed follower's last INFO reply: the sync (50-110 ms) and the three ticks
# (170-250 ms) still land SLAVEOF before the next INFO, asked 1000-1100 ms after the last reply.
PROMOTION_AIM_MS=550
# One INFO cycle: 1 s, then the first tick after it (ticks every 50-100 ms).
INFO_CYCLE_MS=1050

# failover_phase_wait AGE_MS...: the ages of the promotable followers' last INFO replies (ms, as
# SENTINEL REPLICAS reports info-refresh). Prints the ms to wait before turning read-only: 0 when
# no age is in the cycle (a sentinel whose INFO period is not 1 s asks at once in a failover).
failover_phase_wait() {
  echo "$@" | awk -v aim="$PROMOTION_AIM_MS" -v cycle="$INFO_CYCLE_MS" '
    function mod(x) { return ((x % cycle) + cycle) % cycle }
    {
      best = ""; wait = 0
      for (j = 1; j <= NF; j++) {
        if ($j >= 1000) continue
        # Aimed at j: any other follower i is next asked (age_j - age_i) mod cycle later.
        worst = 0
        for (i = 1; i <= NF; i++) if (i != j && mod($j - $i) > worst) worst = mod($j - $i)
        if (best == "" || worst < best) { best = worst; wait = mod(aim - $j) }
      }
      print wait
    }'
}

# align_info_phase SENTINEL: SENTINEL reads every node's INFO in the same timer tick: its INFO
# period 1 ms for ALIGN_SECONDS (one or two of its ticks, every 50-100 ms), then what it was. A
# hand-over that dies in between leaves it reading INFO every tick until node_life's tune_sentinels
# (within 10 s) sets the rendered period again. Fails when SENTINEL has no SENTINEL DEBUG.
ALIGN_SECONDS=0.15
align_info_phase() {
  local period
  period=$(sentinel_call "$1" SENTINEL DEBUG | reply_fields INFO-PERIOD | head -n 1)
  [ -n "$period" ] || return 1
  sentinel_call "$1" SENTINEL DEBUG INFO-PERIOD 1 | grep -q '^+OK' || return 1
  sleep "$ALIGN_SECONDS"
  sentinel_call "$1" SENTINEL DEBUG INFO-PERIOD "$period" | grep -q '^+OK'
}

# failover_phase SENTINEL: waits until the moment failover_phase_wait names for SENTINEL's INFO of
# the followers it could promote (priority above 0, not down or disconnected). Fails, without
# waiting, when SENTINEL does not list its replicas, or is still in a failover of its own (it
# would refuse the hand-over's; the scale bench: a hand-over right after a kill, timed to that
# sentinel and failed over by another, paused 1448 ms).
failover_phase() {
  # Each call bounded by 1 s: a sentinel that does not answer costs the hand-over 1 s, not 3.
  # shellcheck disable=SC2034 # CALL_TIMEOUT and NC_TIMEOUT bound rsend (lib.sh)
  local t rows ages elapsed wait aligned=yes CALL_TIMEOUT=1 NC_TIMEOUT=1
  case ",$(sentinel_master "$1" flags)," in *,failover_in_progress,*) return 1 ;; esac
  align_info_phase "$1" || aligned=""
  t=$(now_ms)
  rows=$(sentinel_replicas "$1" info-refresh slave-priority flags) || return 1
  [ -n "$aligned" ] || log "sentinel $1 did not read the followers' INFO at once (no SENTINEL DEBUG): aiming at their own moments"
  # The ages as the sentinel answered: half the round trip ago, on average.
  elapsed=$(( ($(now_ms) - t) / 2 ))
  ages=$(printf '%s\n' "$rows" | awk -v e="$elapsed" '$2 > 0 && $3 !~ /s_down|o_down|disconnected/ { printf "%d ", $1 + e }')
  [ -n "$ages" ] || return 1
  # shellcheck disable=SC2086 # one age per word
  wait=$(failover_phase_wait $ages)
  [ "$wait" -gt 0 ] || return 0
  log "waiting ${wait} ms: sentinel $1 then sees the promotion soonest (ages of its INFO of the followers: ${ages% } ms)"
  sleep "$((wait / 1000)).$(printf '%03d' $((wait % 1000)))"
}
