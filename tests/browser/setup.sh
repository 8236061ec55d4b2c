#!/usr/bin/env bash
# Installs the real editor packages (npm ci from the committed lock file) and bundles the editor
# test pages with esbuild. Idempotent: does nothing when the lock file and entries are unchanged.
set -euo pipefail
cd "$(dirname "$0")"

stamp=node_modules/.empathy-setup
want="$(cat package-lock.json editors/*.js build.mjs | sha256sum | cut -d' ' -f1)"
if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" && -d dist ]]; then
  echo "browser test pages: up to date"
  exit 0
fi
npm ci --no-audit --no-fund
node build.mjs
echo "$want" > "$stamp"
echo "browser test pages: built into tests/browser/dist"
