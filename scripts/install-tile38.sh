#!/usr/bin/env bash
# Installs tile38-server and tile38-cli 1.37.0 (commit 48aa3d2f, see DESIGN.md) into $GOPATH/bin.
# Tile38's tags have no leading "v", so the Go proxy knows them only by commit.
# Exits non-zero when the proxy refuses the module (as it does on this project's machines).
set -euo pipefail
COMMIT=48aa3d2f303447513bbc9dc06dedac42269f4ad2
export GOPATH="${GOPATH:-$HOME/go}"
if "$GOPATH/bin/tile38-server" --version 2>/dev/null | grep -q "1.37.0"; then exit 0; fi
go install "github.com/tidwall/tile38/cmd/tile38-server@${COMMIT}" "github.com/tidwall/tile38/cmd/tile38-cli@${COMMIT}"
