# shellcheck shell=sh
# tile38-ha: RESP helpers shared by every busybox-sh script (the Tile38 and Redis Alpine images).
# Included by the renderer in place of the `. ./lib.sh` line; needs only nc, awk, sed, sort,
# uniq, tr, timeout. Reads LOG_TAG, SENTINELS, MASTER_NAME, SENTINEL_PASSWORD, TILE38_PASSWORD.

log() { echo "$(date -u +%Y-%m-%dT%H:%M:%SZ) $LOG_TAG $*" >&2; }

# Passwords go into JSON and config files: refuse characters that would need escaping there.
check_password() {
  case "$2" in
    *[!A-Za-z0-9._~+=@%^,:/-]*) log "$1 may only hold letters, digits and ._~+=@%^,:/-"; exit 2 ;;
  esac
}

# resp ARG... : one command in RESP framing (binary-safe, no quoting issues; LC_ALL=C for byte lengths).
resp() { resp_head "$#" "$@"; }

# resp_head COUNT ARG... : the framing of a command of COUNT arguments and its first ones (the
# caller streams the rest, e.g. one too large for a shell argument).
resp_head() {
  local arg
  printf '*%d\r\n' "$1"
  shift
  for arg in "$@"; do printf '$%d\r\n%s\r\n' "${#arg}" "$arg"; done
}

# Inside these scripts an endpoint is "host:port" (the form SENTINELS and TILE38_NODES list); it is
# split only where a command or a file wants the two apart (nc, FOLLOW, SENTINEL MONITOR, a config
# file). The port follows the last colon: a host may be an IPv6 literal.
endpoint_host() { printf '%s\n' "${1%:*}"; }
endpoint_port() { printf '%s\n' "${1##*:}"; }

# rsend HOST:PORT PASSWORD : sends stdin (RESP commands) after AUTH (if a password is given) and
# before QUIT; prints the raw reply lines without CR, less AUTH's one-line reply (the first
# line). The last line answers QUIT (Sentinel 7.0 answers it with an error). Every call is
# bounded: nc -w bounds the connect, timeout the whole call (Debian's busybox nc does not bound
# reads).
rsend() {
  {
    if [ -n "$2" ]; then resp AUTH "$2"; fi
    cat
    resp QUIT
  } | timeout "${CALL_TIMEOUT:-3}" nc -w "${NC_TIMEOUT:-2}" "$(endpoint_host "$1")" "$(endpoint_port "$1")" 2>/dev/null | tr -d '\r' |
    if [ -n "$2" ]; then sed 1d; else cat; fi
}

# rcall HOST:PORT PASSWORD CMD ARG... : one command.
rcall() {
  local ep="$1" password="$2"
  shift 2
  resp "$@" | rsend "$ep" "$password"
}

# sentinel_call HOST:PORT CMD ARG... : one command to a sentinel.
sentinel_call() {
  local ep="$1"
  shift
  rcall "$ep" "$SENTINEL_PASSWORD" "$@"
}

# Reply parsing (stdin = rcall output) ------------------------------------------------------

# master_addr_reply: "host:port" of a GET-MASTER-ADDR-BY-NAME reply (a two-element array).
master_addr_reply() {
  awk '$0 == "*2" { f = 1; next } f && /^\$/ { next } f { v[++n] = $0; if (n == 2) { print v[1] ":" v[2]; exit } }'
}

# info_field NAME: the value of NAME:value in an INFO reply.
info_field() { sed -n "s/^$1:\\(.*\\)\$/\\1/p" | head -n 1; }

# info_leader INFO : "host:port" a follower's INFO replication names as its leader.
info_leader() { printf '%s:%s\n' "$(printf '%s\n' "$1" | info_field master_host)" "$(printf '%s\n' "$1" | info_field master_port)"; }

# json_field NAME: a number, boolean or string field of a JSON reply (the first occurrence).
json_field() {
  sed -n -e "s/.*\"$1\":\"\\([^\"]*\\)\".*/\\1/p" -e "s/.*\"$1\":\\([0-9a-z.-][0-9a-z.-]*\\).*/\\1/p" | head -n 1
}

