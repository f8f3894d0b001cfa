#!/usr/bin/env bash
# Builds dist/ (scripts/build.mjs) when a source file is newer than the last build, else does
# nothing (a few ms). One build at a time (flock); a waiting caller re-checks before building.
here="$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)"
stale() {
  [ ! -f "$here/dist/.built" ] ||
    [ -n "$(find "$here/src" "$here/activities" "$here/workflows" "$here/worker.ts" "$here/scripts/build.mjs" \
      "$here/package-lock.json" -newer "$here/dist/.built" -print -quit 2>/dev/null)" ]
}
stale || exit 0
(
  if command -v flock >/dev/null; then flock 9; fi
  if stale; then node "$here/scripts/build.mjs" >&2; fi
) 9>"$here/.build.lock"
