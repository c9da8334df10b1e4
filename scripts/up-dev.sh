#!/usr/bin/env bash
# Deploys the dev stack (Docker, host networking) from a fresh clone on a Linux machine with
# Docker and the pulumi CLI: installs the npm packages, selects (or creates) the dev stack, runs pulumi up.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v pulumi >/dev/null || { echo "install the pulumi CLI first: see README, Prerequisites" >&2; exit 1; }
docker info --format '{{.OSType}}' 2>/dev/null | grep -qx linux || { echo "needs a running Linux Docker engine (host networking)" >&2; exit 1; }
npm ci --no-audit --no-fund
pulumi stack select dev --create
pulumi up --stack dev "$@"
