# fault_retry.sh - the retrying layer through a fault: store failing 20% of
# requests with 503, connection resets and timeouts, before or after the
# request took effect: 1,000 puts and gets complete with every object
# intact, on file:// and on RGW, and the retry counters show the faults.
. "$top_srcdir/tests/lib/common.sh"

spec="rate=0.2,seed=42,errors=503+reset+timeout"
out=$("$top_builddir/tests/integration/objstore_torture" 1000 "fault:$spec:file://$TEST_TMP/f")
rc=$?
echo "$out"
expect_eq "file: 1000 objects intact through 20% faults" 0 "$rc"
expect_match "file: faults were injected and retried" "[1-9][0-9]+ faults injected, [1-9][0-9]+ retries" "$out"

if [ -z "${SHALE_TEST_RGW_MISSING:-}" ]; then
	need_rgw
	b=$(new_bucket) || { fail "create bucket"; finish; }
	out=$("$top_builddir/tests/integration/objstore_torture" 1000 "fault:$spec,seed=7:s3://$b")
	rc=$?
	echo "$out"
	expect_eq "s3: 1000 objects intact through 20% faults" 0 "$rc"
	expect_match "s3: faults were injected and retried" "[1-9][0-9]+ faults injected, [1-9][0-9]+ retries" "$out"
else
	echo "s3 part skipped: $SHALE_TEST_RGW_MISSING"
fi
finish
