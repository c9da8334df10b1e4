/**
 * POSIX-sh building blocks shared by every start/stop script. They run on busybox (the Tile38
 * and Redis Alpine images) and on Debian's shells, and need only `nc`, `awk`, `sed`, `sort`.
 * RESP is spoken by hand over `nc`, so the Tile38 image needs no Redis client.
 */

/** Single-quotes a value for sh. */
export function shellQuote(value: string): string {
    return `'${value.replace(/'/g, `'\\''`)}'`;
}

/** `NAME='value'` lines for a rendered settings block. */
export function shellAssignments(vars: Record<string, string | number>): string {
    return Object.entries(vars)
        .map(([k, v]) => `${k}=${shellQuote(String(v))}`)
        .join("\n");
}

/** Functions every script includes. Variables they read: SENTINELS, MASTER_NAME, SENTINEL_PASSWORD, LOG_TAG. */
export const SHELL_LIBRARY = String.raw`
log() { echo "$(date -u +%Y-%m-%dT%H:%M:%SZ) $LOG_TAG $*" >&2; }

# Passwords go into JSON and config files: refuse characters that would need escaping there.
check_password() {
  case "$2" in
    *[!A-Za-z0-9._~+=@%^,:/-]*) log "$1 may only hold letters, digits and ._~+=@%^,:/-"; exit 2 ;;
  esac
}

# resp ARG... : one command in RESP framing (binary-safe, no quoting issues).
resp() {
  printf '*%d\r\n' "$#"
  for a in "$@"; do printf '$%d\r\n%s\r\n' "${"$"}{#a}" "$a"; done
}

# rcall HOST PORT PASSWORD CMD ARG... : AUTH (if a password is given), CMD, QUIT; prints the
# raw reply lines without CR. Every call is bounded: nc -w bounds the connect (and, in Alpine's
# busybox, reads), timeout bounds the whole call whichever nc runs it.
rcall() {
  _h=$1; _p=$2; _pw=$3; shift 3
  {
    if [ -n "$_pw" ]; then resp AUTH "$_pw"; fi
    resp "$@"
    resp QUIT
  } | timeout "${"$"}{CALL_TIMEOUT:-3}" nc -w "${"$"}{NC_TIMEOUT:-2}" "$_h" "$_p" 2>/dev/null | tr -d '\r'
}

# leader_from_sentinels [SENTINEL...]: prints "host port" of the leader named by the most
# sentinels that answer (default: all of $SENTINELS); fails when none answers.
leader_from_sentinels() {
  _answers=""
  for _s in ${"$"}{@:-$SENTINELS}; do
    _a=$(rcall "${"$"}{_s%:*}" "${"$"}{_s##*:}" "$SENTINEL_PASSWORD" SENTINEL get-master-addr-by-name "$MASTER_NAME" |
      awk '$0 == "*2" { f = 1; next } f && /^\$/ { next } f { v[++n] = $0; if (n == 2) { print v[1] " " v[2]; exit } }')
    if [ -n "$_a" ]; then _answers="$_answers$_a
"; fi
  done
  [ -n "$_answers" ] || return 1
  printf '%s' "$_answers" | sort | uniq -c | sort -rn | awk 'NR == 1 { print $2 " " $3 }'
}
`;
