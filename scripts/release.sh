#!/usr/bin/env bash
# Tags a release: HEAD's tree plus the built dist/, committed outside any branch and tagged
# v<package.json version>. `npm install git+https://…#vX.Y.Z` and `pulumi package add
# https://…/tile38-ha@vX.Y.Z` then get runnable JavaScript without a build step (dist/ stays out
# of main). Usage: bash scripts/release.sh   (then push the tag)
set -euo pipefail
cd "$(dirname "$0")/.."
version=$(node -p 'require("./package.json").version')
tag="v$version"
if git rev-parse -q --verify "refs/tags/$tag" >/dev/null; then
  echo "release: tag $tag exists already" >&2
  exit 1
fi
if [ -n "$(git status --porcelain --untracked-files=no)" ]; then
  echo "release: commit or stash your changes first" >&2
  exit 1
fi
npm run build --silent
index=$(mktemp)
trap 'rm -f "$index"' EXIT
GIT_INDEX_FILE="$index" git read-tree HEAD
GIT_INDEX_FILE="$index" git add -f dist
tree=$(GIT_INDEX_FILE="$index" git write-tree)
commit=$(git commit-tree "$tree" -p HEAD -m "Release $tag: $(git rev-parse --short HEAD) with the built dist/")
git tag -a "$tag" "$commit" -m "tile38-ha $tag"
echo "release: tagged $tag ($commit): $(git rev-parse --short HEAD) + dist/"
