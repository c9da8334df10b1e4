#!/usr/bin/env bash
# Lint: shellcheck over every shell file of the repository, each in its own dialect: the dialect comes
# from the file's shebang (busybox sh => sh, bash) or its `# shellcheck shell=` line (libraries).
# Includes (`. ./lib.sh`) are followed (-x), so a library is also checked as part of each script.
# `sh` here is busybox sh (ash), the shell of the Alpine images, which has `local`: shellcheck 0.9
# knows no busybox dialect, so sh files are checked as POSIX sh less SC3043 (`local`).
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v shellcheck >/dev/null 2>&1; then
  echo "shellcheck is not installed (apt-get install -y shellcheck)" >&2
  exit 1
fi
mapfile -t files < <({ echo .ci/run; find . \( -path ./node_modules -o -path ./.git -o -path ./bin -o -path ./dist \) -prune -o -name '*.sh' -print; } | sort)
for f in "${files[@]}"; do
  (cd "$(dirname "$f")" && shellcheck -x --exclude=SC3043 "$(basename "$f")")
done
echo "shellcheck: ${#files[@]} files, no findings"
