# engine_fence.sh - two writers on one store: the second to open fences
# the first within two manifest poll intervals (200 ms here); the first's
# later flush fails with "fenced"; after both close, every write either
# acknowledged (the first's before the fence, all of the second's) is
# there. On RGW, and on file://.
. "$top_srcdir/tests/lib/common.sh"

drv="$top_builddir/tests/integration/engine_driver"
fence_pair() {	# URI
	local uri=$1
	"$drv" writer "$uri" a 4000 "$TEST_TMP/a.log" >"$TEST_TMP/a.out" 2>&1 &
	local apid=$!
	sleep 1
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
		[ $((fenced - opened)) -le 400 ] && ok "$uri: fenced within 2 poll intervals" ||
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
