# fs_follow.sh - a read-only mount follows a writer mount of the same
# store: tail -f on the follower shows every line the writer appends,
# once and in order; new directories and streams, renames, removals and
# truncations show there within a few poll intervals; the follower
# refuses changes with EROFS, makes no PUTs and never fences the writer;
# streams made while the writer flushes a table every few writes all show;
# tail -f on the follower shows a bulk write (dd of 30 MB, whose values the
# writer's WAL holds only as stubs) byte for byte. On file:// and RGW,
# side by side.
. "$top_srcdir/tests/lib/common.sh"
need_fuse
trap cleanup_mounts EXIT

# The followers poll the store every POLL (the default is 1 s): each
# change below shows within a poll or two, whatever the interval.
POLL=200ms

# wait_for WHAT SECONDS COMMAND...: until the command succeeds. The
# limits are far above a poll interval: they only bound a failure,
# on a sanitizer build on a busy machine too
wait_for() {
	local what=$1 limit=$2 i=0
	shift 2
	while ! "$@" >/dev/null 2>&1; do
		i=$((i + 1))
		if [ $i -gt $((limit * 10)) ]; then
			fail "$what: not within $limit s"
			return 1
		fi
		sleep 0.1
	done
	ok "$what"
}

same() {	# FILE EXPECTED-TEXT
	[ "$(cat "$1" 2>/dev/null)" = "$2" ]
}

metric() {	# MNT NAME [LABELS]: the value, 0 if absent
	awk -v n="$2${3:+{$3\}}" '$1 == n { v = $2 } END { printf "%d\n", v + 0 }' "$1/.shale/metrics"
}

follow_pair() {	# STORE
	local store=$1 w="$TEST_TMP/w" r="$TEST_TMP/r" i tpid
	mount_shale "$store" "$w" || { fail "$store: writer mount"; return; }
	mkdir -p "$w/logs/app"
	echo "before the follower" >>"$w/logs/app/s"
	sync "$w/logs/app/s"
	SHALE_MANIFEST_POLL_INTERVAL=$POLL mount_shale "$store" "$r" --read-only || { fail "$store: read-only mount"; return; }
	expect_eq "$store: the follower sees what was stored before it" \
		"before the follower" "$(cat "$r/logs/app/s")"

	tail -n +1 -f "$r/logs/app/s" >"$TEST_TMP/tail.out" 2>/dev/null &
	tpid=$!
	# tail has printed the stream as it was: the lines below come by
	# following it
	wait_for "$store: tail -f on the follower started" 30 \
		same "$TEST_TMP/tail.out" "before the follower"
	i=0
	while [ $i -lt 50 ]; do
		echo "line $i" >>"$w/logs/app/s"
		sleep 0.05
		i=$((i + 1))
	done
	expected=$( (echo "before the follower"; i=0; while [ $i -lt 50 ]; do echo "line $i"; i=$((i + 1)); done) )
	wait_for "$store: tail -f on the follower shows all 50 lines" 30 same "$TEST_TMP/tail.out" "$expected"
	kill "$tpid" 2>/dev/null
	wait "$tpid" 2>/dev/null
	expect_eq "$store: each line once, in order" "$expected" "$(cat "$TEST_TMP/tail.out")"

	mkdir -p "$w/logs/new/deep"
	printf 'one\ntwo\n' >>"$w/logs/new/deep/x"
	wait_for "$store: a new directory and stream show on the follower" 30 \
		same "$r/logs/new/deep/x" "$(printf 'one\ntwo')"
	mv "$w/logs/new/deep/x" "$w/logs/app/x2"
	wait_for "$store: a rename shows on the follower" 30 same "$r/logs/app/x2" "$(printf 'one\ntwo')"
	# the kernel may hold the old name a moment longer, until the
	# invalidation the follower sends reaches it
	wait_for "$store: the old name is gone" 30 test ! -e "$r/logs/new/deep/x"
	: >"$w/logs/app/x2"
	echo "after truncation" >>"$w/logs/app/x2"
	wait_for "$store: a truncation shows on the follower" 30 same "$r/logs/app/x2" "after truncation"
	rm "$w/logs/app/x2"
	rmdir "$w/logs/new/deep"
	wait_for "$store: a removal shows on the follower" 30 test ! -e "$r/logs/app/x2"
	wait_for "$store: an rmdir shows on the follower" 30 test ! -e "$r/logs/new/deep"

	out=$(echo no 2>&1 >>"$r/logs/app/s")
	expect_match "$store: the follower refuses appends" "Read-only file system" "$out"
	out=$(mkdir "$r/logs/nope" 2>&1)
	expect_match "$store: the follower refuses mkdir" "Read-only file system" "$out"
	# the same lookup finds the follower's reads, so a zero below means no PUTs
	[ "$(metric "$r" objstore_requests_total 'op="get"')" -gt 0 ] &&
		ok "$store: the follower's GETs are counted" ||
		fail "$store: no GETs counted for the follower (metric name?)"
	expect_eq "$store: the follower made no PUTs" 0 \
		"$(($(metric "$r" objstore_requests_total 'op="put"') + $(metric "$r" objstore_requests_total 'op="put_if_absent"')))"
	expect_eq "$store: the writer is not fenced" "fenced: no" "$(grep '^fenced:' "$w/.shale/status")"
	echo "still writing" >>"$w/logs/app/s" && ok "$store: the writer still appends" ||
		fail "$store: the writer cannot append"
	umount_shale "$r" || fail "$store: unmount the follower"
	umount_shale "$w" || fail "$store: unmount the writer"
}

