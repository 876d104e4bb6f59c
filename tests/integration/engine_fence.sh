# engine_fence.sh - two writers on one store: once the first has written,
# the second opens and fences it; the first notices within 800 ms (its
# next WAL object is taken, or a manifest poll every 200 ms finds the
# newer epoch: two poll intervals and as much again for a busy machine,
# still less than the default interval of 1 s; the first would write for
# 30 s if nothing told it); its later flush fails with
# "fenced"; after both close, every write either acknowledged (the
# first's before the fence, all of the second's) is there. On RGW, and on
# file://.
. "$top_srcdir/tests/lib/common.sh"

drv="$top_builddir/tests/integration/engine_driver"
fence_pair() {	# URI
	local uri=$1
	"$drv" writer "$uri" a 30000 "$TEST_TMP/a.log" >"$TEST_TMP/a.out" 2>&1 &
	local apid=$! i=0
	# the first writer is open and has made writes durable (a.log holds
	# 5): then the second opens
	while [ "$(wc -l <"$TEST_TMP/a.log" 2>/dev/null || echo 0)" -lt 5 ]; do
		i=$((i + 1))
		if [ $i -gt 600 ] || ! kill -0 "$apid" 2>/dev/null; then
			fail "$uri: the first writer wrote nothing in 60 s"
			cat "$TEST_TMP/a.out"
			break
		fi
		sleep 0.1
	done
	"$drv" writer "$uri" b 1000 "$TEST_TMP/b.log" >"$TEST_TMP/b.out" 2>&1
	expect_eq "$uri: second writer ran and was not fenced" "not fenced" "$(tail -n 1 "$TEST_TMP/b.out")"
	wait "$apid"
	expect_eq "$uri: first writer exited cleanly" 0 $?
	cat "$TEST_TMP/a.out"
	local opened fenced
	opened=$(sed -n 's/^open //p' "$TEST_TMP/b.out")
	fenced=$(sed -n 's/^fenced //p' "$TEST_TMP/a.out")
	if [ -n "$fenced" ] && [ -n "$opened" ]; then
		echo "fenced $((fenced - opened)) ms after the second writer opened"
		[ $((fenced - opened)) -le 800 ] && ok "$uri: fenced within 800 ms" ||
			fail "$uri: fenced $((fenced - opened)) ms after the second open"
	else
		fail "$uri: first writer was not fenced"
	fi
	expect_eq "$uri: flush after fencing fails" "flush after fencing: fenced" \
		"$(grep '^flush after' "$TEST_TMP/a.out")"
	out=$("$drv" check "$uri" "$TEST_TMP/a.log" a) && ok "$out" || fail "$out"
	out=$("$drv" check "$uri" "$TEST_TMP/b.log" b) && ok "$out" || fail "$out"
	rm -f "$TEST_TMP"/a.* "$TEST_TMP"/b.*
}
if [ -z "${SHALE_TEST_RGW_MISSING:-}" ]; then
	need_rgw
	b=$(new_bucket) || { fail "create bucket"; finish; }
	fence_pair "s3://$b/fence"
else
	echo "RGW part skipped: $SHALE_TEST_RGW_MISSING"
fi
fence_pair "file://$TEST_TMP/store"
finish
