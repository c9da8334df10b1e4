#!/usr/bin/env bash
# Deploys the dev stack (Docker, host networking) from a fresh clone on a Linux machine with
# Docker and the pulumi CLI: installs the npm packages, selects (or creates) the dev stack, runs pulumi up.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v pulumi >/dev/null || { echo "install the pulumi CLI first: https://www.pulumi.com/docs/install/ (README, Set-up)" >&2; exit 1; }
docker info --format '{{.OSType}}' 2>/dev/null | grep -qx linux || { echo "needs a running Linux Docker engine (host networking)" >&2; exit 1; }
npm ci --ignore-scripts --no-audit --no-fund
# A fresh machine has no Pulumi backend yet: keep state on this machine unless one is configured.
# (A local backend asks for a passphrase that encrypts the stack's secrets, or reads
# PULUMI_CONFIG_PASSPHRASE / PULUMI_CONFIG_PASSPHRASE_FILE.)
if ! pulumi whoami >/dev/null 2>&1; then
  echo "no Pulumi backend logged in: using the local backend (pulumi login --local)" >&2
  pulumi login --local
fi
pulumi stack select dev --create
pulumi up --stack dev "$@"
