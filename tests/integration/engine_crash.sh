# engine_crash.sh - kill -9 while writing: a writer process appends
# batches and logs each one acknowledged durable; it is killed with SIGKILL
# at a random moment, 20 times in a row on the same store; after each kill
# a reopen must show every acknowledged batch, whole and exactly once, and
# no batch partly, and no batch without the one before it. The writer
# compacts small tables and collects garbage with every min_age 0
# meanwhile. On file://, then 10 times on RGW; then 6 and 3 times with a
# bulk write (big values written as fast as they go, durable every 16th
# batch), whose values the WAL holds as stubs and only L0 tables store.
# The file:// and RGW loops run side by side, each on its own store.
. "$top_srcdir/tests/lib/common.sh"

drv="$top_builddir/tests/integration/engine_driver"
# the writers collect garbage as soon as they may, between the kills
export SHALE_GARBAGE_COLLECTOR_OPTIONS_MANIFEST_OPTIONS_MIN_AGE=0s
export SHALE_GARBAGE_COLLECTOR_OPTIONS_WAL_OPTIONS_MIN_AGE=0s
export SHALE_GARBAGE_COLLECTOR_OPTIONS_COMPACTED_OPTIONS_MIN_AGE=0s
export SHALE_GARBAGE_COLLECTOR_OPTIONS_MANIFEST_OPTIONS_INTERVAL=100ms
export SHALE_GARBAGE_COLLECTOR_OPTIONS_WAL_OPTIONS_INTERVAL=100ms
export SHALE_GARBAGE_COLLECTOR_OPTIONS_COMPACTED_OPTIONS_INTERVAL=100ms
crash_loop() {	# URI ROUNDS [bulk]
	local uri=$1 rounds=$2 mode=${3:-} log="$TEST_TMP/acked-$BASHPID-$RANDOM" pid out
	local stubbed=0 child="$TEST_TMP/child-$BASHPID-$RANDOM.out"
	: >"$log"
	for r in $(seq 1 "$rounds"); do
		"$drv" crashwrite "$uri" "$log" $((r * 1000000)) $mode >"$child" 2>&1 &
		pid=$!
		if [ "$mode" = bulk ]; then
			# killed during a bulk write, once values went out of
			# the WAL (at a random time after; a sanitizer build
			# takes longer to get there)
			i=0
			while ! grep -q "^stubs by batch" "$child" &&
				kill -0 "$pid" 2>/dev/null && [ $i -lt 600 ]; do
				sleep 0.05
				i=$((i + 1))
			done
			sleep "0.$((RANDOM % 5))"
		else
			sleep "0.$((2 + RANDOM % 7))"
		fi
		kill -9 "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
		if ! out=$("$drv" crashcheck "$uri" "$log" 2>&1); then
			fail "round $r on $uri: $out"
			cat "$child"
			return
		fi
		echo "round $r: $out"
		grep -q "^stubs by batch" "$child" && stubbed=$((stubbed + 1))
	done
	if [ "$mode" = bulk ]; then
		# otherwise this loop did not test what it is for
		[ "$stubbed" -gt 0 ] && ok "$uri: values left out of the WAL in $stubbed of $rounds rounds" ||
			fail "$uri: no round wrote a value as a stub"
	fi
	n=$(wc -l <"$log")
	[ "$n" -gt 0 ] && ok "$rounds kills on $uri${mode:+ ($mode)}: $n acknowledged batches all there" ||
		fail "no batch was ever acknowledged on $uri${mode:+ ($mode)}"
}

on_file() {
	crash_loop "file://$TEST_TMP/store" 20
	crash_loop "file://$TEST_TMP/bulk" 6 bulk
}
on_rgw() {
	local b
	b=$(new_bucket) || { fail "create bucket"; return; }
	crash_loop "s3://$b/crash" 10
	crash_loop "s3://$b/bulk" 3 bulk
}
part file on_file
if [ -z "${SHALE_TEST_RGW_MISSING:-}" ]; then
	need_rgw
	part rgw on_rgw
fi
parts_wait
finish
