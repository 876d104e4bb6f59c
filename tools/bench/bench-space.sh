#!/bin/sh
# bench-space.sh - what a store keeps after half its data goes: a mount
# appends SIZE MiB of log text, half to a stream that is then removed;
# the mount is stopped, 'shale compact' merges the store and 'shale gc'
# collects what the old tables, WAL objects and manifests left (with the
# min_ages at 0: nothing else uses the store). Reported: the store's
# object bytes after writing, after the removal with compaction and
# collection, and the bytes the live stream's records need (its tables
# after compaction), with 'shale fsck' on the result. Run by hand; not
# part of the suite.
#
#   tools/bench/bench-space.sh [-s SIZE_MIB] STORE
#
# STORE is a file:// or s3:// URI (s3 needs AWS_* set, and an empty
# prefix: the store is taken over). Uses build/shale. Everything it
# starts is stopped by PID at the end.
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
shale=${SHALE:-$top/build/shale}
size=1024
while getopts s: o; do
	case $o in
	s) size=$OPTARG ;;
	*) echo "usage: $0 [-s SIZE_MIB] STORE" >&2; exit 2 ;;
	esac
done
shift $((OPTIND - 1))
[ $# -eq 1 ] || { echo "usage: $0 [-s SIZE_MIB] STORE" >&2; exit 2; }
store=$1
work=$(mktemp -d /tmp/shale-space.XXXXXX)
mnt=$work/m
mkdir -p "$mnt"
pid=
cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null || true
	fusermount3 -u "$mnt" 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT INT TERM

stored() {	# bytes of every object of the store
	"$shale" store ls -l "$store#" | awk '{ s += $1 } END { print s + 0 }'
}
mib() { awk -v b="$1" 'BEGIN { printf "%.1f MiB", b / 1048576 }'; }

# half a SIZE of varied log text, made once and appended twice
awk -v n=$((size * 1048576 / 2 / 120)) 'BEGIN {
	srand(1)
	for (i = 0; i < n; i++)
		printf "2026-11-22T10:%02d:%02d level=%s req=%08x user=%d took=%dms path=/api/v1/items/%d\n",
			(i / 60) % 60, i % 60, (rand() < 0.9 ? "info" : "warn"),
			int(rand() * 2^31), int(rand() * 5000), int(rand() * 900),
			int(rand() * 100000)
}' >"$work/half.txt"
raw=$(($(stat -c %s "$work/half.txt") * 2))

"$shale" mount --log-file "$work/mount.log" "$store" "$mnt"
pid=$(sed -n 's/^pid: //p' "$mnt/.shale/status")
mkdir -p "$mnt/logs/app"
t0=$(date +%s%N)
dd if="$work/half.txt" of="$mnt/logs/app/kept" bs=1M oflag=append conv=notrunc status=none
dd if="$work/half.txt" of="$mnt/logs/app/removed" bs=1M oflag=append conv=notrunc status=none
sync "$mnt/logs/app/kept" "$mnt/logs/app/removed"
t1=$(date +%s%N)
echo "appended $(mib "$raw") in $(((t1 - t0) / 1000000)) ms"
rm "$mnt/logs/app/removed"
kill "$pid"
while kill -0 "$pid" 2>/dev/null; do sleep 0.2; done
pid=
before=$(stored)

export SHALE_GARBAGE_COLLECTOR_OPTIONS_MANIFEST_OPTIONS_MIN_AGE=0s
export SHALE_GARBAGE_COLLECTOR_OPTIONS_WAL_OPTIONS_MIN_AGE=0s
export SHALE_GARBAGE_COLLECTOR_OPTIONS_COMPACTED_OPTIONS_MIN_AGE=0s
out=$("$shale" compact "$store")
echo "$out"
live=$(echo "$out" | sed -n 's/^after: .* \([0-9]*\) bytes$/\1/p')
sleep 1	# object times are in seconds
"$shale" gc "$store" | tail -n 1
after=$(stored)
echo "raw text appended:           $(mib "$raw") (half of it removed)"
echo "store after writing:         $(mib "$before")"
echo "store after compact and gc:  $(mib "$after")"
echo "the live stream's tables:    $(mib "$live")"
awk -v a="$after" -v l="$live" 'BEGIN { printf "store / live tables:         %.2f\n", a / l }'
"$shale" fsck "$store" | tail -n 2
