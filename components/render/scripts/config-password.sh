# shellcheck shell=sh
# tile38-ha: config_password FILE prints the password a process's own config file requires: a
# Tile38 config ("requirepass": "pw", as Tile38 and write_tile38_config write it) or a
# sentinel.conf (requirepass pw, or "pw" once Sentinel rewrote it); nothing when it holds none.
# A live password rotation (password-switch.sh) changes the running processes and their files
# (Tile38: CONFIG REWRITE), never the containers' environment: the node scripts and the switch
# read the password in force from here.
config_password() {
  sed -n -e 's/.*"requirepass":[[:space:]]*"\([^"]*\)".*/\1/p' \
    -e 's/^requirepass[[:space:]][[:space:]]*"\{0,1\}\([^"[:space:]]*\)"\{0,1\}[[:space:]]*$/\1/p' "$1" 2>/dev/null | head -n 1
}

# tile38_password: the password the cluster's Tile38 nodes require now, for a node's scripts
# (DATA_DIR, TILE38_PASSWORD): the container's environment until this incarnation has written its
# config file and started its server (PASSWORD_IN_CONFIG set), the config file's from then on. A
# live rotation changes the servers' password and their config files under running containers,
# whose environment keeps the old one until they are replaced.
tile38_password() {
  local password=""
  [ -z "${PASSWORD_IN_CONFIG:-}" ] || password=$(config_password "$DATA_DIR/config")
  echo "${password:-$TILE38_PASSWORD}"
}

# sentinel_conf_value FILE KEY [MASTER]: the value of `sentinel KEY [MASTER] VALUE` in a
# sentinel.conf (Sentinel rewrites it on SENTINEL SET / SENTINEL CONFIG SET, so it holds the value
# in force: auth-pass towards the nodes, sentinel-pass towards the peers); nothing without one.
sentinel_conf_value() {
  awk -v k="$2" -v m="${3:-}" '$1 == "sentinel" && $2 == k && (m == "" || $3 == m) { print (m == "" ? $3 : $4); exit }' "$1" 2>/dev/null | tr -d '"'
}
