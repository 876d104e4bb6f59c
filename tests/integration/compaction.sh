# compaction.sh - a mounted writer compacts as it goes, and 'shale
# compact' merges a store into one sorted run: with small tables, 12 MiB
# of log text appended to three streams is merged in the background while
# it is written (the mount's metrics count compactions and sorted runs,
# and tables of one stream's records are moved, not rewritten),
# every stream reads back byte for byte; one stream is removed and one
# truncated, the mount stopped, and 'shale compact' leaves one run whose
# tables hold less than half the bytes of the three streams merged, and
# the streams left read back the same after mounting again. On file:// (where 'shale
# compact' runs with no compactor threads, merging by itself) and RGW.
. "$top_srcdir/tests/lib/common.sh"
need_fuse
trap cleanup_mounts EXIT

# small tables, so that a few megabytes make many of them
export SHALE_L0_SST_SIZE_BYTES=256KiB
export SHALE_COMPACTOR_OPTIONS_MAX_SST_SIZE=1MiB
export SHALE_COMPACTOR_OPTIONS_POLL_INTERVAL=100ms

metric() {	# MNT NAME: the value, 0 if absent
	awk -v n="$2" '$1 == n { v = $2 } END { print v + 0 }' "$1/.shale/metrics"
}

# text N SEED: N lines of varied log text
text() {
	awk -v n="$1" -v s="$2" 'BEGIN {
		srand(s)
		for (i = 0; i < n; i++)
			printf "2026-11-22T10:%02d:%02d level=%s req=%08x user=%d took=%dms path=/api/v1/items/%d\n",
				(i / 60) % 60, i % 60, (rand() < 0.9 ? "info" : "warn"),
				int(rand() * 2^31), int(rand() * 5000), int(rand() * 900),
				int(rand() * 100000)
	}'
}

bytes_of() {	# "before: ... N bytes" -> N
	sed -n "s/^$1: .* \([0-9]*\) bytes\$/\1/p"
}

run() {	# STORE LABEL COMPACTORS
	local store=$1 label=$2 ncomp=$3 mnt="$TEST_TMP/mnt-$2" n out full after
	for s in a b c; do text 40000 "${#s}$label" >"$TEST_TMP/$s.txt"; done
	mount_shale "$store" "$mnt" || { fail "$label: mount"; return; }
	mkdir -p "$mnt/logs/app"
	for s in a b c; do
		dd if="$TEST_TMP/$s.txt" of="$mnt/logs/app/$s" bs=64k \
			oflag=append conv=notrunc status=none ||
			fail "$label: append to $s"
	done
	for s in a b c; do
		cmp -s "$TEST_TMP/$s.txt" "$mnt/logs/app/$s" ||
			fail "$label: stream $s reads back different"
	done
	# let the compactor catch up with the last tables (60 s at most: a
	# sanitizer build on a busy machine is slow)
	sync "$mnt/logs/app/c"
	n=0
	while { [ "$(metric "$mnt" engine_compactions_total)" -lt 2 ] ||
		[ "$(metric "$mnt" engine_compaction_moved_tables_total)" -lt 1 ]; } &&
		[ $n -lt 600 ]; do
		sleep 0.1
		n=$((n + 1))
	done
	n=$(metric "$mnt" engine_compactions_total)
	moves=$(metric "$mnt" engine_compaction_moved_tables_total)
	echo "$label: $n compactions, $moves tables moved while writing, $(metric "$mnt" engine_sorted_runs) sorted runs, $(metric "$mnt" engine_l0_tables) L0 tables, L0 depth $(metric "$mnt" engine_l0_depth)"
	[ "$n" -ge 1 ] && ok "$label: the mount compacted while it was written" ||
		fail "$label: no compaction while writing"
	# streams written one after another: runs of one stream's records
	[ "$moves" -ge 1 ] && ok "$label: tables of streams written in order were moved, not rewritten" ||
		fail "$label: no table was moved"
	expect_match "$label: .shale/status shows the sorted runs" \
		"^sorted_runs: [1-9]" "$(cat "$mnt/.shale/status")"
	[ "$(metric "$mnt" engine_l0_depth)" -le 8 ] &&
		ok "$label: L0's depth stays within l0_max_ssts" ||
		fail "$label: L0 depth $(metric "$mnt" engine_l0_depth)"
	umount_shale "$mnt" || fail "$label: unmount"
	log_clean "$label"

	# the three streams merged into one run: what the removal is measured
	# against (the mount's compactor may have merged some already)
	full=$(SHALE_COMPACTOR_OPTIONS_MAX_CONCURRENT_COMPACTIONS=$ncomp \
		"$SHALE" compact "$store" 2>&1 | bytes_of after)
	mount_shale "$store" "$mnt" || { fail "$label: mount to remove"; return; }
	rm "$mnt/logs/app/a" || fail "$label: rm a"
	: >"$mnt/logs/app/b" || fail "$label: truncate b"
	echo "after the truncation" >>"$mnt/logs/app/b"
	umount_shale "$mnt" || fail "$label: unmount"

	# on file:// with no compactor threads: the command merges by itself
	out=$(SHALE_COMPACTOR_OPTIONS_MAX_CONCURRENT_COMPACTIONS=$ncomp \
		"$SHALE" compact "$store" 2>&1)
	expect_eq "$label: shale compact succeeds" 0 $?
	echo "$out"
	expect_match "$label: one sorted run is left" "^after: 0 L0 tables, 1 sorted runs" "$out"
	after=$(echo "$out" | bytes_of after)
	[ -n "$full" ] && [ -n "$after" ] && [ $((after * 2)) -lt "$full" ] &&
		ok "$label: the removed and truncated streams' records are gone ($full -> $after bytes)" ||
		fail "$label: the tables of three streams held '$full' bytes, of one '$after'"

	mount_shale "$store" "$mnt" || { fail "$label: mount again"; return; }
	[ ! -e "$mnt/logs/app/a" ] && ok "$label: a stays removed" || fail "$label: a is back"
	expect_eq "$label: b holds what was written after the truncation" \
		"after the truncation" "$(cat "$mnt/logs/app/b")"
	cmp -s "$TEST_TMP/c.txt" "$mnt/logs/app/c" &&
		ok "$label: c reads back byte for byte after compaction" ||
		fail "$label: c differs after compaction"
	echo "one more" >>"$mnt/logs/app/c" && [ "$(tail -n 1 "$mnt/logs/app/c")" = "one more" ] &&
		ok "$label: c takes appends after compaction" || fail "$label: append to c"
	umount_shale "$mnt" || fail "$label: unmount"
	log_clean "$label after compaction"
}

run "file://$TEST_TMP/store" file 0
if [ -z "${SHALE_TEST_RGW_MISSING:-}" ]; then
	need_rgw
	b=$(new_bucket) || { fail "create bucket"; finish; }
	run "s3://$b/compaction" rgw 2
else
	echo "RGW part skipped: $SHALE_TEST_RGW_MISSING"
fi

out=$("$SHALE" compact 2>&1)
expect_eq "compact without a store is a usage error" 2 $?
finish
