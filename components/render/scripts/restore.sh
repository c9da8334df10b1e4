#!/bin/sh
# tile38-ha: the restore command (TILE38_RESTORE_CMD) a Tile38 start script runs before an empty
# node leads a cluster in which no node holds data. The Tile38 image has no S3 client, so it asks
# the node's backup agent through the data volume (see backupScripts.ts) and waits, bounded.
# Reads DATA_DIR (default /data).
# @settings
: "${RESTORE_TIMEOUT:?}" "${RESTORE_DIR_NAME:?}"
_d=${DATA_DIR:-/data}; _r="$_d/$RESTORE_DIR_NAME"; _t=$RESTORE_TIMEOUT
_log() { echo "$(date -u +%Y-%m-%dT%H:%M:%SZ) tile38-ha-restore $*" >&2; }
mkdir -p "$_r" || exit 1
_id="$(date +%s)-$$"
rm -f "$_r/result"
printf '%s\n' "$_id" > "$_r/request.tmp" && mv -f "$_r/request.tmp" "$_r/request" || exit 1
_log "asked the backup agent for the newest good backup (request $_id); waiting up to $_t s"
_end=$(( $(date +%s) + _t ))
while [ "$(date +%s)" -lt "$_end" ]; do
  if [ -f "$_r/result" ]; then
    read -r _status _rid _a _b _c < "$_r/result"
    if [ "$_rid" = "$_id" ]; then
      rm -f "$_r/request"
      case "$_status" in
        ok)
          _size=$(stat -c %s "$_d/appendonly.aof")
          _sha=$(sha256sum "$_d/appendonly.aof" | cut -d' ' -f1)
          if [ "$_size" != "$_b" ] || [ "$_sha" != "$_c" ]; then
            _log "the restored appendonly.aof does not match backup $_a (size $_size/$_b, sha256 $_sha/$_c): removing it"
            rm -f "$_d/appendonly.aof"; exit 1
          fi
          _log "restored backup $_a ($_b bytes, sha256 $_c)"; exit 0 ;;
        none) _log "no backup exists: starting empty"; exit 0 ;;
        *) _log "restore failed: $(cut -d' ' -f3- < "$_r/result")"; exit 1 ;;
      esac
    fi
  fi
  sleep 0.2
done
rm -f "$_r/request"
_log "the backup agent did not answer within $_t s"
exit 1