# reply_fields FIELD...: the one parser of Sentinel's replies of bulk-string pairs, a flat array
# (SENTINEL MASTER, SENTINEL DEBUG) or an array of them (SENTINEL REPLICAS: one per replica): one
# line per array that holds every FIELD, their values in that order ("-" for an empty one).
# Framing, other replies (QUIT's) and arrays without every FIELD print nothing.
reply_fields() {
  awk -v fields="$*" '
    BEGIN { n = split(fields, f, " ") }
    function row(   i, line) {
      for (i = 1; i <= n; i++) {
        if (!(f[i] in v)) { split("", v); return }
        line = line (i > 1 ? " " : "") (v[f[i]] == "" ? "-" : v[f[i]])
      }
      print line
      split("", v)
    }
    bulk { bulk = 0; if (key == "") key = $0; else { v[key] = $0; key = "" } next }
    $0 == "$-1" { if (key == "") key = SUBSEP; else { v[key] = ""; key = "" } next }
    /^\$/ { bulk = 1; next }
    /^\*/ { row(); key = ""; next }
    END { row() }'
}

# sentinel_master SENTINEL FIELD...: the values of FIELDs in that sentinel's SENTINEL MASTER entry,
# on one line (reply_fields); nothing when it does not answer.
sentinel_master() {
  local sentinel="$1"
  shift
  sentinel_call "$sentinel" SENTINEL MASTER "$MASTER_NAME" | reply_fields "$@"
}

# sentinel_replicas SENTINEL FIELD...: that sentinel's SENTINEL REPLICAS, one line per replica
# with the values of FIELDs (reply_fields); fails when it does not answer with a list.
sentinel_replicas() {
  local reply
  reply=$(sentinel_call "$1" SENTINEL REPLICAS "$MASTER_NAME")
  case $reply in '*'*) ;; *) return 1 ;; esac
  shift
  printf '%s\n' "$reply" | reply_fields "$@"
}

# majority_vote: stdin holds one "host:port" answer per line; prints the answer most lines give
# (ties: the smallest, so every caller breaks them alike); fails on empty input. Ties compare the
# "host port" text, as they always did: in a rolling upgrade, nodes and sentinels of both versions
# still pick the same answer ("a1:1" < "a:1", but "a 1" < "a1 1").
majority_vote() {
  sed 's/:\([^:]*\)$/ \1/' | sort | uniq -c | sort -k1,1nr -k2 |
    awk 'NR == 1 && $1 > 0 { print $2 ":" $3; found = 1 } END { exit found ? 0 : 1 }'
}

# is_ip_literal HOST: true for an IPv4 or IPv6 address, false for a name (names hold a letter or
# a hyphen and never a colon).
is_ip_literal() {
  case "$1" in
    *:*) return 0 ;;
    '' | *[!0-9.]*) return 1 ;;
    *) return 0 ;;
  esac
}

# strike COUNTER LIMIT: one more strike in the variable named COUNTER (a condition seen again);
# true once it holds LIMIT in a row. The caller clears it (clear_strikes) when the condition does
# not hold, and when it acts on it.
strike() {
  eval "$1=\$((\${$1:-0} + 1))"
  eval "[ \"\$$1\" -ge \"\$2\" ]"
}
clear_strikes() { eval "$1=0"; }

# Milliseconds of uptime, for durations (busybox date has no %N).
now_ms() { awk '{ printf "%d\n", $1 * 1000 }' /proc/uptime; }

# retry_for SECONDS INTERVAL CMD...: runs CMD every INTERVAL seconds until it succeeds, or fails
# once SECONDS have passed.
retry_for() {
  local end every
  end=$(( $(date +%s) + $1 )); every=$2; shift 2
  until "$@"; do
    [ "$(date +%s)" -lt "$end" ] || return 1
    sleep "$every"
  done
}

