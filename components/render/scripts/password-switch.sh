#!/bin/sh
# tile38-ha: switches a running cluster to new passwords, live, before a `pulumi up` replaces its
# containers or rolls its pods (Docker: a one-shot container; Kubernetes: a Job; either runs
# whenever a password changes, before any sentinel or node is replaced or restarted). Tile38 and Sentinel both keep a connection authenticated when
# the password changes, so nothing already connected notices; each step is one round trip:
#  1. every sentinel accepts the new sentinel password besides the old one (ACL SETUSER default
#     >NEW: requirepass is the default user's password) and uses it towards its peers
#     (sentinel-pass). The old one stays accepted until that sentinel is replaced: the scripts of
#     the containers not yet replaced keep working with it;
#  2. every Tile38 node requires the new Tile38 password (requirepass, leaderauth, CONFIG REWRITE:
#     the node scripts read the password in force from that file). Links already open
#     (replication, the sentinels', clients') stay authenticated; a client that connects from now
#     on needs the new one;
#  3. every sentinel authenticates to the nodes with it (SENTINEL SET auth-pass, which reopens its
#     links to them: they authenticate at once). Before this step a sentinel that had to reconnect
#     would still answer PING (Tile38 answers PING without a password) but never INFO again
#     until its links reopen; in this order no link is ever left unauthenticated.
# A process that does not answer is left alone (its replacement starts with the new passwords);
# one that answers but refuses both the new password and its old one stops the switch (exit 1)
# before it changes anything (every process is asked first), and with it the `pulumi up`. Run again with nothing to change, it changes nothing that matters
# (step 3 reopens the sentinels' links once).
# Environment: TILE38_PASSWORD, SENTINEL_PASSWORD: the new passwords. The old ones are read from
# the processes' own files on their volumes, mounted read-only: NODE_DIRS and SENTINEL_DIRS (in
# the order of TILE38_NODES and SENTINELS; Docker), and/or from OLD_PASSWORDS_DIR: the cluster
# Secret as deployed before this update, mounted (Kubernetes: a pod's volume is not reachable).
set -eu
# @settings
: "${MASTER_NAME:?}" "${SENTINELS:?}" "${TILE38_NODES:?}" "${NODE_DIRS?}" "${SENTINEL_DIRS?}" "${OLD_PASSWORDS_DIR?}"
. ./lib.sh
. ./config-password.sh

export LC_ALL=C
: "${TILE38_PASSWORD:?TILE38_PASSWORD must be set}" "${SENTINEL_PASSWORD:?SENTINEL_PASSWORD must be set}"
LOG_TAG="password-switch"

# working_password HOST:PORT CANDIDATE...: the first candidate the process there accepts (AUTH).
# Status 1 when it answers and refuses every one, 2 when it does not answer.
working_password() {
  _ep=$1; shift
  _answered=""
  for _c in "$@"; do
    [ -n "$_c" ] || continue
    _r=$(resp AUTH "$_c" | rsend "$_ep" "" | head -n 1)
    case $_r in
      +OK) echo "$_c"; return 0 ;;
      '') ;;
      *) _answered=1 ;;
    esac
  done
  [ -z "$_answered" ] || return 1
  return 2
}

# nth N WORDS...: the Nth word (1-based).
nth() { shift "$1"; echo "$1"; }

# volume_password N DIRS FILE: the password FILE requires in the Nth directory of DIRS (the Nth
# process's volume); nothing without DIRS.
volume_password() {
  [ -n "$2" ] || return 0
  # shellcheck disable=SC2086 # one directory per word
  config_password "$(nth "$1" $2)/$3"
}

# secret_password KEY: the old password under KEY of the Secret in OLD_PASSWORDS_DIR; nothing
# without it (a first deploy has no Secret yet).
secret_password() {
  [ -n "$OLD_PASSWORDS_DIR" ] || return 0
  cat "$OLD_PASSWORDS_DIR/$1" 2>/dev/null || true
}

# replies_ok: true when there are replies on stdin (AUTH's left out) and each is +OK, the last
# one (QUIT's) aside.
replies_ok() {
  _replies=$(sed '$d')
  [ -n "$_replies" ] && ! printf '%s\n' "$_replies" | grep -qv '^+OK$'
}

FAILED=""
fail() { log "$1"; FAILED=1; }

# sentinel_password_now N HOST:PORT / node_password_now N HOST:PORT: the password the Nth sentinel
# (node) accepts, the new one first (working_password's status when none).
sentinel_password_now() {
  working_password "$2" "$SENTINEL_PASSWORD" "$(volume_password "$1" "$SENTINEL_DIRS" sentinel.conf)" "$(secret_password sentinel-password)"
}
node_password_now() {
  working_password "$2" "$TILE38_PASSWORD" "$(volume_password "$1" "$NODE_DIRS" config)" "$(secret_password tile38-password)"
}

