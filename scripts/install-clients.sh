#!/usr/bin/env bash
# Installs the pinned clients of the client matrix (tests/integration/clients.test.ts,
# `npm run drill -- --clients`) into ~/.cache/tile38-ha/clients (TILE38_HA_CLIENTS overrides):
#   redis-py 5.2.1     a venv, from PyPI (pip)
#   go-redis v9.17.2   testing/clients/go-redis built with the Go module proxy (go.mod + go.sum)
#   Lettuce 7.7.0      testing/clients/lettuce compiled with Maven (Maven Central, ~/.m2)
# ioredis 5.8.2 comes with `npm ci`. Idempotent: a client is rebuilt only when its sources changed.
# A client whose registry cannot be reached is skipped with a loud line (its tests then report
# themselves skipped with the reason); the script still exits 0.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
CACHE=${TILE38_HA_CLIENTS:-$HOME/.cache/tile38-ha/clients}
mkdir -p "$CACHE"
REDIS_PY=5.2.1
GO_REDIS=v9.17.2
LETTUCE=7.7.0.RELEASE

loud() { echo "!!!!! $* !!!!!"; }

# stamp DIR FILE...: true when DIR/.stamp matches the files' checksum (else writes the new one to DIR/.stamp.new).
stamp_ok() {
  local dir=$1; shift
  sha256sum "$@" | sha256sum | cut -d' ' -f1 > "$dir/.stamp.new"
  cmp -s "$dir/.stamp.new" "$dir/.stamp"
}
stamp_commit() { mv "$1/.stamp.new" "$1/.stamp"; }

# redis-py
py="$CACHE/redis-py-$REDIS_PY"
if "$py/bin/python" -c "import redis, sys; sys.exit(redis.__version__ != '$REDIS_PY')" 2>/dev/null; then
  echo "redis-py $REDIS_PY: cached in $py"
elif ! command -v python3 >/dev/null 2>&1; then
  loud "python3 NOT FOUND: redis-py $REDIS_PY not installed, its client tests are SKIPPED"
else
  rm -rf "$py"
  if python3 -m venv "$py" && "$py/bin/pip" install -q --disable-pip-version-check "redis==$REDIS_PY"; then
    echo "redis-py $REDIS_PY: installed in $py"
  else
    rm -rf "$py"
    loud "PyPI unreachable or pip failed: redis-py $REDIS_PY not installed, its client tests are SKIPPED"
  fi
fi

# go-redis
gr="$CACHE/go-redis-$GO_REDIS"
mkdir -p "$gr"
src=(testing/clients/go-redis/go.mod testing/clients/go-redis/go.sum testing/clients/go-redis/*.go)
if [ -x "$gr/tile38-writer" ] && stamp_ok "$gr" "${src[@]}"; then
  echo "go-redis $GO_REDIS: cached in $gr"
elif ! command -v go >/dev/null 2>&1; then
  loud "go NOT FOUND: go-redis $GO_REDIS not built, its client tests are SKIPPED"
else
  stamp_ok "$gr" "${src[@]}"
  if (cd testing/clients/go-redis && go build -mod=readonly -o "$gr/tile38-writer" .); then
    stamp_commit "$gr"; echo "go-redis $GO_REDIS: built into $gr"
  else
    rm -f "$gr/tile38-writer"
    loud "Go module proxy unreachable or build failed: go-redis $GO_REDIS not built, its client tests are SKIPPED"
  fi
fi

# Lettuce
lt="$CACHE/lettuce-$LETTUCE"
mkdir -p "$lt"
mapfile -t src < <(find testing/clients/lettuce/pom.xml testing/clients/lettuce/src -type f | sort)
if [ -f "$lt/classes/tile38ha/Writer.class" ] && stamp_ok "$lt" "${src[@]}"; then
  echo "Lettuce $LETTUCE: cached in $lt"
elif ! command -v mvn >/dev/null 2>&1 || ! command -v java >/dev/null 2>&1; then
  loud "mvn or java NOT FOUND: Lettuce $LETTUCE not built, its client tests are SKIPPED"
else
  stamp_ok "$lt" "${src[@]}"
  if mvn -q -B -f testing/clients/lettuce/pom.xml "-Dtile38ha.out=$lt" compile; then
    stamp_commit "$lt"; echo "Lettuce $LETTUCE: built into $lt"
  else
    rm -rf "$lt/classes"
    loud "Maven Central unreachable or build failed: Lettuce $LETTUCE not built, its client tests are SKIPPED"
  fi
fi
exit 0
