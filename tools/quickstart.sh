#!/bin/sh
# quickstart.sh - the first command of README.md: install what shale needs,
# build it into build/, and say how to use it. Idempotent.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
"$top/tools/deps.sh" build
"$top/tools/build.sh" "$top/build"
echo "shale built: $top/build/shale (try: $top/build/shale store ls file:///tmp/shale-demo)"