# check_all: fails (naming each) when a process answers but refuses both its new and its old
# password; asked before anything changes, so that a switch never stops halfway.
check_all() {
  # shellcheck disable=SC2086 # one endpoint per word
  check_each sentinel_password_now "sentinel" "sentinel" $SENTINELS
  # shellcheck disable=SC2086
  check_each node_password_now "Tile38 node" "Tile38" $TILE38_NODES
  [ -z "$FAILED" ]
}

# check_each PASSWORD_NOW KIND PASSWORD HOST:PORT...: fail for each process (the Nth of its kind)
# that answers but refuses both its new and its old PASSWORD.
check_each() {
  _now=$1 _kind=$2 _what=$3
  shift 3
  _i=0
  for _e in "$@"; do
    _i=$((_i + 1))
    _st=0; "$_now" "$_i" "$_e" >/dev/null || _st=$?
    [ "$_st" != 1 ] || fail "$_kind $_e refuses both the new $_what password and its old one"
  done
}

# switch_sentinels: step 1 on every sentinel; the ones that answered go to SWITCHED_SENTINELS.
SWITCHED_SENTINELS=""
switch_sentinels() {
  _i=0
  for _s in $SENTINELS; do
    _i=$((_i + 1))
    _st=0
    _pw=$(sentinel_password_now "$_i" "$_s") || _st=$?
    case $_st in
      2) log "sentinel $_s does not answer: left alone (its replacement starts with the new passwords)"; continue ;;
      1) fail "sentinel $_s refuses both the new sentinel password and its old one"; continue ;;
    esac
    if [ "$_pw" != "$SENTINEL_PASSWORD" ]; then
      if { resp ACL SETUSER default on ">$SENTINEL_PASSWORD"; resp SENTINEL CONFIG SET sentinel-pass "$SENTINEL_PASSWORD"; } |
        rsend "$_s" "$_pw" | replies_ok; then
        log "sentinel $_s: accepts the new sentinel password (and the old one until it is replaced)"
      else
        fail "sentinel $_s refused ACL SETUSER / SENTINEL CONFIG SET sentinel-pass"; continue
      fi
    else
      rcall "$_s" "$SENTINEL_PASSWORD" SENTINEL CONFIG SET sentinel-pass "$SENTINEL_PASSWORD" >/dev/null
    fi
    SWITCHED_SENTINELS="$SWITCHED_SENTINELS $_s"
  done
}

# switch_nodes: step 2 on every Tile38 node.
switch_nodes() {
  _i=0
  for _n in $TILE38_NODES; do
    _i=$((_i + 1))
    _st=0
    _pw=$(node_password_now "$_i" "$_n") || _st=$?
    case $_st in
      2) log "Tile38 node $_n does not answer: left alone (its replacement starts with the new passwords)"; continue ;;
      1) fail "Tile38 node $_n refuses both the new Tile38 password and its old one"; continue ;;
    esac
    if { resp CONFIG SET requirepass "$TILE38_PASSWORD"; resp CONFIG SET leaderauth "$TILE38_PASSWORD"; resp CONFIG REWRITE; } |
      rsend "$_n" "$_pw" | replies_ok; then
      if [ "$_pw" != "$TILE38_PASSWORD" ]; then log "Tile38 node $_n: requires the new Tile38 password"; fi
    else
      fail "Tile38 node $_n refused CONFIG SET requirepass / leaderauth / CONFIG REWRITE"
    fi
  done
}

# point_sentinels_at_nodes: step 3 on every sentinel that answered step 1.
point_sentinels_at_nodes() {
  for _s in $SWITCHED_SENTINELS; do
    if rcall "$_s" "$SENTINEL_PASSWORD" SENTINEL SET "$MASTER_NAME" auth-pass "$TILE38_PASSWORD" | replies_ok; then
      log "sentinel $_s: authenticates to the nodes with the new Tile38 password"
    else
      fail "sentinel $_s refused SENTINEL SET $MASTER_NAME auth-pass"
    fi
  done
}

main() {
  check_password TILE38_PASSWORD "$TILE38_PASSWORD"
  check_password SENTINEL_PASSWORD "$SENTINEL_PASSWORD"
  if ! check_all; then log "nothing changed: the cluster keeps its passwords (see above)"; exit 1; fi
  switch_sentinels
  switch_nodes
  # A node left on its old password: the sentinels keep the one it requires.
  [ -n "$FAILED" ] || point_sentinels_at_nodes
  if [ -n "$FAILED" ]; then log "the cluster is NOT on the new passwords everywhere (see above)"; exit 1; fi
  log "every process that answers is on the new passwords"
}

main
