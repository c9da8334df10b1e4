import { Endpoint, Tile38Node, Topology } from "./topology";

/** The role a node starts in, decided by its start script from the sentinels' answer. */
export type StartRole = { kind: "leader" } | { kind: "follower"; leader: Endpoint };

/**
 * Keys of Tile38's `<data dir>/config` that tile38-ha owns. The start script replaces exactly
 * these and keeps every other key Tile38 wrote (its `server_id`, `follow_id`, `follow_pos`, …),
 * because Tile38 rewrites that file itself and it lives on the persistent volume.
 */
export const MANAGED_TILE38_KEYS = [
    "follow_host",
    "follow_port",
    "requirepass",
    "leaderauth",
    "replica_announce_ip",
    "replica_announce_port",
    "replica-priority",
    "maxmemory",
] as const;

/**
 * The managed part of a node's Tile38 config for a given start role. A follower starts with
 * `replica-priority` 0 (never promoted before it has caught up: Tile38 #750); its start script
 * raises it to `topology.replicaPriority` once `SERVER` reports `caught_up`.
 * The password is a parameter so that tests can render it; deployments pass it to the start
 * script through the environment, never through a rendered file.
 */
export function renderTile38Config(node: Tile38Node, topo: Topology, role: StartRole, password: string): Record<string, string | number> {
    const cfg: Record<string, string | number> = {};
    if (role.kind === "follower") {
        cfg.follow_host = role.leader.host;
        cfg.follow_port = role.leader.port;
    }
    cfg.requirepass = password;
    cfg.leaderauth = password;
    cfg.replica_announce_ip = node.host;
    cfg.replica_announce_port = node.port;
    cfg["replica-priority"] = role.kind === "follower" ? 0 : topo.replicaPriority;
    if (topo.maxMemory !== undefined) cfg.maxmemory = topo.maxMemory;
    return cfg;
}

/**
 * Shell: `write_tile38_config ROLE [LEADER_HOST LEADER_PORT]` rewrites $DATA_DIR/config with
 * the managed keys for ROLE (leader|follower) and keeps every other top-level key. The awk
 * splitter walks the JSON by character, so nested values and strings with commas survive.
 * Must produce the same managed keys as {@link renderTile38Config} (checked by a test that runs it).
 */
export const WRITE_TILE38_CONFIG = String.raw`
write_tile38_config() {
  _role=$1; _cfg="$DATA_DIR/config"
  if [ "$_role" = follower ]; then _prio=0; else _prio=$REPLICA_PRIORITY; fi
  {
    if [ -s "$_cfg" ]; then cat "$_cfg"; else echo '{}'; fi
  } | awk -v managed="$MANAGED_KEYS" '
    BEGIN { RS = "\001"; split(managed, m, " "); for (i in m) drop["\"" m[i] "\""] = 1 }
    function keep(entry,   k) {
      gsub(/[\r\n]+/, " ", entry); gsub(/^[ \t]+|[ \t]+$/, "", entry)
      if (entry == "") return
      k = entry; sub(/[ \t\r\n]*:.*/, "", k)
      if (!(k in drop)) out[++n] = entry
    }
    {
      s = $0; depth = 0; instr = 0; esc = 0; start = 0
      for (i = 1; i <= length(s); i++) {
        c = substr(s, i, 1)
        if (instr) { if (esc) esc = 0; else if (c == "\\") esc = 1; else if (c == "\"") instr = 0; continue }
        if (c == "\"") { instr = 1; continue }
        if (c == "{" || c == "[") { depth++; if (depth == 1) start = i + 1; continue }
        if (c == "}" || c == "]") { if (depth == 1) keep(substr(s, start, i - start)); depth--; continue }
        if (c == "," && depth == 1) { keep(substr(s, start, i - start)); start = i + 1 }
      }
      for (j = 1; j <= n; j++) print out[j]
    }' > "$_cfg.kept"
  {
    if [ "$_role" = follower ]; then
      printf '"follow_host": "%s"\n"follow_port": %s\n' "$2" "$3"
    fi
    printf '"requirepass": "%s"\n"leaderauth": "%s"\n' "$TILE38_PASSWORD" "$TILE38_PASSWORD"
    printf '"replica_announce_ip": "%s"\n"replica_announce_port": %s\n' "$NODE_HOST" "$NODE_PORT"
    printf '"replica-priority": %s\n' "$_prio"
    if [ -n "$MAXMEMORY" ]; then printf '"maxmemory": "%s"\n' "$MAXMEMORY"; fi
  } >> "$_cfg.kept"
  awk 'BEGIN { printf "{" } { printf "%s\n\t%s", (NR > 1 ? "," : ""), $0 } END { print "\n}" }' "$_cfg.kept" > "$_cfg.new"
  rm -f "$_cfg.kept"
  chmod 600 "$_cfg.new"
  mv "$_cfg.new" "$_cfg"
}
`;
