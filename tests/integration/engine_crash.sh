# engine_crash.sh - kill -9 while writing: a writer process appends
# batches and logs each one acknowledged durable; it is killed with SIGKILL
# at a random moment, 20 times in a row on the same store; after each kill
# a reopen must show every acknowledged batch, whole and exactly once, and
# no batch partly. The writer compacts small tables and collects garbage
# with every min_age 0 meanwhile. On file://, then 10 times on RGW.
. "$top_srcdir/tests/lib/common.sh"

drv="$top_builddir/tests/integration/engine_driver"
# the writers collect garbage as soon as they may, between the kills
export SHALE_GARBAGE_COLLECTOR_OPTIONS_MANIFEST_OPTIONS_MIN_AGE=0s
export SHALE_GARBAGE_COLLECTOR_OPTIONS_WAL_OPTIONS_MIN_AGE=0s
export SHALE_GARBAGE_COLLECTOR_OPTIONS_COMPACTED_OPTIONS_MIN_AGE=0s
export SHALE_GARBAGE_COLLECTOR_OPTIONS_MANIFEST_OPTIONS_INTERVAL=100ms
export SHALE_GARBAGE_COLLECTOR_OPTIONS_WAL_OPTIONS_INTERVAL=100ms
export SHALE_GARBAGE_COLLECTOR_OPTIONS_COMPACTED_OPTIONS_INTERVAL=100ms
crash_loop() {	# URI ROUNDS
	local uri=$1 rounds=$2 log="$TEST_TMP/acked-$RANDOM" pid out
	: >"$log"
	for r in $(seq 1 "$rounds"); do
		"$drv" crashwrite "$uri" "$log" $((r * 1000000)) >"$TEST_TMP/child.out" 2>&1 &
		pid=$!
		sleep "0.$((2 + RANDOM % 7))"
		kill -9 "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
		if ! out=$("$drv" crashcheck "$uri" "$log" 2>&1); then
			fail "round $r on $uri: $out"
			cat "$TEST_TMP/child.out"
			return
		fi
		echo "round $r: $out"
	done
	n=$(wc -l <"$log")
	[ "$n" -gt 0 ] && ok "$rounds kills on $uri: $n acknowledged batches all there" ||
		fail "no batch was ever acknowledged on $uri"
}
crash_loop "file://$TEST_TMP/store" 20
if [ -z "${SHALE_TEST_RGW_MISSING:-}" ]; then
	need_rgw
	b=$(new_bucket) || { fail "create bucket"; finish; }
	crash_loop "s3://$b/crash" 10
fi
finish
