#!/bin/sh
# quickstart.sh - the first command of README.md: install what shale needs,
# build it into build/, and mount the embedded default store (a directory
# under ~/.local/share/shale) on ~/shale, so that
#	echo hello >> ~/shale/logs/app && tail -f ~/shale/logs/app
# works at once. Idempotent: run again, it rebuilds and keeps a working
# mount (an older shale mount there is unmounted first, storing what it
# holds). SHALE_MOUNT=DIR mounts somewhere else.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
mnt=${SHALE_MOUNT:-$HOME/shale}
"$top/tools/deps.sh" build
"$top/tools/build.sh" "$top/build"

if grep -q " $mnt fuse.shale " /proc/self/mounts 2>/dev/null; then
	pid=$(sed -n 's/^pid: //p' "$mnt/.shale/status" 2>/dev/null || true)
	if [ -n "$pid" ]; then
		kill -TERM "$pid"
		i=0
		while [ -e "/proc/$pid" ] && ! grep -q '^State:.*Z' "/proc/$pid/status" 2>/dev/null &&
		    [ $i -lt 600 ]; do
			sleep 0.1
			i=$((i + 1))
		done
	fi
fi
mkdir -p "$mnt"
"$top/build/shale" mount "$mnt"
cat <<MSG
shale is mounted on $mnt (store: ${XDG_DATA_HOME:-$HOME/.local/share}/shale/store)
  echo hello >> $mnt/logs/app
  tail -f $mnt/logs/app
  cat $mnt/.shale/status
  fusermount3 -u $mnt        # unmount (everything written is stored first)
MSG
