# shellcheck shell=sh
# tile38-ha: write_tile38_config ROLE [LEADER [PRIORITY]] rewrites $DATA_DIR/config
# with the managed keys for ROLE (leader|follower) and keeps every other top-level key Tile38 wrote
# (server_id, follow_id, follow_pos, ...). A follower follows LEADER (host:port) with
# replica-priority PRIORITY (default 0), a leader has REPLICA_PRIORITY. The awk splitter walks the JSON by character, so nested
# values and strings with commas survive. Must produce the same managed keys as renderTile38Config
# in tile38Config.ts (a test runs both). Reads MANAGED_KEYS, REPLICA_PRIORITY, MAXMEMORY.
write_tile38_config() {
  local role="$1" cfg="$DATA_DIR/config" prio password
  if [ "$role" = follower ]; then prio=${3:-0}; else prio=$REPLICA_PRIORITY; fi
  {
    if [ -s "$cfg" ]; then cat "$cfg"; else echo '{}'; fi
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
    }' > "$cfg.kept"
  {
    if [ "$role" = follower ]; then
      printf '"follow_host": "%s"\n"follow_port": %s\n' "$(endpoint_host "$2")" "$(endpoint_port "$2")"
    fi
    password=$(tile38_password)
    printf '"requirepass": "%s"\n"leaderauth": "%s"\n' "$password" "$password"
    printf '"replica_announce_ip": "%s"\n"replica_announce_port": %s\n' "$NODE_HOST" "$NODE_PORT"
    printf '"replica-priority": %s\n' "$prio"
    # A leader starts read-only: it takes writes only once a majority of the sentinels has heard
    # from this incarnation (tile38-node-life.sh, state `unconfirmed`). A follower is never
    # read-only (a hand-over leaves the old leader read-only: every start resets it).
    if [ "$role" = leader ]; then printf '"read_only": true\n'; else printf '"read_only": false\n'; fi
    if [ -n "$MAXMEMORY" ]; then printf '"maxmemory": "%s"\n' "$MAXMEMORY"; fi
  } >> "$cfg.kept"
  awk 'BEGIN { printf "{" } { printf "%s\n\t%s", (NR > 1 ? "," : ""), $0 } END { print "\n}" }' "$cfg.kept" > "$cfg.new"
  rm -f "$cfg.kept"
  chmod 600 "$cfg.new"
  mv "$cfg.new" "$cfg"
}
