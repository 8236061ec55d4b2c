#!/usr/bin/env bash
# Installs the peers (alex, write-good) from the committed lock file.
set -euo pipefail
cd "$(dirname "$0")"
npm ci --no-audit --no-fund --silent