# node_role HOST:PORT : master or slave, as a Tile38 node reports it (TILE38_PASSWORD); fails when
# the node does not answer (or refuses INFO while catching up).
node_role() {
  local role
  role=$(rcall "$1" "$TILE38_PASSWORD" INFO replication | info_field role)
  [ -n "$role" ] && echo "$role"
}

# sentinel_leader HOST:PORT : "host:port" this sentinel names as leader; fails when it does not answer.
sentinel_leader() {
  local leader
  leader=$(sentinel_call "$1" SENTINEL get-master-addr-by-name "$MASTER_NAME" | master_addr_reply)
  [ -n "$leader" ] && printf '%s\n' "$leader"
}

# sentinel_view HOST:PORT : "named master flags ok_ping_ms" (named and master as host:port): the
# leader it names (get-master-addr-by-name, the promoted node once a failover reconfigures), and
# from SENTINEL MASTER the node it monitors, its flags (s_down, o_down, failover_in_progress…) and
# the ms since that node last answered its PING; fails when it does not answer.
sentinel_view() {
  local reply named view
  reply=$({ resp SENTINEL get-master-addr-by-name "$MASTER_NAME"; resp SENTINEL MASTER "$MASTER_NAME"; } |
    rsend "$1" "$SENTINEL_PASSWORD")
  # Its first five lines answer GET-MASTER-ADDR-BY-NAME (a two-element array), the rest MASTER.
  named=$(printf '%s\n' "$reply" | sed -n 1,5p | master_addr_reply)
  [ -n "$named" ] || return 1
  view=$(printf '%s\n' "$reply" | sed 1,5d | reply_fields ip port flags last-ok-ping-reply |
    awk -v named="$named" '{ print named, $1 ":" $2, $3, $4; exit }')
  [ -n "$view" ] && printf '%s\n' "$view"
}

# sentinel_replica_view HOST:PORT REPLICA : "flags priority ok_ping_ms" of REPLICA ("host:port",
# Sentinel's name for it) in that sentinel's SENTINEL REPLICAS: its flags, the priority its last
# INFO reported, and the ms since it last answered a PING; fails when it does not list it.
sentinel_replica_view() {
  local view
  view=$(sentinel_replicas "$1" name flags slave-priority last-ok-ping-reply | awk -v me="$2" '$1 == me { print $2, $3, $4; exit }')
  [ -n "$view" ] && printf '%s\n' "$view"
}

# leader_among SENTINEL... : prints "host:port" of the leader named by the most of these
# sentinels that answer (host:port each); fails when none answers.
leader_among() {
  local sentinel
  for sentinel in "$@"; do sentinel_leader "$sentinel" || true; done | majority_vote
}

# leader_from_sentinels: leader_among every sentinel of $SENTINELS.
leader_from_sentinels() {
  # shellcheck disable=SC2086 # SENTINELS is a space-separated list by design
  leader_among $SENTINELS
}

# port_listeners PORT: the socket inodes listening on TCP PORT in this network namespace
# (/proc/net/tcp and tcp6: state 0A is LISTEN; the local address ends in :PORT in hex).
port_listeners() {
  local hexport
  hexport=$(printf ':%04X' "$1")
  awk -v p="$hexport" 'FNR > 1 && $4 == "0A" && substr($2, length($2) - 4) == p { print $10 }' /proc/net/tcp /proc/net/tcp6 2>/dev/null
}

# process_listens PID PORT: true when process PID holds a socket listening on PORT.
process_listens() {
  local inodes fd link inode
  inodes=" $(port_listeners "$2" | tr '\n' ' ')"
  [ "$inodes" != " " ] || return 1
  for fd in "/proc/$1/fd/"*; do
    link=$(readlink "$fd" 2>/dev/null) || continue
    case "$link" in "socket:["*"]") ;; *) continue ;; esac
    inode=${link#socket:[}; inode=${inode%]}
    case "$inodes" in *" $inode "*) return 0 ;; esac
  done
  return 1
}
