# shellcheck shell=sh
# tile38-ha: send clients of a node that does not lead back to the sentinels. Included by the
# start script after tile38-node.sh; mind_clients runs at every step of node_life.
# Sentinel-aware clients reconnect through the sentinels only when a connection breaks, and treat
# only Redis' `READONLY …` error as "the leader moved"; Tile38 answers `not the leader` (a
# follower) or `read only` (a leader handing over), so a client connection that stays on a node
# that stopped leading (a hand-over, a stalled leader) or that reached a node a sentinel still
# listed as leader (redis-py asks SENTINEL MASTERS, which lags behind GET-MASTER-ADDR-BY-NAME) is
# stuck there. Such a follower therefore closes its client connections once no sentinel lists it
# as the leader any more, so that they ask the sentinels again and find the real leader.

# Set while clients may hold connections here that they believe lead.
CLIENTS_MISDIRECTED=""
LAST_ROLE=""

# sentinels_list_self: prints "self" when some sentinel's SENTINEL MASTER entry lists this node,
# "other" when at least one sentinel answered and none does, nothing when none answered.
sentinels_list_self() {
  local answered="" sentinel listed
  for sentinel in $SENTINELS; do
    listed=$(sentinel_master "$sentinel" ip port | awk '{ print $1 ":" $2; exit }')
    [ -n "$listed" ] || continue
    answered=1
    if is_self "$listed"; then echo self; return 0; fi
  done
  [ -z "$answered" ] || echo other
}

# drop_clients: CLIENT KILL every connection but the sentinels' (named sentinel-<id>-cmd/pubsub).
drop_clients() {
  local ids id
  ids=$(node_call_self CLIENT LIST | sed -n 's/^id=\([0-9][0-9]*\) addr=[^ ]* name=\([^ ]*\) .*/\1 \2/p' |
    awk '$2 !~ /^sentinel-/ { print $1 }')
  [ -n "$ids" ] || return 0
  for id in $ids; do resp CLIENT KILL ID "$id"; done | rsend "$LOCAL_ENDPOINT" "$(tile38_password)" >/dev/null
  log "this node does not lead: closed $(echo "$ids" | wc -w) client connection(s) so that they ask the sentinels again"
}

# mind_clients ROLE: ROLE is the node's role now (master or slave).
mind_clients() {
  local was
  was=$LAST_ROLE
  LAST_ROLE=$1
  [ "$1" = master ] && return 0
  [ "$was" = master ] && CLIENTS_MISDIRECTED=1
  case "$(sentinels_list_self)" in
    self) CLIENTS_MISDIRECTED=1 ;;
    other) if [ -n "$CLIENTS_MISDIRECTED" ]; then drop_clients; CLIENTS_MISDIRECTED=""; fi ;;
  esac
}