# streams made while the writer flushes a table every few writes: each
# shows on the follower, also when a flush lands between two of its polls
flushing_pair() {	# STORE
	local store=$1 w="$TEST_TMP/w2" r="$TEST_TMP/r2" i n
	SHALE_L0_SST_SIZE_BYTES=128KiB mount_shale "$store" "$w" ||
		{ fail "$store: writer mount"; return; }
	SHALE_MANIFEST_POLL_INTERVAL=$POLL mount_shale "$store" "$r" --read-only || { fail "$store: read-only mount"; return; }
	for i in $(seq 1 20); do
		head -c 200000 /dev/urandom | base64 >>"$w/logs/bulk"
		echo "stream $i" >>"$w/logs/s$i"
	done
	wait_for "$store: 20 streams made between flushes show on the follower" 30 \
		same "$r/logs/s20" "stream 20"
	n=0
	for i in $(seq 1 20); do
		same "$r/logs/s$i" "stream $i" && n=$((n + 1))
	done
	expect_eq "$store: every one of them is there" 20 "$n"
	expect_eq "$store: and the bulk stream whole" "$(md5sum <"$w/logs/bulk")" \
		"$(md5sum <"$r/logs/bulk")"
	umount_shale "$r" || fail "$store: unmount the follower"
	umount_shale "$w" || fail "$store: unmount the writer"
}

# a bulk write: the WAL objects hold stubs, the values only L0 tables;
# the follower reads them from there and shows them in order
bulk_pair() {	# STORE
	local store=$1 w="$TEST_TMP/w3" r="$TEST_TMP/r3" tpid
	# a bulk write from 2.6 MB/s, which even a sanitizer build reaches
	SHALE_WAL_MAX_BYTES=256KiB mount_shale "$store" "$w" ||
		{ fail "$store: writer mount"; return; }
	echo "first line" >>"$w/logs/big"
	sync "$w/logs/big"
	SHALE_MANIFEST_POLL_INTERVAL=$POLL mount_shale "$store" "$r" --read-only || { fail "$store: read-only mount"; return; }
	tail -c +1 -f "$r/logs/big" >"$TEST_TMP/bigtail.out" 2>"$TEST_TMP/bigtail.err" &
	tpid=$!
	dd if="$BIG" of="$w/logs/big" bs=1M oflag=append conv=notrunc status=none ||
		fail "$store: dd to the writer"
	(echo "first line"; cat "$BIG") >"$TEST_TMP/big.want"
	wait_for "$store: tail -f on the follower shows the 30 MB bulk write" 180 \
		cmp -s "$TEST_TMP/bigtail.out" "$TEST_TMP/big.want"
	kill "$tpid" 2>/dev/null
	wait "$tpid" 2>/dev/null
	if cmp -s "$TEST_TMP/bigtail.out" "$TEST_TMP/big.want"; then
		ok "$store: byte for byte, once"
	else
		fail "$store: tail -f output differs: $(cmp "$TEST_TMP/bigtail.out" \
			"$TEST_TMP/big.want" 2>&1 | head -1); $(wc -c <"$TEST_TMP/bigtail.out") \
			bytes of $(wc -c <"$TEST_TMP/big.want")"
		grep -E ' shale (error|warn): ' "$TEST_TMP/mount.log" | tail -n 5
	fi
	[ "$(metric "$w" engine_wal_stubbed_bytes_total)" -gt 1000000 ] &&
		ok "$store: the writer's WAL left the values out" ||
		fail "$store: the bulk write went to the WAL whole (no stubs)"
	cmp -s "$r/logs/big" "$TEST_TMP/big.want" && ok "$store: cat on the follower too" ||
		fail "$store: cat on the follower differs"
	umount_shale "$r" || fail "$store: unmount the follower"
	umount_shale "$w" || fail "$store: unmount the writer"
}

BIG="$TEST_TMP/big.src"
log_text "$BIG"

# file:// and RGW side by side, each in a directory of its own
on_file() {
	follow_pair "file://$TEST_TMP/store"
	flushing_pair "file://$TEST_TMP/store2"
	bulk_pair "file://$TEST_TMP/store3"
}
on_rgw() {
	local b
	b=$(new_bucket) || { fail "create bucket"; return; }
	follow_pair "s3://$b/follow"
	bulk_pair "s3://$b/bulk"
}
part -d file on_file
if [ -z "${SHALE_TEST_RGW_MISSING:-}" ]; then
	need_rgw
	part -d rgw on_rgw
else
	echo "RGW part skipped: $SHALE_TEST_RGW_MISSING"
fi
parts_wait
finish
