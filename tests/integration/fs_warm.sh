# fs_warm.sh - what a mount writes is read back from memory: the tables a
# writer builds (L0 flushes and compactions) put their data blocks into the
# block cache as they are built (block_cache_prepopulate, on by default),
# so a cat of a stream just appended finds every block there.
#  - 8 MB of log text appended with dd, with 64 KiB memtables so that it
#    goes into many L0 tables; once nothing is left unflushed, cat reads it
#    back byte for byte, and the block cache counts hits and not one miss
#    (/.shale/metrics). "Nothing left" is the engine at rest: nothing
#    unflushed, no compaction running and the manifest the same for a
#    second, so that no flush or compaction (whose reads count too) runs
#    beside the cat, however slow the build (a slow dd is no bulk write:
#    many more L0 tables, and compactions). The cache is 64 MiB: it is
#    split into 16 shards, each evicting on its own, and at 16 MiB one
#    shard could by chance be given more of the 8 MB than its 1 MiB.
#  - With SHALE_BLOCK_CACHE_PREPOPULATE=false the same cat misses.
#  - With SHALE_BLOCK_CACHE_BYTES=0 (no cache) it reads back all the same.
# On file:// and RGW.
. "$top_srcdir/tests/lib/common.sh"

need_fuse
trap cleanup_mounts EXIT

src="$TEST_TMP/src"
awk 'BEGIN { srand(3); for (i = 0; i < 80000; i++)
	printf "%06d host-%d app[%d]: id=%08x status=%d took %.3f ms\n", i, i % 5,
	    100 + i % 9, int(rand() * 4e9), (rand() < 0.9 ? 200 : 503), rand() * 90 }' >"$src"

# metric MNT NAME: a block cache counter of the mount
metric() {
	sed -n "s/^$2{cache=\"block\"} //p" "$1/.shale/metrics"
}

# status MNT KEY: a line of the mount's .shale/status
status() {
	sed -n "s/^$2: //p" "$1/.shale/status"
}

# settled MNT: wait (300 s at most: only a failure takes that long) until
# everything written is in tables and the engine is at rest: nothing
# unflushed, no compaction, and the same manifest a second later
settled() {
	local i man
	for i in $(seq 1 300); do
		man=$(status "$1" manifest)
		if [ "$(status "$1" unflushed_bytes)" = 0 ] && [ "$(status "$1" compacting)" = 0 ]; then
			sleep 1
			[ "$(status "$1" unflushed_bytes)" = 0 ] && [ "$(status "$1" compacting)" = 0 ] &&
				[ "$(status "$1" manifest)" = "$man" ] && return 0
		else
			sleep 0.2
		fi
	done
	return 1
}

run() {	# STORE LABEL PREPOPULATE CACHE-BYTES
	local store=$1 label=$2 m="$TEST_TMP/m" h0 m0 h1 m1
	SHALE_L0_SST_SIZE_BYTES=64KiB SHALE_BLOCK_CACHE_PREPOPULATE=$3 \
		SHALE_BLOCK_CACHE_BYTES=$4 mount_shale "$store" "$m" ||
		{ fail "$label: mount"; return; }
	dd if="$src" of="$m/logs/app" bs=1M oflag=append conv=notrunc status=none ||
		fail "$label: dd"
	sync "$m/logs/app"
	settled "$m" || fail "$label: still flushing or compacting after 300 s"
	h0=$(metric "$m" engine_cache_hits_total)
	m0=$(metric "$m" engine_cache_misses_total)
	cmp -s "$src" "$m/logs/app" && ok "$label: cat reads back what dd wrote" ||
		fail "$label: cat differs from what dd wrote"
	h1=$(metric "$m" engine_cache_hits_total)
	m1=$(metric "$m" engine_cache_misses_total)
	echo "$label: $(status "$m" l0_tables) L0 tables, $(status "$m" run_tables) in runs," \
		"$(status "$m" compacting) compacting, manifest $(status "$m" manifest)"
	echo "$label: block cache hits $h0 -> $h1, misses $m0 -> $m1," \
		"evictions $(metric "$m" engine_cache_evictions_total);" \
		"$(grep -E '^engine_(l0_flushes|compactions|compaction_moved_tables)_total ' "$m/.shale/metrics" | tr '\n' ' ')"
	case $3/$4 in
	true/64MiB)
		[ "$((h1 - h0))" -gt 0 ] && ok "$label: the cat is served by the cache" ||
			fail "$label: no cache hit"
		expect_eq "$label: and not one block missed" "$m0" "$m1" ;;
	false/64MiB)
		[ "$((m1 - m0))" -gt 0 ] &&
			ok "$label: without prepopulating, the cat misses ($((m1 - m0)))" ||
			fail "$label: without prepopulating, no miss" ;;
	esac
	umount_shale "$m" || fail "$label: unmount"
}

run "file://$TEST_TMP/f1" file true 64MiB
run "file://$TEST_TMP/f2" "file, not prepopulated" false 64MiB
run "file://$TEST_TMP/f3" "file, no cache" true 0
if [ -z "${SHALE_TEST_RGW_MISSING:-}" ]; then
	need_rgw
	b=$(new_bucket) || { fail "create bucket"; finish; }
	run "s3://$b/warm" rgw true 64MiB
else
	echo "RGW part skipped: $SHALE_TEST_RGW_MISSING"
fi
log_clean "the mounts"
finish
